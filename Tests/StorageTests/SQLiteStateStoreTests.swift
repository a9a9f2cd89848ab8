import AlmanacTestSupport
import Foundation
import Storage
import Testing

@Suite struct SQLiteStateStoreTests {
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
                "v1-views-lifecycle-runs", "v2-view-context", "v3-usage-rollups-lifecycle-actions",
            ])
        // A second process opening the same file sees the same schema.
        let reopened = try SQLiteStateStore(path: store.path)
        try await reopened.migrate()
        #expect(
            try await reopened.appliedMigrations() == [
                "v1-views-lifecycle-runs", "v2-view-context", "v3-usage-rollups-lifecycle-actions",
            ])
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
