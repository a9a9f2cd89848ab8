import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Lifecycle
import NIOCore
import Portal
import Storage
import Testing

/// Lifecycle actions over HTTP: who may act, from where, and what every page shows afterwards
/// (status banners, tombstones with 410, search, the home page, usage, "My reports").
@Suite(.timeLimit(.minutes(10))) struct LifecycleRoutesTests {
    static let priya = identity("priya.raman@larkspur.io", groups: ["everyone"])  // member of growth
    static let visitor = identity("visitor@larkspur.io", groups: ["everyone"])
    static let admin = identity("marta.kowalczyk@larkspur.io", groups: ["data-platform"])

    static func portal(now: Date = ManualClock().date, catalog: String? = nil) async throws -> TestPortal {
        try await TestPortal.make(
            catalog: catalog, auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), clock: ManualClock(now: now))
    }

    /// A form post as the portal's own page sends it.
    static func post(
        _ client: PortalClient, _ path: String, _ form: [String: String], as who: HTTPFields,
        origin: String? = "same", site: String? = nil
    ) async throws -> PortalResponse {
        var headers = who
        headers[.contentType] = "application/x-www-form-urlencoded"
        if let origin {
            headers[.origin] = origin == "same" ? "http://localhost" : origin  // the test client sends Host: localhost
        }
        if let site { headers[HTTPField.Name("Sec-Fetch-Site")!] = site }
        let body = form.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
        }
        .joined(separator: "&")
        return try await client.execute(
            uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }

    static func postJSON(
        _ client: PortalClient, _ path: String, _ object: [String: String], as who: HTTPFields
    ) async throws -> PortalResponse {
        var headers = who
        headers[.contentType] = "application/json"
        let data = try JSONSerialization.data(withJSONObject: object)
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: data))
    }

    @Test func ownersDeprecateFromThePageAndEveryoneSeesWhy() async throws {
        let portal = try await Self.portal()
        try await portal.test { client in
            let before = text(try await client.get("/reports/activation-funnel", headers: Self.priya))
            #expect(before.contains("action=\"/lifecycle/report/activation-funnel\""), "owners get the forms")
            #expect(
                !text(try await client.get("/reports/activation-funnel", headers: Self.visitor)).contains("/lifecycle/")
            )

            let response = try await Self.post(
                client, "/lifecycle/report/activation-funnel",
                ["action": "deprecate", "reason": "Merged into the growth overview", "replacement": "growth-overview"],
                as: Self.priya)
            #expect(response.status == .seeOther)
            #expect(response.headers[.location] == "/reports/activation-funnel")

            let page = text(try await client.get("/reports/activation-funnel", headers: Self.visitor))
            #expect(page.contains("badge-deprecated"))
            #expect(page.contains("Merged into the growth overview"))
            #expect(page.contains("<a href=\"/reports/growth-overview\">Growth overview</a> instead"))
            #expect(page.contains("deprecated by priya.raman@larkspur.io"), "the history names who and why")
            let api = try json(try await client.get("/api/reports/activation-funnel", headers: Self.visitor))
            #expect(
                api["status"] as? String == "deprecated"
                    && api["statusReason"] as? String == "Merged into the growth overview")
        }
    }

    @Test func outsidersAndOtherSitesCannotAct() async throws {
        let portal = try await Self.portal()
        try await portal.test { client in
            let path = "/lifecycle/report/activation-funnel"
            let form = ["action": "retire", "reason": "x"]
            #expect(try await Self.post(client, path, form, as: Self.visitor).status == .forbidden)
            // A page elsewhere (or a sandboxed report page, whose origin is "null") cannot use the owner's session.
            #expect(
                try await Self.post(client, path, form, as: Self.priya, origin: "https://evil.example").status
                    == .forbidden)
            #expect(try await Self.post(client, path, form, as: Self.priya, origin: "null").status == .forbidden)
            #expect(
                try await Self.post(client, path, form, as: Self.priya, origin: nil, site: "cross-site").status
                    == .forbidden)
            #expect(
                try await Self.post(client, path, form, as: Self.priya, origin: "http://localhost:1").status
                    == .forbidden)
            let history = try await portal.environment.state.lifecycleEvents(kind: "report", id: "activation-funnel")
            #expect(!history.contains { $0.action == .retired }, "nothing was recorded")

            let missing = try await Self.postJSON(client, "/api\(path)", ["action": "retire"], as: Self.priya)
            #expect(missing.status == .badRequest)
            #expect((try json(missing)["error"] as? String)?.contains("Parameter 'reason'") == true)
            let unknown = try await Self.postJSON(client, "/api\(path)", ["action": "explode"], as: Self.priya)
            #expect(unknown.status == .badRequest && text(unknown).contains("Parameter 'action'"))
            let conflict = try await Self.postJSON(client, "/api\(path)", ["action": "restore"], as: Self.priya)
            #expect(conflict.status == .conflict)
            let nowhere = try await Self.postJSON(
                client, "/api/lifecycle/report/board-metrics", ["action": "activate"], as: Self.priya)
            #expect(nowhere.status == .notFound, "a restricted report is not found, not forbidden")
        }
    }

    @Test func retiredReportsAreTombstonesAndLeaveSearchAndHome() async throws {
        let portal = try await Self.portal()
        try await portal.test { client in
            for _ in 0..<3 { _ = try await client.get("/reports/activation-funnel", headers: Self.visitor) }
            var home = try json(try await client.get("/api/home", headers: Self.visitor))
            #expect((home["mostViewed"] as? [[String: Any]])?.first?["title"] as? String == "Activation funnel")

            let retired = try await Self.postJSON(
                client, "/api/lifecycle/report/activation-funnel",
                [
                    "action": "retire", "reason": "Nobody reads it since the funnel moved",
                    "replacement": "growth-overview",
                ],
                as: Self.priya)
            #expect(retired.status == .ok)
            #expect(try json(retired)["status"] as? String == "retired")

            let page = try await client.get("/reports/activation-funnel", headers: Self.visitor)
            #expect(page.status == .gone)
            let body = text(page)
            #expect(body.contains("Activation funnel was retired"))
            #expect(body.contains("Nobody reads it since the funnel moved"))
            #expect(body.contains("href=\"/reports/growth-overview\""))
            #expect(body.contains("priya.raman@larkspur.io"))
            #expect(!body.contains("action=\"/lifecycle/"), "visitors get no restore form")
            #expect(
                text(try await client.get("/reports/activation-funnel", headers: Self.priya)).contains(
                    "value=\"restore\""))
            let api = try await client.get("/api/reports/activation-funnel", headers: Self.visitor)
            #expect(api.status == .gone)
            let tombstone = try json(api)
            #expect(tombstone["state"] as? String == "retired" && tombstone["status"] as? Int == 410)
            #expect((tombstone["replacement"] as? [String: Any])?["url"] as? String == "/reports/growth-overview")

            let search = try json(try await client.get("/api/search?q=activation+funnel", headers: Self.priya))
            let urls = (search["items"] as? [[String: Any]] ?? []).compactMap { $0["url"] as? String }
            #expect(!urls.contains("/reports/activation-funnel"), "retired reports leave search: \(urls)")
            home = try json(try await client.get("/api/home", headers: Self.visitor))
            let viewed = (home["mostViewed"] as? [[String: Any]] ?? []).compactMap { $0["title"] as? String }
            #expect(!viewed.contains("Activation funnel"), "and the home page")

            // Declared retired in its file: the tombstone reads the file's reason and replacement.
            let declared = try await client.get("/reports/mobile-2-launch-tracker", headers: Self.visitor)
            #expect(declared.status == .gone)
            #expect(
                text(declared).contains("The launch is over") && text(declared).contains("/reports/mobile-adoption"))

            let restored = try await Self.post(
                client, "/lifecycle/report/activation-funnel", ["action": "restore"], as: Self.priya)
            #expect(restored.status == .seeOther)
            #expect(try await client.get("/reports/activation-funnel", headers: Self.visitor).status == .ok)
        }
    }

    @Test func aReportRemovedFromTheCatalogLeavesATombstone() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        let portal = try await Self.portal(catalog: catalog)
        try await portal.test { client in
            #expect(try await client.get("/reports/activation-funnel", headers: Self.visitor).status == .ok)
            try FileManager.default.removeItem(atPath: catalog + "/reports/activation-funnel.yaml")
            portal.clock.advance(by: CatalogWatcher.longestWait)
            #expect(
                try await eventually {
                    try await client.get("/reports/activation-funnel", headers: Self.visitor).status == .gone
                })
            let body = text(try await client.get("/reports/activation-funnel", headers: Self.visitor))
            #expect(
                body.contains("activation-funnel was removed from the catalog"), "outsiders see the id, not the title")
            #expect(
                text(try await client.get("/reports/activation-funnel", headers: Self.admin)).contains(
                    "Activation funnel was removed"))
            // Bookkeeping after the removal (a review's flag) does not turn the tombstone into a 404.
            _ = try await portal.environment.state.appendLifecycleEvent(
                LifecycleEvent(
                    itemKind: "report", itemID: "activation-funnel", action: .unflagged, title: "Activation funnel",
                    at: portal.clock.date))
            #expect(try await client.get("/reports/activation-funnel", headers: Self.visitor).status == .gone)
            #expect(try await client.get("/reports/never-existed", headers: Self.visitor).status == .notFound)
        }
    }

    @Test func metricsAreCertifiedAndRetiredOnlyWithAReplacementWhileInUse() async throws {
        let portal = try await Self.portal()
        try await portal.test { client in
            let refused = try await Self.postJSON(
                client, "/api/lifecycle/metric/signups", ["action": "retire", "reason": "renamed"], as: Self.admin)
            #expect(refused.status == .badRequest)
            #expect(
                text(refused).contains("Parameter 'replacement'") && text(refused).contains("report 'growth-overview'"))
            let certified = try await Self.postJSON(
                client, "/api/lifecycle/metric/app_users", ["action": "certify"], as: Self.admin)
            #expect(try json(certified)["certified"] as? Bool == true)
            let metric = text(try await client.get("/glossary/app_users", headers: Self.visitor))
            #expect(metric.contains("✓ certified"))
            for _ in 0..<2 { _ = try await client.get("/reports/growth-overview", headers: Self.visitor) }
            let glossary = text(try await client.get("/glossary", headers: Self.admin))
            #expect(
                glossary.contains("used by 7 reports and 4 templates · 2 views in 30 days"),
                "the glossary says where signups is used and how much those reports are read")
            let retired = try await Self.postJSON(
                client, "/api/lifecycle/metric/signups",
                ["action": "retire", "reason": "renamed", "replacement": "activated_users"], as: Self.admin)
            #expect(retired.status == .ok)
            #expect(try await client.get("/glossary/signups", headers: Self.visitor).status == .gone)
            #expect(
                !text(try await client.get("/glossary", headers: Self.visitor)).contains("href=\"/glossary/signups\""))
        }
    }
}
