import AlmanacTestSupport
import Foundation
import GRDB
import Testing

@testable import Storage

@Suite(.timeLimit(.minutes(10))) struct SQLiteStateStoreTests {
    let directory: TemporaryDirectory
    let store: SQLiteStateStore

    init() async throws {
        directory = try TemporaryDirectory(prefix: "almanac-state")
        store = try SQLiteStateStore(path: directory.file("nested/state.sqlite"))
        try await store.migrate()
    }

    @Test func migrationsAreAppliedOnceAndRecorded() async throws {
        try await store.migrate()
        #expect(
            try await store.appliedMigrations() == [
                "v1-views-lifecycle-runs", "v2-view-context", "v3-usage-rollups-lifecycle-actions", "v4-job-runs",
                "v5-deliveries", "v6-item-access-api-tokens", "v7-search-log",
            ])
        // A second process opening the same file sees the same schema.
        let reopened = try SQLiteStateStore(path: store.path)
        try await reopened.migrate()
        #expect(
            try await reopened.appliedMigrations() == [
                "v1-views-lifecycle-runs", "v2-view-context", "v3-usage-rollups-lifecycle-actions", "v4-job-runs",
                "v5-deliveries", "v6-item-access-api-tokens", "v7-search-log",
            ])
    }

    @Test func searchesAndClicksAreSummedPerDayAndQuery() async throws {
        var first = SearchActivity()
        first.searches[.init(day: 100, query: "mrr")] = .init(searches: 3, zeroResults: 0)
        first.searches[.init(day: 100, query: "zorblax")] = .init(searches: 2, zeroResults: 2)
        first.clicks[.init(day: 100, query: "mrr", item: "metric/mrr")] = 2
        try await store.recordSearchActivity(first)
        var second = SearchActivity()
        second.searches[.init(day: 101, query: "mrr")] = .init(searches: 1, zeroResults: 0)
        second.clicks[.init(day: 101, query: "mrr", item: "metric/mrr")] = 1
        second.clicks[.init(day: 101, query: "mrr", item: "metric/net_new_mrr")] = 1
        try await store.recordSearchActivity(second)
        try await store.recordSearchActivity(SearchActivity())  // nothing to write

        let stats = try await store.searchQueries(since: 100, limit: 10)
        #expect(stats.map(\.query) == ["mrr", "zorblax"])
        #expect(stats[0].searches == 4 && stats[0].clicks == 4 && stats[0].topItem == "metric/mrr")
        #expect(stats[0].topItemClicks == 3)
        #expect(stats[1].zeroResults == 2 && stats[1].clicks == 0 && stats[1].topItem == nil)
        #expect(try await store.searchQueries(since: 101, limit: 10).map(\.searches) == [1])
        #expect(try await store.searchClicks(since: 0) == ["mrr": ["metric/mrr": 3, "metric/net_new_mrr": 1]])
    }

    @Test func recordsViewsAndCountsThem() async throws {
        let day = Date(timeIntervalSince1970: 1_790_000_000)
        try await store.recordView(ViewEvent(itemKind: "report", itemID: "growth", viewer: "ann", viewedAt: day))
        try await store.recordView(
            ViewEvent(itemKind: "report", itemID: "growth", viewer: nil, viewedAt: day.addingTimeInterval(3600)))
        try await store.recordView(ViewEvent(itemKind: "metric", itemID: "signups", viewer: "bob", viewedAt: day))
        #expect(try await store.viewCounts(kind: nil, since: nil) == ["report/growth": 2, "metric/signups": 1])
        #expect(try await store.viewCounts(kind: "report", since: nil) == ["report/growth": 2])
        // `since` counts whole UTC days (the rollups' grain): the day after has one view.
        try await store.recordView(
            ViewEvent(itemKind: "report", itemID: "growth", viewer: "ann", viewedAt: day.addingTimeInterval(86_400)))
        #expect(try await store.viewCounts(kind: nil, since: day.addingTimeInterval(86_400)) == ["report/growth": 1])
        #expect(try await store.viewCounts(kind: nil, since: day) == ["report/growth": 3, "metric/signups": 1])
    }

    @Test func syncRecordsAddedChangedAndRemovedItems() async throws {
        let t0 = Date(timeIntervalSince1970: 1_790_000_000)
        let first = try await store.syncCatalogItems(
            [
                CatalogItemState(kind: "report", id: "growth", digest: "a", title: "Growth", owner: "growth"),
                CatalogItemState(kind: "metric", id: "signups", digest: "b", title: "Sign-ups", owner: "growth"),
            ], catalogVersion: "v1", at: t0)
        #expect(first.map(\.action) == [.added, .added])

        let unchanged = try await store.syncCatalogItems(
            [
                CatalogItemState(kind: "report", id: "growth", digest: "a", title: "Growth", owner: "growth"),
                CatalogItemState(kind: "metric", id: "signups", digest: "b", title: "Sign-ups", owner: "growth"),
            ], catalogVersion: "v1", at: t0.addingTimeInterval(10))
        #expect(unchanged.isEmpty)

        let second = try await store.syncCatalogItems(
            [CatalogItemState(kind: "report", id: "growth", digest: "c", title: "Growth v2", owner: "growth")],
            catalogVersion: "v2", at: t0.addingTimeInterval(60))
        #expect(
            Set(second.map { "\($0.itemKind)/\($0.itemID):\($0.action.rawValue)" }) == [
                "report/growth:changed", "metric/signups:removed",
            ])

        let history = try await store.lifecycleEvents(kind: "report", id: "growth")
        #expect(history.map(\.action) == [.changed, .added])
        #expect(history.first?.title == "Growth v2")
        #expect(history.first?.catalogVersion == "v2")
        let recentReports = try await store.recentLifecycleEvents(kind: "report", limit: 1)
        #expect(recentReports.map(\.action) == [.changed])
        #expect(try await store.recentLifecycleEvents(kind: nil, limit: 10).count == 4)
    }

    @Test func recordsRunsNewestFirst() async throws {
        let t0 = Date(timeIntervalSince1970: 1_790_000_000)
        try await store.recordRun(
            RunRecord(
                kind: "generation", target: "growth", startedAt: t0, durationMilliseconds: 1200, rows: 10, bytes: 2048))
        try await store.recordRun(
            RunRecord(
                kind: "generation", target: "revenue", startedAt: t0.addingTimeInterval(5), durationMilliseconds: 30,
                error: "no such table: mrr"))
        let runs = try await store.recentRuns(kind: "generation", limit: 10)
        #expect(runs.map(\.target) == ["revenue", "growth"])
        #expect(runs.first?.error == "no such table: mrr")
        #expect(runs.last?.bytes == 2048)
        #expect(try await store.recentRuns(kind: "delivery", limit: 10).isEmpty)
    }

    @Test func aPostgresURLIsRefusedWithAClearMessage() {
        #expect {
            try SQLiteStateStore.open(location: "postgres://localhost/almanac")
        } throws: { error in
            "\(error)".contains("PostgreSQL state store is not available")
        }
    }
}

