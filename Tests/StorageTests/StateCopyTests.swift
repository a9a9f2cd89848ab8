import AlmanacTestSupport
import Foundation
import Scheduling
import Testing

@testable import Storage

/// `almanac state migrate --to postgres://…`: a SQLite state store copied into an empty
/// PostgreSQL one reads the same through the store's own API, and numbering goes on after it.
@Suite(.timeLimit(.minutes(10))) struct StateCopyTests {
    let start = Date(timeIntervalSince1970: 1_795_737_600)  // 2026-11-27 00:00 UTC

    /// A SQLite store with rows in every table.
    func filledStore(_ directory: TemporaryDirectory) async throws -> SQLiteStateStore {
        let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await store.migrate()
        var views: [ViewEvent] = []
        for index in 0..<5_500 {  // more than two of the copy's batches
            views.append(
                ViewEvent(
                    itemKind: index % 3 == 0 ? "metric" : "report", itemID: "item-\(index % 7)",
                    viewer: index % 5 == 0 ? nil : "person-\(index % 11)@larkspur.io",
                    viewedAt: start.addingTimeInterval(Double(index) * 97.5), source: .search, channel: .page))
        }
        try await store.recordViews(views)
        _ = try await store.syncCatalogItems(
            [
                CatalogItemState(kind: "report", id: "growth", digest: "1", title: "Growth", owner: "growth"),
                CatalogItemState(kind: "metric", id: "mrr", digest: "2", title: "MRR", owner: "finance"),
            ], catalogVersion: "v1", at: start)
        _ = try await store.appendLifecycleEvent(
            LifecycleEvent(
                itemKind: "report", itemID: "growth", action: .deprecated, title: "Growth", actor: "ann",
                detail: "moved", at: start.addingTimeInterval(60), replacement: "growth-v2"))
        try await store.recordRun(
            RunRecord(
                kind: "generation", target: "growth", startedAt: start, durationMilliseconds: 1200, rows: 10,
                bytes: 2048))
        _ = try await store.claimJobRun(
            JobRunRecord(
                job: "generation/growth", scheduledFor: start, status: .running, instance: "a", claimedAt: start),
            staleBefore: nil)
        try await store.finishJobRun(
            job: "generation/growth", scheduledFor: start, status: .succeeded, detail: "ok", at: start, instance: "a")
        let delivery = DeliveryRecord(
            key: "k1", job: "subscription/daily", scheduledFor: start, channel: .email, recipient: "ann@larkspur.io",
            subject: "Daily", payload: "{}", nextAttemptAt: start, createdAt: start)
        _ = try await store.enqueueDeliveries([delivery])
        let claimed = try await store.claimDueDeliveries(
            instance: "a", now: start, until: start.addingTimeInterval(300), limit: 1, job: nil)
        _ = try await store.finishDeliveryAttempt(
            DeliveryAttempt(
                deliveryID: try #require(claimed.first?.id), attempt: 1, instance: "a", startedAt: start,
                finishedAt: start, outcome: .sent), status: .sent, nextAttemptAt: nil)
        _ = try await store.fireTrigger(
            TriggerFiring(
                trigger: "errors-spike", entityKey: "acme", entityLabel: "Acme", firedAt: start,
                cooldownUntil: start.addingTimeInterval(3600)), deliveries: [])
        try await store.createAPIToken(
            APITokenRecord(
                id: "t1", name: "export", subject: "svc", groups: ["finance"], scopes: [.read], createdBy: "root",
                createdAt: start), secretHash: "hash-1")
        var search = SearchActivity()
        search.searches[.init(day: 20_419, query: "mrr")] = .init(searches: 3, zeroResults: 0)
        search.clicks[.init(day: 20_419, query: "mrr", item: "metric/mrr")] = 2
        try await store.recordSearchActivity(search)
        return store
    }

    @Test func aCopyReadsTheSameAndNumberingGoesOn() async throws {
        let directory = try TemporaryDirectory()
        let source = try await filledStore(directory)
        let url = try await TestPostgres.makeDatabase(prefix: "state_copy")
        let target = try PostgresStateStore(url: url, connectTimeout: TestPostgres.connectTimeout)
        defer { target.close() }
        let counts = try await StateCopy.copy(from: source, to: target)
        #expect(counts.count == StateCopy.tables.count)
        #expect(counts.allSatisfy { $0.source == $0.target })
        #expect(counts.first { $0.table == "views" }?.target == 5_500)
        #expect(counts.allSatisfy { $0.source > 0 }, "the test fills every table: \(counts.filter { $0.source == 0 })")

        // The same answers through the store's API.
        #expect(try await target.viewCounts(kind: nil, since: nil) == source.viewCounts(kind: nil, since: nil))
        let day = UsageDay.of(start)
        let ranges = [day...(day + 3), (day + 2)...(day + 6)]
        #expect(
            try await target.viewTotals(kind: nil, id: nil, in: ranges)
                == source.viewTotals(kind: nil, id: nil, in: ranges))
        #expect(
            try await target.uniqueViewers(kind: "report", id: "item-1", since: [day, day + 3])
                == source.uniqueViewers(kind: "report", id: "item-1", since: [day, day + 3]))
        #expect(try await target.recentViews(limit: 50) == source.recentViews(limit: 50))
        #expect(
            try await target.recentLifecycleEvents(kind: nil, limit: 10)
                == source.recentLifecycleEvents(kind: nil, limit: 10))
        #expect(try await target.catalogItemRecords(kind: nil) == source.catalogItemRecords(kind: nil))
        #expect(try await target.recentRuns(kind: nil, limit: 10) == source.recentRuns(kind: nil, limit: 10))
        #expect(try await target.recentJobRuns(job: nil, limit: 10) == source.recentJobRuns(job: nil, limit: 10))
        #expect(try await target.deliveries(DeliveryQuery()) == source.deliveries(DeliveryQuery()))
        #expect(try await target.deliveryAttempts(id: 1) == source.deliveryAttempts(id: 1))
        #expect(
            try await target.triggerFirings(trigger: nil, limit: 10) == source.triggerFirings(trigger: nil, limit: 10))
        #expect(try await target.apiToken(secretHash: "hash-1") == source.apiToken(secretHash: "hash-1"))
        #expect(try await target.searchQueries(since: 0, limit: 10) == source.searchQueries(since: 0, limit: 10))

        // New rows are numbered after the copied ones, and new views add to the copied rollups.
        let copiedLast = try await target.latestLifecycleEventID()
        let appended = try await target.appendLifecycleEvent(
            LifecycleEvent(
                itemKind: "report", itemID: "growth", action: .retired, title: "Growth", actor: "ann",
                at: start.addingTimeInterval(120)))
        #expect(try #require(appended.id) > copiedLast)
        try await target.recordViews([
            ViewEvent(itemKind: "report", itemID: "item-1", viewer: "new@larkspur.io", viewedAt: start)
        ])
        let before = try await source.viewCounts(kind: nil, since: nil)["report/item-1"] ?? 0
        #expect(try await target.viewCounts(kind: nil, since: nil)["report/item-1"] == before + 1)

        // A second copy into the now non-empty store writes nothing and says why.
        await #expect {
            _ = try await StateCopy.copy(from: source, to: target)
        } throws: { error in
            "\(error)".contains("already holds state")
        }
    }
}
