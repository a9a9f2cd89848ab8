import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Storage
import Testing

/// Report pages serve generated dashboards, with their data and downloads behind the same access check.
@Suite(.timeLimit(.minutes(10))) struct DashboardTests {
    @Test func aReportPageGeneratesItsDashboardOnDemandAndServesIt() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            let page = try await client.get("/reports/growth-overview")
            #expect(page.status == .ok)
            let body = text(page)
            #expect(body.components(separatedBy: "<svg xmlns").count - 1 == 4, "four charts (and the usage sparkline)")
            #expect(body.contains("Generated "))
            #expect(body.contains("data-date=\"2026-09-15\""))
            #expect(body.contains("How the panels are defined"))

            let csv = try await client.get("/reports/growth-overview/panels/panel-1.csv")
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            #expect(text(csv).hasPrefix("period,Sign-ups,Previous year\n"))
            let svg = try await client.get("/reports/growth-overview/panels/panel-1.svg")
            #expect(svg.headers[.contentType] == "image/svg+xml")

            let data = try json(try await client.get("/api/reports/growth-overview/data"))
            #expect(data["reportID"] as? String == "growth-overview")
            #expect((data["panels"] as? [Any])?.count == 4)

            let traversal = try await client.get("/reports/growth-overview/panels/../LATEST")
            #expect(traversal.status == .badRequest || traversal.status == .notFound)
            #expect(try await client.get("/reports/growth-overview/panels/panel-99.csv").status == .notFound)
        }
        // The on-demand run is on record.
        let runs = try await portal.environment.state.recentRuns(kind: "generation", limit: 5)
        #expect(runs.map(\.target) == ["growth-overview"])
    }

    @Test func aReportThatCannotBeGeneratedSaysWhy() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        try CatalogFixture.edit(
            catalog + "/sources/users.yaml", replacing: "table: users", with: "table: users_archive")
        try CatalogFixture.edit(
            catalog + "/sources/workspaces.yaml", replacing: "table: workspaces", with: "table: workspaces_archive")
        let portal = try await TestPortal.make(catalog: catalog, dashboards: true)
        try await portal.test { client in
            let page = try await client.get("/reports/growth-overview")
            #expect(page.status == .ok)
            let body = text(page)
            #expect(body.contains("The dashboard could not be generated"))
            #expect(body.contains("users_archive"))
            #expect(!body.contains("<svg xmlns"), "no chart")
            let csv = try await client.get("/reports/growth-overview/panels/panel-1.csv")
            #expect(csv.status == .notFound)

            // A broken report is tried again at most once a minute, not on every view.
            func attempts() async throws -> Int {
                try await portal.environment.state.recentRuns(kind: "generation", limit: 100).count
            }
            #expect(try await attempts() == 1)
            _ = try await client.get("/reports/growth-overview")
            portal.clock.advance(by: .seconds(59))
            #expect(text(try await client.get("/reports/growth-overview")).contains("could not be generated"))
            #expect(try await attempts() == 1, "within the minute: not tried again")
            portal.clock.advance(by: .seconds(1))
            _ = try await client.get("/reports/growth-overview")
            #expect(try await attempts() == 2, "a minute on: tried again")
        }
    }

    @Test func restrictedDashboardsAndTheirFilesDoNotLeak() async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false), dashboards: true)
        try await portal.test { client in
            let exec = identity("ceo@larkspur.io", groups: ["executives"])
            let page = try await client.get("/reports/executive-weekly", headers: exec)
            #expect(page.status == .ok)
            let csv = try await client.get("/reports/executive-weekly/panels/panel-1.csv", headers: exec)
            #expect(csv.status == .ok)
            let ann = identity("ann@larkspur.io", groups: ["growth"])
            for path in [
                "/reports/executive-weekly/panels/panel-1.csv", "/api/reports/executive-weekly/data",
                "/reports/executive-weekly",
            ] {
                let response = try await client.get(path, headers: ann)
                #expect(response.status == .notFound, "\(path)")
            }
        }
    }

    /// A restricted metric inside a public report: its readers outside the metric's groups get
    /// the report without that panel in every form (page, JSON, data, CSV, SVG), and the
    /// assembled page is the same for everyone with the same access.
    @Test func aRestrictedMetricInsideAPublicReportReachesOnlyItsReaders() async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false), dashboards: true,
            editCatalog: { catalog in
                try CatalogFixture.edit(
                    catalog + "/metrics/mrr.yaml", replacing: "tags: [revenue, mrr, board]",
                    with: "tags: [revenue, mrr, board]\naccess: [finance]")
            })
        try await portal.test { client in
            let finance = identity("fin@larkspur.io", groups: ["finance"])
            let full = try json(try await client.get("/api/reports/revenue-overview/data", headers: finance))
            let panels = try #require(full["panels"] as? [[String: Any]])
            // MRR, MRR by plan, and ARPA (a ratio over MRR) read the restricted metric.
            let restricted = panels.filter { [1, 2, 5].contains($0["index"] as? Int) }
            #expect(restricted.map { $0["metricID"] as? String } == ["mrr", "mrr", "arpa"])
            let headline = try #require(restricted[0]["headline"] as? String)
            let byPlanSVG = try #require(restricted[1]["svg"] as? String)
            let marker = String(byPlanSVG.prefix(200).suffix(60))
            let financePage = text(try await client.get("/reports/revenue-overview", headers: finance))
            #expect(financePage.contains(headline))
            #expect(
                try await client.get("/reports/revenue-overview/panels/panel-1.csv", headers: finance).status == .ok)

            for (user, groups) in [
                ("pat@larkspur.io", ["growth"]), ("sam@larkspur.io", ["growth"]), ("lee@larkspur.io", []),
            ] {
                let reader = identity(user, groups: groups)
                let page = try await client.get("/reports/revenue-overview", headers: reader)
                #expect(page.status == .ok)
                let body = text(page)
                #expect(!body.contains(headline), "the MRR headline is not on the page")
                #expect(!body.contains(marker), "nor the MRR chart")
                #expect(!body.contains("revenue-overview-panel-1"))
                #expect(!body.contains("revenue-overview-panel-2"))
                #expect(body.contains("You do not have access to this panel"))
                #expect(body.contains("Paying workspaces"), "the other panels are there")
                #expect(body.components(separatedBy: "revenue-overview-panel-4").count > 1)

                let api = text(try await client.get("/api/reports/revenue-overview", headers: reader))
                #expect(!api.contains(headline))
                #expect(!api.contains("panels/panel-1.csv"))

                let data = try json(try await client.get("/api/reports/revenue-overview/data", headers: reader))
                let shown = try #require(data["panels"] as? [[String: Any]])
                #expect(shown.count == 5, "the panel keeps its place")
                #expect(!shown.contains { ["mrr", "arpa"].contains($0["metricID"] as? String) })
                #expect(
                    !String(data: try JSONSerialization.data(withJSONObject: data), encoding: .utf8)!.contains(headline)
                )
                for file in ["panel-1.csv", "panel-2.svg", "panel-2.csv", "panel-5.svg", "panel-5.csv"] {
                    let download = try await client.get("/reports/revenue-overview/panels/\(file)", headers: reader)
                    #expect(download.status == .forbidden, "\(file)")
                    #expect(!download.text.contains(headline))
                }
                #expect(
                    try await client.get("/reports/revenue-overview/panels/panel-4.csv", headers: reader).status == .ok)
                for file in ["dashboard.html", "dashboard.json", "LATEST"] {
                    let other = try await client.get("/reports/revenue-overview/panels/\(file)", headers: reader)
                    #expect(other.status == .notFound, "\(file) is not a panel download")
                }
            }
        }
    }

    /// The shared dashboard names the sources it reads with their freshness; a reader who may
    /// not see a source does not get its line.
    @Test func aRestrictedSourceLeavesNoTraceOnASharedDashboard() async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false), dashboards: true,
            editCatalog: { catalog in
                try CatalogFixture.edit(
                    catalog + "/sources/mrr_monthly.yaml", replacing: "owner: finance",
                    with: "owner: finance\naccess: [finance]")
            })
        try await portal.test { client in
            let finance = identity("fin@larkspur.io", groups: ["finance"])
            let data = try json(try await client.get("/api/reports/revenue-overview/data", headers: finance))
            let freshness = try #require(data["freshness"] as? [[String: Any]])
            let name = try #require(
                freshness.first { $0["sourceID"] as? String == "mrr_monthly" }?["source"] as? String)
            let reader = identity("pat@larkspur.io", groups: ["growth"])
            let shown = try json(try await client.get("/api/reports/revenue-overview/data", headers: reader))
            #expect(
                !((shown["freshness"] as? [[String: Any]]) ?? []).contains {
                    $0["sourceID"] as? String == "mrr_monthly"
                })
            let page = text(try await client.get("/reports/revenue-overview", headers: reader))
            #expect(!page.contains("\(name):"))
            #expect(!page.contains("mrr_usd"))
        }
    }

    /// Downloads follow the page: a retired report's files are gone, a draft and an external
    /// report have none, and nothing is generated on demand for them.
    @Test func downloadsFollowTheReportsLifecycleAndKind() async throws {
        let portal = try await TestPortal.make(
            dashboards: true,
            editCatalog: { catalog in
                try CatalogFixture.edit(
                    catalog + "/reports/growth-overview.yaml", replacing: "status: active", with: "status: retired")
                try CatalogFixture.edit(
                    catalog + "/reports/revenue-overview.yaml", replacing: "status: active", with: "status: draft")
            })
        try await portal.test { client in
            for path in [
                "/reports/growth-overview", "/reports/growth-overview/panels/panel-1.csv",
                "/api/reports/growth-overview/data",
            ] {
                #expect(try await client.get(path).status == .gone, "\(path)")
            }
            #expect(try await client.get("/reports/revenue-overview").status == .ok)
            for path in ["/reports/revenue-overview/panels/panel-1.csv", "/api/reports/revenue-overview/data"] {
                #expect(try await client.get(path).status == .notFound, "\(path)")
            }
            let external = try #require(portal.environment.catalog.current.reports.first { $0.kind == .external })
            for path in ["/reports/\(external.id)/panels/panel-1.csv", "/api/reports/\(external.id)/data"] {
                #expect(try await client.get(path).status == .notFound, "\(path)")
            }
        }
        #expect(
            try await portal.environment.state.recentRuns(kind: "generation", limit: 10).isEmpty, "nothing generated")
    }
}
