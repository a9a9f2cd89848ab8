import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Logging
import Search
import SearchIndexing
import Storage
import Testing

/// Keeping the index in step: popularity from the view log, entity refresh schedules, and
/// which entities a catalog edit makes stale.
@Suite(.timeLimit(.minutes(10))) struct IndexingTests {
    @Test func viewsRaiseARankThroughThePopularityInterface() async throws {
        let directory = try TemporaryDirectory()
        let state = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await state.migrate()
        let clock = ManualClock()
        let now = clock.date
        let indexer = SearchIndexer(
            index: SearchIndex(), warehouse: nil,
            popularity: ViewLogPopularity(usage: UsageService(state: state, clock: clock)),
            state: state, logger: Logger(label: "test"))
        indexer.indexCatalog(TestWarehouse.demoCatalog)
        func topSignupReports() -> [String] {
            indexer.index.search("kind:report sign ups", viewer: .localDeveloper).hits.compactMap { hit in
                if case .item(let key) = hit.document.target { return key.id }
                return nil
            }
        }
        let before = topSignupReports()
        let underdog = try #require(before.last)
        #expect(before.first != underdog)
        let views = (0..<200).map { number in
            ViewEvent(
                itemKind: "report", itemID: underdog, viewer: "user\(number % 20)",
                viewedAt: now.addingTimeInterval(-Double(number) * 3_600))
        }
        try await state.recordViews(views)
        await indexer.refreshPopularity()
        let after = topSignupReports()
        let was = try #require(before.firstIndex(of: underdog))
        let rank = try #require(after.firstIndex(of: underdog))
        #expect(rank < was, "200 recent views lift '\(underdog)' from #\(was + 1): \(before) → \(after)")
        let hit = indexer.index.search("kind:report sign ups", viewer: .localDeveloper).hits.first {
            $0.document.target == .item(ItemKey(.report, underdog))
        }
        #expect(hit?.views30 == 200)
    }

    @Test func entitiesAreRereadOnTheirScheduleAndWhenTheyChange() throws {
        let catalog = TestWarehouse.demoCatalog
        let start = Date(timeIntervalSince1970: 1_764_240_000)  // 2025-11-27 10:40 UTC
        let due = SearchIndexingService.nextRefresh(catalog, after: start)
        #expect(due.count == catalog.entities.count)
        // The demo's default is hourly, on the hour.
        #expect(due[EntityID("customer")] == Date(timeIntervalSince1970: 1_764_241_200))

        var edited = catalog
        edited.itemDigests[ItemKey(.source, "campaigns")] = "changed"
        edited.itemDigests[ItemKey(.template, "customer")] = "changed"
        let stale = SearchIndexingService.entitiesToReload(from: catalog, to: edited).map(\.id.rawValue)
        #expect(Set(stale) == ["campaign", "customer"])
        #expect(SearchIndexingService.entitiesToReload(from: catalog, to: catalog).isEmpty)
    }

    @Test func aBadSynonymListIsReportedWithItsPosition() throws {
        let directory = try TemporaryDirectory()
        let path = try CatalogFixture.copyDemo(into: directory)
        try CatalogFixture.edit(
            path + "/almanac.yaml", replacing: "    - [churn, attrition, cancellations, cancelled subscriptions]",
            with: "    - churn")
        let result = CatalogLoader.load(directory: path)
        let messages = result.diagnostics.map(\.description)
        #expect(result.catalog == nil)
        #expect(
            messages.contains { $0.contains("almanac.yaml:") && $0.contains("'search.synonyms[0]' must be a list") },
            "\(messages)")
    }
}
