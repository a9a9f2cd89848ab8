import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Testing
import Warehouse

/// A parameterized template generated on demand from its URL, and parameters checked.
@Suite(.timeLimit(.minutes(10))) struct TemplateRenderTests {
    /// The domain of workspace `id` in the tiny demo.
    static func domain(_ id: Int) async throws -> String {
        let rows = try await TestWarehouse.open().run(
            CompiledStatement(
                role: .value, sql: "SELECT domain FROM workspaces WHERE workspace_id = ?",
                parameters: [.integer(Int64(id))], columns: ["domain"]),
            timeout: .seconds(600))
        guard case .text(let domain)? = rows.first?.first else { throw CancellationError() }
        return domain
    }

    @Test func aTemplateURLWithParametersShowsItsDashboard() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            let domain = try await TemplateRenderTests.domain(1)
            let page = try await client.get("/templates/customer?domain=\(domain)")
            #expect(page.status == .ok)
            let html = text(page)
            #expect(html.contains("Dashboard for Customer domain \(domain)"))
            #expect(html.contains("Ocean chart"))
            #expect(html.contains("<dt>Account owner</dt>"), "the CRM's account owner")
            #expect(html.contains("Billing history"))
            #expect(html.contains("<svg"), "charts are drawn")
            #expect(!html.contains("/reports/customer/panels/"), "no downloads point at artifacts that do not exist")
            #expect(html.contains("/templates/customer/panels/panel-"), "downloads of this render")
            #expect(html.contains("name=\"domain\" value=\"\(domain)\""), "the form keeps the value")
            #expect(html.contains("name=\"period\" value=\"365d\""), "the date range shows its default")

            let definition = try await client.get("/templates/customer")
            #expect(definition.status == .ok)
            #expect(text(definition).contains("Generate the dashboard"))
        }
    }

    @Test func aBadOrMissingParameterIsA400ThatNamesIt() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            for (query, parameter, words) in [
                ("domain=nobody.example", "domain", "no customer has domain 'nobody.example'"),
                ("domain=%27%20OR%201%3D1%20--", "domain", "no customer has domain"),
                ("workspace_id=1", "workspace_id", "not a parameter"),
                ("domain=", "domain", "required"),
                ("domain=a.com&period=13x", "period", "not a date range"),
                ("domain=a.com&period=2026-03-01..2026-01-01", "period", "not a date range"),
            ] {
                let page = try await client.get("/templates/customer?\(query)")
                #expect(page.status == .badRequest, "\(query)")
                #expect(text(page).contains("Parameter &#39;\(parameter)&#39;"), "\(query)")
                let api = try await client.get("/api/templates/customer?\(query)")
                #expect(api.status == .badRequest)
                let error = try json(api)["error"] as? String ?? ""
                #expect(error.contains("Parameter '\(parameter)'") && error.contains(words), "\(query): \(error)")
            }
        }
    }

    @Test func searchOpensTheTemplateForTheEntityItFound() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            var url: String?
            _ = try await eventually {
                let body = try json(try await client.get("/api/search?q=globex.com"))
                url = (body["hits"] as? [[String: Any]])?.first?["url"] as? String
                return url?.hasPrefix("/templates/customer?") == true
            }
            let target = try #require(url)
            let page = try await client.get(target)
            #expect(page.status == .ok)
            #expect(text(page).contains("Ocean chart"))
        }
    }

    @Test func identicalRendersAreComputedOnceAndKept() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            let second = try await TemplateRenderTests.domain(2)
            let third = try await TemplateRenderTests.domain(3)
            let before = portal.environment.templateRenders.computed
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await client.get("/templates/customer?domain=\(second)").status }
                }
                for try await status in group { #expect(status == .ok) }
            }
            #expect(portal.environment.templateRenders.computed == before + 1, "six at once, computed once")
            #expect(try await client.get("/templates/customer?domain=\(second)").status == .ok)
            #expect(portal.environment.templateRenders.computed == before + 1, "then served from the cache")
            #expect(try await client.get("/templates/customer?domain=\(third)").status == .ok)
            #expect(portal.environment.templateRenders.computed == before + 2, "other values are another render")
            // Kept five minutes, then computed again.
            portal.clock.advance(by: .seconds(299))
            #expect(try await client.get("/templates/customer?domain=\(second)").status == .ok)
            #expect(portal.environment.templateRenders.computed == before + 2, "4 min 59 s on: still kept")
            portal.clock.advance(by: .seconds(1))
            #expect(try await client.get("/templates/customer?domain=\(second)").status == .ok)
            #expect(portal.environment.templateRenders.computed == before + 3, "5 min on: computed again")
        }
    }

    @Test func aPanelTheViewerMayNotSeeIsNeitherShownNorSharedThroughTheCache() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        // The CRM is for sales only: the customer template stays open, its CRM panel does not.
        let source = catalog + "/sources/crm_accounts.yaml"
        try (String(contentsOfFile: source, encoding: .utf8) + "access: [sales]\n").write(
            toFile: source, atomically: true, encoding: .utf8)
        let portal = try await TestPortal.make(
            catalog: catalog, auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false),
            dashboards: true)
        let domain = try await Self.domain(1)
        let owner = try await TestWarehouse.open().run(
            CompiledStatement(
                role: .value, sql: "SELECT account_owner FROM crm_accounts WHERE workspace_id = 1", parameters: [],
                columns: ["account_owner"]),
            timeout: .seconds(600))
        guard case .text(let ownerName)? = owner.first?.first else {
            Issue.record("workspace 1 has no CRM account in the tiny demo")
            return
        }
        try await portal.test { client in
            let sales = identity("sam@larkspur.io", groups: ["sales"])
            let success = identity("cara@larkspur.io", groups: ["customer-success"])
            let url = "/templates/customer?domain=\(domain)"
            // Sales first, so a shared cache entry would hand the owner's name to the next viewer.
            let forSales = text(try await client.get(url, headers: sales))
            #expect(forSales.contains(Markup.escape(ownerName)))
            let forSuccess = try await client.get(url, headers: success)
            #expect(forSuccess.status == .ok)
            let page = text(forSuccess)
            #expect(!page.contains(Markup.escape(ownerName)), "the CRM's data never reaches a viewer outside sales")
            #expect(page.contains("You do not have access to this panel"))
            #expect(page.contains("<dt>Domain</dt>"), "the panels they may see are there")
            #expect(portal.environment.templateRenders.computed == 2, "two viewers, two different renders")
            _ = try await client.get(url, headers: identity("sue@larkspur.io", groups: ["customer-success"]))
            #expect(portal.environment.templateRenders.computed == 2, "the same visible panels share a render")
        }
    }

    /// A render's data twins: its data with full-precision values and a CSV per panel, for the
    /// same parameters, access and cache as the page.
    @Test func aRenderHasItsDataAndDownloadsUnderTheSameAccessAndCache() async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
        try await portal.test { client in
            let domain = try await TemplateRenderTests.domain(1)
            let reader = identity("pat@larkspur.io", groups: ["everyone"])
            let page = text(try await client.get("/templates/customer?domain=\(domain)", headers: reader))
            let link = try #require(
                page.range(of: #"/templates/customer/panels/panel-\d+\.csv\?[^"]+"#, options: .regularExpression)
                    .map { String(page[$0]).replacingOccurrences(of: "&amp;", with: "&") })
            let csv = try await client.get(link, headers: reader)
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            let data = try json(try await client.get("/api/templates/customer/data?domain=\(domain)", headers: reader))
            let panels = try #require(data["panels"] as? [[String: Any]])
            let file = String(link.split(separator: "/").last!.split(separator: "?").first!)
            let panel = try #require(panels.first { $0["csvFile"] as? String == file })
            let columns = try #require((panel["data"] as? [String: Any])?["columns"] as? [String])
            #expect(text(csv).hasPrefix(columns.joined(separator: ",")), "the data holds what the CSV holds")
            #expect(portal.environment.templateRenders.computed == 1, "page, CSV and data share one render")

            #expect(try await client.get("/api/templates/customer/data", headers: reader).status == .badRequest)
            #expect(
                try await client.get("/templates/customer/panels/dashboard.html?domain=\(domain)", headers: reader)
                    .status == .notFound)
            // A template the reader may not see has no data for them either.
            for path in ["/api/templates/plan/data?plan=business", "/templates/plan/panels/panel-1.csv?plan=business"] {
                #expect(try await client.get(path, headers: reader).status == .notFound, "\(path)")
            }
        }
    }
}
