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
}
