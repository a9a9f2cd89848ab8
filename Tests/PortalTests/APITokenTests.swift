import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Portal
import Storage
import Testing

/// API tokens: issued by admins, shown once, exactly the access of their groups within their
/// scopes, revoked at once on every instance, their use recorded, failures limited.
@Suite(.timeLimit(.minutes(10))) struct APITokenTests {
    static let admin = identity("marta.kowalczyk@larkspur.io", groups: ["data-platform"])
    static let visitor = identity("visitor@larkspur.io", groups: ["everyone"])

    static func portal(statePath: String? = nil, clock: ManualClock = ManualClock()) async throws -> TestPortal {
        try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), clock: clock, statePath: statePath)
    }

    /// Creates a token through the admin API; returns its id and secret.
    static func create(
        _ client: PortalClient, groups: [String], scopes: [String], days: Int = 90, subject: String = "svc-exports"
    ) async throws -> (id: String, secret: String) {
        var headers = admin
        headers[.contentType] = "application/json"
        let body = try JSONSerialization.data(withJSONObject: [
            "name": "Export", "subject": subject, "groups": groups, "scopes": scopes, "expires_in_days": days,
        ])
        let response = try await client.execute(
            uri: "/api/admin/tokens", method: .post, headers: headers, body: ByteBuffer(bytes: body))
        #expect(response.status == .created, "\(response.text)")
        let object = try json(response)
        let token = try #require(object["token"] as? [String: Any])
        return (try #require(token["id"] as? String), try #require(object["secret"] as? String))
    }

    static func bearer(_ secret: String) -> HTTPFields { [.authorization: "Bearer \(secret)"] }

    @Test func aTokenHasExactlyTheAccessOfItsGroupsWithinItsScopes() async throws {
        let portal = try await Self.portal()
        try await portal.test { client in
            let finance = try await Self.create(client, groups: ["finance"], scopes: ["read"])
            let growth = try await Self.create(client, groups: ["growth"], scopes: ["read", "lifecycle"])
            let auth = Self.bearer(finance.secret)
            #expect(try await client.get("/api/reports/finance-monthly-close", headers: auth).status == .ok)
            #expect(try await client.get("/api/reports/executive-weekly", headers: auth).status == .notFound)
            #expect(
                try await client.get("/api/reports/finance-monthly-close", headers: Self.bearer(growth.secret)).status
                    == .notFound)
            // Search hides what pages hide, for tokens too.
            let search = text(try await client.get("/api/search?q=close", headers: Self.bearer(growth.secret)))
            #expect(!search.contains("finance-monthly-close"))
            // Pages are for people.
            #expect(try await client.get("/reports/growth-overview", headers: auth).status == .badRequest)
            // A bearer token that is not Almanac's (the SSO proxy's own, passed along) is not ours to check.
            var sso = Self.visitor
            sso[.authorization] = "Bearer eyJhbGciOiJSUzI1NiJ9.oidc.token"
            #expect(try await client.get("/reports/growth-overview", headers: sso).status == .ok)
            #expect(try await client.get("/api/home", headers: sso).status == .ok)
            // Scopes: no lifecycle, no admin.
            var form = auth
            form[.contentType] = "application/x-www-form-urlencoded"
            let refused = try await client.execute(
                uri: "/api/lifecycle/report/finance-monthly-close", method: .post, headers: form,
                body: ByteBuffer(string: "action=deprecate&reason=x"))
            #expect(refused.status == .forbidden)
            #expect(text(refused).contains("'lifecycle' scope"))
            #expect(try await client.get("/api/admin/catalog", headers: auth).status == .forbidden)
            // With the lifecycle scope, the token acts as its subject (an owner's rules apply).
            var growthForm = Self.bearer(growth.secret)
            growthForm[.contentType] = "application/x-www-form-urlencoded"
            let acted = try await client.execute(
                uri: "/api/lifecycle/report/activation-funnel", method: .post, headers: growthForm,
                body: ByteBuffer(string: "action=deprecate&reason=x"))
            #expect(acted.status == .ok, "the growth group owns it")
            #expect((try json(acted)["event"] as? [String: Any])?["actor"] as? String == "svc-exports")
            let notOwner = try await client.execute(
                uri: "/api/lifecycle/report/finance-monthly-close", method: .post, headers: growthForm,
                body: ByteBuffer(string: "action=deprecate&reason=x"))
            #expect(notOwner.status == .notFound, "a report its groups may not see does not exist for it")
            // Admin routes need the admin scope and an admin group.
            let adminToken = try await Self.create(client, groups: ["data-platform"], scopes: ["read", "admin"])
            #expect(try await client.get("/api/admin/catalog", headers: Self.bearer(adminToken.secret)).status == .ok)
            let scopeOnly = try await Self.create(client, groups: ["growth"], scopes: ["admin"])
            #expect(
                try await client.get("/api/admin/catalog", headers: Self.bearer(scopeOnly.secret)).status == .forbidden)
            // Listing never shows a secret.
            let listed = text(try await client.get("/api/admin/tokens", headers: Self.admin))
            #expect(listed.contains(finance.id) && !listed.contains(finance.secret))
            #expect(try await client.get("/api/admin/tokens", headers: Self.visitor).status == .forbidden)
        }
    }

    @Test func revocationHoldsAtOnceOnEveryInstanceAndUseIsRecorded() async throws {
        let directory = try TemporaryDirectory()
        let state = directory.file("shared-state.sqlite")
        let clock = ManualClock()
        let first = try await Self.portal(statePath: state, clock: clock)
        let second = try await Self.portal(statePath: state, clock: clock)
        try await first.test { one in
            try await second.test { two in
                let token = try await Self.create(one, groups: [], scopes: ["read"])
                let auth = Self.bearer(token.secret)
                #expect(try await two.get("/api/reports/growth-overview", headers: auth).status == .ok)
                let used = try await second.environment.state.apiTokens().first { $0.id == token.id }
                #expect(used?.lastUsedAt == clock.date, "the use is on record")
                clock.advance(by: .seconds(5))
                #expect(try await one.get("/api/reports/growth-overview", headers: auth).status == .ok)
                #expect(
                    try await first.environment.state.apiTokens().first { $0.id == token.id }?.lastUsedAt == clock.date)

                let revoke = try await one.execute(
                    uri: "/api/admin/tokens/\(token.id)/revoke", method: .post, headers: Self.admin)
                #expect(try json(revoke)["revoked"] as? Bool == true)
                let refused = try await two.get("/api/reports/growth-overview", headers: auth)
                #expect(refused.status == .unauthorized, "the other instance refuses it from the next request")
                #expect(try json(refused)["error"] as? String == "The API token is unknown, expired or revoked.")
            }
        }
    }

    @Test func aTokenExpires() async throws {
        let clock = ManualClock()
        let portal = try await Self.portal(clock: clock)
        try await portal.test { client in
            let token = try await Self.create(client, groups: [], scopes: ["read"], days: 1)
            #expect(try await client.get("/api/home", headers: Self.bearer(token.secret)).status == .ok)
            clock.advance(by: .seconds(86_400))
            #expect(try await client.get("/api/home", headers: Self.bearer(token.secret)).status == .unauthorized)
            let listed = try json(try await client.get("/api/admin/tokens", headers: Self.admin))
            let rows = try #require(listed["tokens"] as? [[String: Any]])
            #expect(
                rows.first { ($0["token"] as? [String: Any])?["id"] as? String == token.id }?["state"] as? String
                    == "expired")
        }
    }

    @Test func failedAttemptsAreLimitedPerAddress() async throws {
        let clock = ManualClock()
        let portal = try await Self.portal(clock: clock)
        try await portal.test { client in
            let token = try await Self.create(client, groups: [], scopes: ["read"])
            for attempt in 1...10 {
                let response = try await client.get("/api/home", headers: Self.bearer("almanac_wrong\(attempt)"))
                #expect(response.status == .unauthorized, "attempt \(attempt)")
            }
            let limited = try await client.get("/api/home", headers: Self.bearer(token.secret))
            #expect(limited.status == .tooManyRequests, "past the limit even a good token waits")
            #expect(try json(limited)["status"] as? Int == 429)
            // Behind the trusted proxy, clients are told apart by the address it reports.
            func from(_ address: String, _ secret: String) -> HTTPFields {
                var headers = Self.bearer(secret)
                headers[HTTPField.Name("X-Forwarded-For")!] = address
                return headers
            }
            for attempt in 1...10 {
                _ = try await client.get("/api/home", headers: from("10.0.0.1", "almanac_wrong\(attempt)"))
            }
            #expect(
                try await client.get("/api/home", headers: from("10.0.0.1", token.secret)).status == .tooManyRequests)
            #expect(try await client.get("/api/home", headers: from("10.0.0.2", token.secret)).status == .ok)
            clock.advance(by: .seconds(60))
            #expect(try await client.get("/api/home", headers: Self.bearer(token.secret)).status == .ok)
        }
    }

    @Test func theAdminPageShowsASecretOnceAndRevokes() async throws {
        let portal = try await Self.portal()
        try await portal.test { client in
            var headers = Self.admin
            headers[.contentType] = "application/x-www-form-urlencoded"
            headers[.origin] = "http://localhost"
            let created = try await client.execute(
                uri: "/admin/tokens", method: .post, headers: headers,
                body: ByteBuffer(
                    string:
                        "name=Notebook&subject=marta.kowalczyk%40larkspur.io&groups=finance%2C+growth&scopes=read&scopes=lifecycle&expires_in_days=30"
                ))
            #expect(created.status == .ok)
            let page = text(created)
            let secret = try #require(
                page.range(of: #"almanac_[A-Za-z0-9_-]{43}"#, options: .regularExpression).map { String(page[$0]) })
            #expect(page.contains("Copy it now"))
            let tokens = try await portal.environment.state.apiTokens()
            let token = try #require(tokens.first)
            #expect(token.groups == ["finance", "growth"] && token.scopes == [.read, .lifecycle])
            #expect(token.createdBy == "marta.kowalczyk@larkspur.io")
            #expect(try await client.get("/api/home", headers: Self.bearer(secret)).status == .ok)

            let again = text(try await client.get("/admin/tokens", headers: Self.admin))
            #expect(again.contains(token.id) && !again.contains(secret), "listed, never shown again")
            #expect(try await client.get("/admin/tokens", headers: Self.visitor).status == .forbidden)

            var crossSite = headers
            crossSite[.origin] = "http://evil.example"
            #expect(
                try await client.execute(uri: "/admin/tokens/\(token.id)/revoke", method: .post, headers: crossSite)
                    .status == .forbidden)
            let revoked = try await client.execute(
                uri: "/admin/tokens/\(token.id)/revoke", method: .post, headers: headers)
            #expect(revoked.status == .seeOther)
            #expect(try await client.get("/api/home", headers: Self.bearer(secret)).status == .unauthorized)
            #expect(text(try await client.get("/admin/tokens", headers: Self.admin)).contains("revoked"))
        }
    }
}