/// The daily rollups agree with the raw view log, whatever the batches, and are built from
/// it when a store from before them is migrated.
@Suite(.timeLimit(.minutes(10))) struct UsageRollupTests {
    let day = 86_400.0
    let start = Date(timeIntervalSince1970: 1_790_000_000)

    /// 1,000 views over 40 days, 7 items, 9 viewers (one anonymous), in uneven batches.
    var history: [ViewEvent] {
        (0..<1000).map { (index: Int) -> ViewEvent in
            let kind: String = index % 3 == 0 ? "metric" : "report"
            let viewer: String? = index % 9 == 0 ? nil : "user\(index % 9)"
            let time: Date = start.addingTimeInterval(Double(index) * 3_456)
            return ViewEvent(itemKind: kind, itemID: "item\(index % 7)", viewer: viewer, viewedAt: time)
        }
    }

    @Test func rollupsMatchTheRawLog() async throws {
        let directory = try TemporaryDirectory(prefix: "almanac-rollup")
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await store.migrate()
        // Uneven batches, written out of order: late views must raise the running totals after them.
        var batches: [[ViewEvent]] = []
        var rest = history[...]
        var size = 1
        while !rest.isEmpty {
            batches.append(Array(rest.prefix(size)))
            rest = rest.dropFirst(size)
            size = size * 3 % 97 + 1
        }
        for index in batches.indices.sorted(by: { ($0 * 7_919) % batches.count < ($1 * 7_919) % batches.count }) {
            try await store.recordViews(batches[index])
        }
        let views = history
        let last = UsageDay.of(views.last!.viewedAt)
        let ranges = [(last - 6)...last, (last - 29)...last, (last - 89)...last]
        let totals = try await store.viewTotals(kind: nil, id: nil, in: ranges)
        for (key, sums) in totals {
            for (index, range) in ranges.enumerated() {
                let expected = views.filter {
                    "\($0.itemKind)/\($0.itemID)" == key && range.contains(UsageDay.of($0.viewedAt))
                }.count
                #expect(sums[index] == expected, "\(key) in \(range)")
            }
        }
        #expect(totals.values.map { $0[2] }.reduce(0, +) == 1000)
        let one = try await store.viewTotals(kind: "report", id: "item1", in: ranges)
        #expect(Array(one.keys) == ["report/item1"] && one["report/item1"] == totals["report/item1"])

        let viewers = try await store.uniqueViewers(kind: "report", id: "item1", since: ranges.map(\.lowerBound))
        for (index, range) in ranges.enumerated() {
            let expected = Set(
                views.filter {
                    $0.itemKind == "report" && $0.itemID == "item1" && range.contains(UsageDay.of($0.viewedAt))
                }
                .map { $0.viewer ?? "" }
            ).count
            #expect(viewers[index] == expected)
        }
        let daily = try await store.dailyViews(kind: "report", id: "item1", in: ranges[1])
        for (day, count) in daily {
            #expect(
                count
                    == views.filter {
                        $0.itemKind == "report" && $0.itemID == "item1" && UsageDay.of($0.viewedAt) == day
                    }
                    .count)
        }
    }

    @Test func aStoreFromBeforeTheRollupsIsBackfilled() async throws {
        let directory = try TemporaryDirectory(prefix: "almanac-rollup")
        let path = directory.file("state.sqlite")
        // A v2 store, as the previous release left it: raw views only.
        let old = try SQLiteStateStore(path: path)
        try await old.migrate(through: "v2-view-context")
        let queue = try DatabaseQueue(path: path)
        try await queue.write { [history] db in
            for view in history {
                try db.execute(
                    sql: "INSERT INTO views (item_kind, item_id, viewer, viewed_at) VALUES (?, ?, ?, ?)",
                    arguments: [view.itemKind, view.itemID, view.viewer, view.viewedAt.timeIntervalSince1970])
            }
        }
        try queue.close()
        let store = try SQLiteStateStore(path: path)
        try await store.migrate()
        #expect(try await store.appliedMigrations().contains("v3-usage-rollups-lifecycle-actions"))
        let all = try await store.viewCounts(kind: nil, since: nil)
        #expect(all.values.reduce(0, +) == 1000)
        #expect(all["report/item1"] == history.filter { $0.itemKind == "report" && $0.itemID == "item1" }.count)
        let last = UsageDay.of(history.last!.viewedAt)
        let viewers = try await store.uniqueViewers(kind: "report", id: "item1", since: [last - 89])
        #expect(
            viewers == [
                Set(history.filter { $0.itemKind == "report" && $0.itemID == "item1" }.map { $0.viewer ?? "" }).count
            ])
    }
}
