import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Storage
import Testing

@testable import AlmanacCLI

/// The demo's usage history makes its reports old, but not its schedules: a first start must
/// not report months of digests and triggers "missed" for a history written a minute earlier.
@Suite struct DemoSeedTests {
    @Test func theDemosReportsAreMonthsOldButItsSchedulesStartWhenItIsWritten() async throws {
        let directory = try TemporaryDirectory(prefix: "almanac-demo-seed")
        let path = directory.file("state.sqlite")
        let now = Date()
        try await DemoUsageHistory.seedIfEmpty(
            statePath: path, catalog: Repository.demoCatalog, seed: 42, now: now)
        let state = try SQLiteStateStore(path: path)
        let reports = try await state.catalogItemRecords(kind: "report")
        #expect(!reports.isEmpty)
        #expect(reports.allSatisfy { $0.firstSeenAt <= now.addingTimeInterval(-199 * 86_400) })
        #expect(try await state.catalogItemRecords(kind: "subscription").isEmpty)
        #expect(try await state.catalogItemRecords(kind: "trigger").isEmpty)

        // The portal's first sync, a minute later, adds them: their jobs start from then.
        let catalog = try #require(CatalogLoader.load(directory: Repository.demoCatalog).catalog)
        let started = now.addingTimeInterval(60)
        _ = try await state.syncCatalogItems(
            LifecycleLedger.itemStates(catalog), catalogVersion: catalog.version, at: started)
        let subscriptions = try await state.catalogItemRecords(kind: "subscription")
        #expect(subscriptions.count == catalog.subscriptions.count)
        #expect(subscriptions.allSatisfy { abs($0.firstSeenAt.timeIntervalSince(started)) < 1 })
        #expect(try await state.catalogItemRecords(kind: "report").allSatisfy { $0.firstSeenAt < now })
    }
}
