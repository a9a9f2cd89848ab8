import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Testing

/// Identity from a trusted proxy, and restricted items that never leak.
@Suite(.timeLimit(.minutes(10))) struct PortalAccessTests {
    /// Loopback is the trusted proxy here; nobody is let in anonymously.
    func makePortal(trusting proxies: [String] = ["127.0.0.1"]) async throws -> TestPortal {
        try await TestPortal.make(auth: AuthConfiguration(trustedProxies: proxies, allowAnonymousLoopback: false))
    }

    @Test func requestsWithoutIdentityAreRefused() async throws {
        let portal = try await makePortal()
        try await portal.test { client in
            let page = try await client.get("/")
            #expect(page.status == .unauthorized)
            #expect(text(page).contains("Sign in required"))
            let api = try await client.get("/api/reports")
            #expect(api.status == .unauthorized)
            #expect(try json(api)["status"] as? Int == 401)
        }
    }

    @Test func identityHeadersFromAnUntrustedAddressAreIgnored() async throws {
        let portal = try await makePortal(trusting: ["10.1.2.3", "192.168.0.0/16"])
        try await portal.test { client in
            let response = try await client.get("/", headers: identity("mallory", groups: ["data-platform"]))
            #expect(response.status == .unauthorized)
        }
    }

    @Test func restrictedReportsNeverLeakToOutsiders() async throws {
        let portal = try await makePortal()
        try await portal.test { client in
            let ann = identity("ann@larkspur.io", groups: ["growth"])
            let home = text(try await client.get("/", headers: ann))
            #expect(home.contains("ann@larkspur.io"))
            #expect(!home.contains("Executive weekly"))
            // Direct access looks exactly like a missing report.
            for id in ["executive-weekly", "finance-monthly-close", "board-metrics"] {
                let page = try await client.get("/reports/\(id)", headers: ann)
                #expect(page.status == .notFound)
                let api = try await client.get("/api/reports/\(id)", headers: ann)
                #expect(api.status == .notFound)
                #expect(try json(api)["error"] as? String == "There is no report '\(id)' that you can see.")
            }
            // Lists, counts and facets are computed without them.
            let reports = try json(try await client.get("/api/reports", headers: ann))
            #expect(reports["total"] as? Int == 29)
            let items = try #require(reports["items"] as? [[String: Any]])
            #expect(!items.contains { ($0["id"] as? String) == "executive-weekly" })
            #expect(!items.contains { ($0["id"] as? String) == "support-insights" }, "support's own app")
            #expect(items.contains { ($0["id"] as? String) == "experiment-notebook" }, "growth's own app")
            let kinds = try #require(reports["kinds"] as? [[String: Any]])
            #expect(kinds.first { $0["label"] as? String == "Reports" }?["count"] as? Int == 29)
            let executives = try json(try await client.get("/api/browse?team=executives&kind=report", headers: ann))
            #expect(executives["total"] as? Int == 0)
            // The glossary does not name restricted reports among the users of a metric.
            let signups = text(try await client.get("/glossary/signups", headers: ann))
            #expect(!signups.contains("Executive weekly"))
            let search = try json(try await client.get("/api/browse?q=board", headers: ann))
            #expect(!(search["items"] as? [[String: Any]] ?? []).contains { ($0["id"] as? String) == "board-metrics" })
            // Admin pages are for admins.
            #expect(try await client.get("/admin/catalog", headers: ann).status == .forbidden)
            #expect(try await client.get("/api/admin/catalog", headers: ann).status == .forbidden)
        }
    }

    @Test func groupMembersAndAdminsSeeWhatTheyMay() async throws {
        let portal = try await makePortal()
        try await portal.test { client in
            let exec = identity("ceo@larkspur.io", groups: ["executives"])
            #expect(try await client.get("/reports/executive-weekly", headers: exec).status == .ok)
            #expect(try await client.get("/reports/finance-monthly-close", headers: exec).status == .notFound)
            let reports = try json(try await client.get("/api/reports", headers: exec))
            #expect(reports["total"] as? Int == 30)
            let admin = identity("dana@larkspur.io", groups: ["data-platform"])
            #expect(try await client.get("/admin/catalog", headers: admin).status == .ok)
            #expect(try json(try await client.get("/api/reports", headers: admin))["total"] as? Int == 33)
        }
    }

    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", true), ("10.0.0.0/8", "10.200.3.4", true), ("10.0.0.0/8", "11.0.0.1", false),
        ("192.168.1.7", "192.168.1.8", false), ("::1", "::1", true), ("fd00::/8", "fd12:3456::1", true),
        ("fd00::/8", "fe80::1", false),
    ])
    func trustedProxyAddressesMatch(_ proxy: String, _ peer: String, _ trusted: Bool) throws {
        let authenticator = Authenticator(configuration: AuthConfiguration(trustedProxies: [proxy]))
        let settings = portalSettings()
        let viewer = try? authenticator.viewer(peer: peer, user: "ann", groups: "growth", settings: settings)
        #expect((viewer != nil) == trusted)
    }

    @Test func anonymousAccessIsOnlyForLoopbackInDevMode() throws {
        let dev = Authenticator(configuration: AuthConfiguration(allowAnonymousLoopback: true))
        #expect(try dev.viewer(peer: "127.0.0.1", user: nil, groups: nil, settings: portalSettings()).isAdmin)
        #expect(try dev.viewer(peer: "::1", user: nil, groups: nil, settings: portalSettings()).isAdmin)
        #expect(throws: AuthenticationFailure.self) {
            try dev.viewer(peer: "10.0.0.5", user: nil, groups: nil, settings: portalSettings())
        }
        let production = Authenticator(configuration: AuthConfiguration())
        #expect(throws: AuthenticationFailure.self) {
            try production.viewer(peer: "127.0.0.1", user: nil, groups: nil, settings: portalSettings())
        }
    }

    @Test func invalidProxyEntriesAreReported() {
        let configuration = AuthConfiguration(trustedProxies: ["10.0.0.1", "not-an-ip", "10.0.0.0/33"])
        #expect(configuration.invalidProxies() == ["not-an-ip", "10.0.0.0/33"])
    }
}

func portalSettings() -> CatalogSettings {
    var settings = CatalogSettings(companyName: "Test")
    settings.adminGroups = ["data-platform"]
    return settings
}
