import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Testing

/// Edits on disk reach a running portal; broken edits do not.
@Suite(.timeLimit(.minutes(10))) struct CatalogReloadTests {
    @Test func editsArePickedUpAndBrokenEditsKeepTheLastGoodCatalog() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        let portal = try await TestPortal.make(catalog: catalog, pollInterval: .milliseconds(100))
        let file = catalog + "/reports/growth-overview.yaml"
        try await portal.test { client in
            #expect(text(try await client.get("/reports/growth-overview")).contains("Growth overview"))

            try CatalogFixture.edit(file, replacing: "title: Growth overview", with: "title: Growth at a glance")
            // The watcher looks when its wait is over, however long it has grown.
            portal.clock.advance(by: CatalogWatcher.longestWait)
            #expect(
                try await eventually {
                    text(try await client.get("/reports/growth-overview")).contains("Growth at a glance")
                })
            let history = try json(try await client.get("/api/reports/growth-overview"))["history"] as? [[String: Any]]
            #expect(history?.first?["action"] as? String == "changed")

            try CatalogFixture.edit(file, replacing: "owner: growth", with: "owner: growht")
            portal.clock.advance(by: CatalogWatcher.longestWait)
            #expect(try await eventually { !portal.environment.catalog.status.rejectedDiagnostics.isEmpty })
            let page = text(try await client.get("/reports/growth-overview"))
            #expect(page.contains("Growth at a glance"))
            #expect(page.contains("The catalog files on disk have errors"))
            let admin = text(try await client.get("/admin/catalog"))
            #expect(admin.contains("did not validate"))
            #expect(admin.contains("reports/growth-overview.yaml:7:8"))
            #expect(admin.contains("has owner &#39;growht&#39;, which is not a team"))
            let ready = try json(try await client.get("/readyz"))
            #expect(ready["catalogBroken"] as? Bool == true)

            try CatalogFixture.edit(file, replacing: "owner: growht", with: "owner: growth")
            portal.clock.advance(by: CatalogWatcher.longestWait)
            #expect(try await eventually { portal.environment.catalog.status.rejectedDiagnostics.isEmpty })
            #expect(
                !text(try await client.get("/reports/growth-overview")).contains(
                    "The catalog files on disk have errors"))
        }
    }
}
