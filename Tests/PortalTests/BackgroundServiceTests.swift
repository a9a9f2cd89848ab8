import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Logging
import Portal
import Search
import SearchIndexing
import Storage
import Synchronization
import Testing

/// The portal's background services on a manual clock: what each does, how often and in
/// which order, as time passes.
@Suite(.timeLimit(.minutes(10))) struct BackgroundServiceTests {
    static func store() async throws -> (TemporaryDirectory, SQLiteStateStore) {
        let directory = try TemporaryDirectory(prefix: "almanac-services")
        let state = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await state.migrate()
        return (directory, state)
    }

    @Test func viewsAreWrittenEachSecondAndOtherInstancesViewsReadEveryTenSeconds() async throws {
        let (directory, state) = try await Self.store()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock()
        let counter = ViewCounter(store: state, logger: Logger(label: "test"), clock: clock)
        @Sendable func view(_ id: String) -> ViewEvent {
            ViewEvent(itemKind: "report", itemID: id, viewer: "ann@larkspur.io", viewedAt: clock.date)
        }
        try await whileRunning([counter]) { () async throws in
            await clock.sleepers(atLeast: 1)
            for _ in 0..<3 { counter.record(view("growth-overview")) }
            #expect(try await state.viewCounts(kind: nil, since: nil).isEmpty, "no write on the request's path")
            #expect(counter.count(kind: "report", id: "growth-overview") == 3, "but pages count them at once")
            clock.advance(by: .seconds(1))
            await clock.sleepers(atLeast: 1)
            #expect(try await state.viewCounts(kind: nil, since: nil) == ["report/growth-overview": 3])
            // Another instance's views reach this one's figures with the next refresh, every 10 s.
            try await state.recordViews((0..<5).map { _ in view("revenue-overview") })
            clock.advance(by: .seconds(8))
            await clock.sleepers(atLeast: 1)
            #expect(counter.count(kind: "report", id: "revenue-overview") == 0, "9 s: not yet")
            clock.advance(by: .seconds(1))
            await clock.sleepers(atLeast: 1)
            #expect(counter.count(kind: "report", id: "revenue-overview") == 5, "10 s: read back")
            #expect(counter.count(kind: "report", id: "growth-overview") == 3)
            counter.record(view("growth-overview"))
        }
        // A graceful stop writes what was counted since the last write.
        #expect(try await state.viewCounts(kind: nil, since: nil)["report/growth-overview"] == 4)
    }

    /// Counts how often search ranking asked for popularity.
    final class CountingPopularity: PopularitySource {
        let calls = Mutex(0)
        func popularity() async throws -> [String: Popularity] {
            calls.withLock { $0 += 1 }
            return [:]
        }
        var count: Int { calls.withLock { $0 } }
    }

    @Test func entityValuesAreReReadOnTheirScheduleAndPopularityEveryHalfMinute() async throws {
        let (directory, state) = try await Self.store()
        defer { withExtendedLifetime(directory) {} }
        let catalogPath = try CatalogFixture.copyDemo(into: directory)
        let catalog = try CatalogStore(directory: catalogPath)
        let entities = catalog.current.entities.count
        // 10:59:40 UTC; entity values are re-read at every full hour (`entity_refresh: "0 * * * *"`).
        let clock = ManualClock(now: Date(timeIntervalSince1970: 1_795_690_780))
        let popularity = CountingPopularity()
        let indexer = SearchIndexer(
            index: SearchIndex(), warehouse: try TestWarehouse.open(), popularity: popularity, state: state,
            logger: Logger(label: "test"), clock: clock)
        let service = SearchIndexingService(
            indexer: indexer, catalog: catalog, pollInterval: .seconds(1), popularityInterval: .seconds(30),
            clock: clock)
        func reads() async throws -> Int { try await state.recentRuns(kind: "index", limit: 1000).count }
        try await whileRunning([service]) { () async throws in
            await clock.sleepers(atLeast: 1)
            #expect(try await reads() == entities, "every entity read once at start")
            #expect(popularity.count == 1)
            #expect(!indexer.index.search("globex.com", viewer: .localDeveloper).hits.isEmpty)
            clock.advance(by: .seconds(19))  // 10:59:59
            await clock.sleepers(atLeast: 1)
            #expect(try await reads() == entities, "not before the hour")
            clock.advance(by: .seconds(1))  // 11:00:00
            await clock.sleepers(atLeast: 1)
            #expect(try await reads() == 2 * entities, "all of them again at the hour")
            #expect(popularity.count == 1, "20 s: popularity not yet")
            clock.advance(by: .seconds(10))  // 30 s after the start
            await clock.sleepers(atLeast: 1)
            #expect(popularity.count == 2)
            #expect(try await reads() == 2 * entities, "and no more values until the next hour")
        }
    }
}
