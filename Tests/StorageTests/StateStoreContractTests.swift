import AlmanacCore
import AlmanacTestSupport
import Foundation
import Scheduling
import Storage
import Testing

/// What every ``StateStore`` must do, whatever its engine: each test runs against every backend
/// in ``Backend/allCases`` (SQLite, and PostgreSQL on the server `scripts/with-postgres` starts,
/// a fresh database per test; without `ALMANAC_TEST_POSTGRES_URL` the PostgreSQL cases fail and
/// say how to run them). The behaviour the portal relies on across instances is spelled out
/// here: a scheduled time is claimed once, an outbox key is queued once, a lease is held by one
/// instance, a token use never moves back, counts add up, also with two instances at once.
@Suite(.timeLimit(.minutes(10))) struct StateStoreContractTests {
    enum Backend: String, CaseIterable, CustomStringConvertible {
        case sqlite, postgres
        var description: String { rawValue }
    }

    /// A fresh, migrated store of `backend`, and what keeps it alive.
    static func store(_ backend: Backend) async throws -> (any StateStore, TemporaryDirectory) {
        let (stores, directory) = try await Self.stores(backend, count: 1)
        try await stores[0].migrate()
        return (stores[0], directory)
    }

    /// `count` stores of `backend` on one fresh, empty (not migrated) database, as several
    /// portal instances share one; and what keeps them alive.
    static func stores(_ backend: Backend, count: Int) async throws -> ([any StateStore], TemporaryDirectory) {
        let directory = try TemporaryDirectory(prefix: "almanac-contract")
        switch backend {
        case .sqlite:
            let path = directory.file("state.sqlite")
            let stores: [any StateStore] = try (0..<count).map { _ in try SQLiteStateStore(path: path) }
            return (stores, directory)
        case .postgres:
            let url = try await TestPostgres.makeDatabase(prefix: "state")
            let stores: [any StateStore] = try (0..<count).map { _ in
                try PostgresStateStore(url: url, poolSize: 4, connectTimeout: TestPostgres.connectTimeout)
            }
            return (stores, directory)
        }
    }

    let start = Date(timeIntervalSince1970: 1_795_737_600)  // 2026-11-27 00:00 UTC

    @Test(arguments: Backend.allCases) func migratingTwiceChangesNothing(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let applied = try await store.appliedMigrations()
        try await store.migrate()
        #expect(try await store.appliedMigrations() == applied && !applied.isEmpty)
    }

    @Test(arguments: Backend.allCases) func aScheduledTimeIsClaimedOnceAndTakenOverOnlyWhenStale(
        _ backend: Backend
    ) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let eight = start.addingTimeInterval(8 * 3600)
        func claim(_ instance: String, at date: Date, staleBefore: Date? = nil) async throws -> Bool {
            try await store.claimJobRun(
                JobRunRecord(
                    job: "subscription/daily", scheduledFor: eight, status: .running, instance: instance,
                    claimedAt: date), staleBefore: staleBefore)
        }
        #expect(try await claim("a", at: eight))
        #expect(try await !claim("b", at: eight), "a second claim of the same time fails")
        #expect(try await !claim("b", at: eight.addingTimeInterval(60), staleBefore: eight), "not stale yet")
        #expect(
            try await claim("b", at: eight.addingTimeInterval(1200), staleBefore: eight.addingTimeInterval(600)),
            "a claim older than staleBefore is taken over")
        // The slow instance finishing late does not overwrite the run that took over.
        try await store.finishJobRun(
            job: "subscription/daily", scheduledFor: eight, status: .failed, detail: "late", at: eight, instance: "a")
        #expect(try await store.lastJobRun(job: "subscription/daily")?.status == .running)
        try await store.finishJobRun(
            job: "subscription/daily", scheduledFor: eight, status: .succeeded, detail: "sent",
            at: eight.addingTimeInterval(1300), instance: "b")
        let last = try #require(try await store.lastJobRun(job: "subscription/daily"))
        #expect(last.status == .succeeded && last.instance == "b" && last.detail == "sent")
        #expect(try await !claim("c", at: eight.addingTimeInterval(9999), staleBefore: eight.addingTimeInterval(9000)))
        // A newer time is another claim; the newest comes first.
        _ = try await store.claimJobRun(
            JobRunRecord(
                job: "subscription/daily", scheduledFor: eight.addingTimeInterval(86_400), status: .missed,
                claimedAt: eight, finishedAt: eight), staleBefore: nil)
        #expect(try await store.lastJobRun(job: "subscription/daily")?.status == .missed)
        #expect(try await store.recentJobRuns(job: "subscription/daily", limit: 10).count == 2)
        #expect(try await store.recentJobRuns(job: "other", limit: 10).isEmpty)
    }

    /// The instance running a time renews its claim, so it does not go stale; nobody else can
    /// renew it, and an ended or taken-over run is renewed no more.
    @Test(arguments: Backend.allCases) func onlyTheRunningInstanceRenewsItsClaim(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let eight = start.addingTimeInterval(8 * 3600)
        func renew(_ instance: String, at seconds: Double) async throws -> Bool {
            try await store.renewJobRun(
                job: "generation/growth", scheduledFor: eight, instance: instance, at: eight.addingTimeInterval(seconds)
            )
        }
        func claim(_ instance: String, at seconds: Double, staleBefore: Double) async throws -> Bool {
            try await store.claimJobRun(
                JobRunRecord(
                    job: "generation/growth", scheduledFor: eight, status: .running, instance: instance,
                    claimedAt: eight.addingTimeInterval(seconds)), staleBefore: eight.addingTimeInterval(staleBefore))
        }
        #expect(try await !renew("a", at: 1), "nothing claimed yet")
        #expect(try await claim("a", at: 0, staleBefore: -60))
        #expect(try await renew("a", at: 20))
        #expect(try await renew("a", at: 40))
        #expect(try await !renew("b", at: 40), "only the claiming instance renews")
        #expect(try await store.lastJobRun(job: "generation/growth")?.claimedAt == eight.addingTimeInterval(40))
        // 90 s on with a 60-second lease: renewed at 40 s, so not stale.
        #expect(try await !claim("b", at: 90, staleBefore: 30))
        // a stops renewing (it died): 101 s on, b takes it over, and a's late renewal fails.
        #expect(try await claim("b", at: 101, staleBefore: 41))
        #expect(try await !renew("a", at: 102))
        #expect(try await renew("b", at: 120))
        try await store.finishJobRun(
            job: "generation/growth", scheduledFor: eight, status: .succeeded, detail: nil,
            at: eight.addingTimeInterval(130), instance: "b")
        #expect(try await !renew("b", at: 140), "an ended run is not renewed")
        let last = try #require(try await store.lastJobRun(job: "generation/growth"))
        #expect(last.status == .succeeded && last.instance == "b" && last.claimedAt == eight.addingTimeInterval(120))
    }

    @Test(arguments: Backend.allCases) func aFailedRunIsRetriedOnceItsTimeHasPassed(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let run = JobRunRecord(job: "trigger/t", scheduledFor: start, status: .running, instance: "a", claimedAt: start)
        #expect(try await store.claimJobRun(run, staleBefore: nil))
        try await store.finishJobRun(
            job: "trigger/t", scheduledFor: start, status: .failed, detail: "warehouse down", at: start, instance: "a")
        var retry = run
        retry.instance = "b"
        retry.claimedAt = start.addingTimeInterval(1000)
        #expect(try await store.claimJobRun(retry, staleBefore: start.addingTimeInterval(500)))
        #expect(try await store.lastJobRun(job: "trigger/t")?.instance == "b")
    }

    @Test(arguments: Backend.allCases) func viewsAddUpPerItemDayAndViewer(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let day = UsageDay.of(start)
        var views: [ViewEvent] = []
        for (offset, viewer) in [(0, "ann"), (0, "bob"), (1, "ann"), (2, "ann"), (2, nil)] {
            views.append(
                ViewEvent(
                    itemKind: "report", itemID: "growth", viewer: viewer,
                    viewedAt: start.addingTimeInterval(Double(offset) * 86_400 + 60)))
        }
        views.append(ViewEvent(itemKind: "metric", itemID: "mrr", viewer: "ann", viewedAt: start))
        try await store.recordViews(views)
        #expect(try await store.viewCounts(kind: nil, since: nil) == ["report/growth": 5, "metric/mrr": 1])
        #expect(
            try await store.viewCounts(kind: "report", since: start.addingTimeInterval(86_400)) == ["report/growth": 3])
        let totals = try await store.viewTotals(kind: nil, id: nil, in: [day...day, day...(day + 2)])
        #expect(totals["report/growth"] == [2, 5] && totals["metric/mrr"] == [1, 1])
        #expect(
            try await store.viewTotals(kind: "report", id: "growth", in: [(day + 1)...(day + 2)]) == [
                "report/growth": [3]
            ])
        #expect(
            try await store.dailyViews(kind: "report", id: "growth", in: day...(day + 2)) == [
                day: 2, day + 1: 1, day + 2: 2,
            ])
        // Views without a viewer (an anonymous developer on loopback) count as one viewer together.
        #expect(
            try await store.uniqueViewers(kind: "report", id: "growth", since: [day, day + 1, day + 2]) == [3, 2, 2])
        #expect(try await store.recentViews(limit: 2).count == 2)
    }

    @Test(arguments: Backend.allCases) func catalogSyncAndLifecycleActionsAreOneLog(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        #expect(try await store.latestLifecycleEventID() == 0)
        let growth = CatalogItemState(kind: "report", id: "growth", digest: "1", title: "Growth", owner: "team-a")
        let added = try await store.syncCatalogItems([growth], catalogVersion: "v1", at: start)
        #expect(added.map(\.action) == [.added])
        #expect(try await store.syncCatalogItems([growth], catalogVersion: "v1", at: start).isEmpty, "nothing changed")
        var edited = growth
        edited.digest = "2"
        #expect(try await store.syncCatalogItems([edited], catalogVersion: "v2", at: start).map(\.action) == [.changed])
        let action = try await store.appendLifecycleEvent(
            LifecycleEvent(
                itemKind: "report", itemID: "growth", action: .deprecated, title: "Growth", actor: "ann",
                detail: "moved", at: start.addingTimeInterval(60)))
        #expect(action.id != nil)
        #expect(try await store.latestLifecycleEventID() == action.id)
        #expect(try await store.lifecycleActions().map(\.action) == [.deprecated], "actions, not the catalog's changes")
        #expect(try await store.lifecycleEvents(kind: "report", id: "growth").first?.action == .deprecated)
        #expect(try await store.recentLifecycleEvents(kind: "report", limit: 10).count == 3)
        #expect(try await store.catalogItemRecords(kind: "report").map(\.id) == ["growth"])
        #expect(try await store.catalogItemRecords(kind: "metric").isEmpty)
        #expect(try await store.syncCatalogItems([], catalogVersion: "v3", at: start).map(\.action) == [.removed])
        #expect(try await store.catalogItemRecords(kind: nil).isEmpty, "a removed object is forgotten; its log stays")
        #expect(try await store.lifecycleEvents(kind: "report", id: "growth").count == 4)
    }

    @Test(arguments: Backend.allCases) func anOutboxKeyIsQueuedOnceAndALeaseHasOneHolder(
        _ backend: Backend
    ) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        func delivery(_ key: String) -> DeliveryRecord {
            DeliveryRecord(
                key: key, job: "subscription/daily", scheduledFor: start, channel: .email, recipient: "ann@example.com",
                subject: "Daily", payload: "…", nextAttemptAt: start, createdAt: start)
        }
        #expect(try await store.enqueueDeliveries([delivery("k1"), delivery("k2")]) == 2)
        #expect(try await store.enqueueDeliveries([delivery("k1"), delivery("k3")]) == 1, "k1 is already queued")
        let leaseEnd = start.addingTimeInterval(300)
        let claimed = try await store.claimDueDeliveries(instance: "a", now: start, until: leaseEnd, limit: 2, job: nil)
        #expect(claimed.count == 2)
        let others = try await store.claimDueDeliveries(instance: "b", now: start, until: leaseEnd, limit: 10, job: nil)
        #expect(others.count == 1, "what a holds is not leased to b")
        let id = try #require(claimed.first?.id)
        #expect(try await store.renewDeliveryLease(id: id, instance: "a", now: start, until: leaseEnd))
        #expect(try await !store.renewDeliveryLease(id: id, instance: "b", now: start, until: leaseEnd))
        let attempt = DeliveryAttempt(
            deliveryID: id, attempt: 1, instance: "b", startedAt: start, finishedAt: start, outcome: .sent)
        #expect(try await !store.finishDeliveryAttempt(attempt, status: .sent, nextAttemptAt: nil), "not b's lease")
        var mine = attempt
        mine.instance = "a"
        #expect(try await store.finishDeliveryAttempt(mine, status: .sent, nextAttemptAt: nil))
        #expect(try await store.delivery(id: id)?.status == .sent)
        #expect(try await store.deliveryAttempts(id: id).count == 1)
        #expect(try await store.deliveryStatusCounts()[.sent] == 1)
        #expect(try await store.deliveries(DeliveryQuery(status: .sent)).map(\.id) == [id])
        // An expired lease is taken over.
        let later = leaseEnd.addingTimeInterval(1)
        let takenOver = try await store.claimDueDeliveries(
            instance: "c", now: later, until: later.addingTimeInterval(300), limit: 10, job: nil)
        #expect(takenOver.count == 2)
    }

    @Test(arguments: Backend.allCases) func aTriggerFiresOncePerEntityWithinItsCooldown(_ backend: Backend) async throws
    {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        func fire(_ at: Date) async throws -> Bool {
            try await store.fireTrigger(
                TriggerFiring(
                    trigger: "drop", entityKey: "w1", entityLabel: "Initech", firedAt: at,
                    cooldownUntil: at.addingTimeInterval(7 * 86_400)),
                deliveries: [
                    DeliveryRecord(
                        key: "drop/w1/\(at.timeIntervalSince1970)", job: "trigger/drop", scheduledFor: at,
                        channel: .task, recipient: "tracker", subject: "Initech dropped", payload: "{}",
                        nextAttemptAt: at, createdAt: at)
                ])
        }
        #expect(try await fire(start))
        #expect(try await !fire(start.addingTimeInterval(86_400)), "within the cooldown: nothing written")
        #expect(try await fire(start.addingTimeInterval(8 * 86_400)))
        #expect(try await store.triggerFirings(trigger: "drop", limit: 10).count == 2)
        #expect(try await store.deliveries(DeliveryQuery(job: "trigger/drop")).count == 2)
    }

    @Test(arguments: Backend.allCases) func tokensAreFoundByHashRevokedOnceAndTheirUseNeverGoesBack(
        _ backend: Backend
    ) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let token = APITokenRecord(
            id: "t1", name: "export", subject: "svc", groups: ["finance"], scopes: [.read], createdBy: "root",
            createdAt: start)
        try await store.createAPIToken(token, secretHash: "hash-1")
        #expect(try await store.apiToken(secretHash: "hash-1")?.id == "t1")
        #expect(try await store.apiToken(secretHash: "hash-2") == nil)
        try await store.recordAPITokenUse(id: "t1", at: start.addingTimeInterval(100))
        try await store.recordAPITokenUse(id: "t1", at: start.addingTimeInterval(50))
        #expect(try await store.apiTokens().first?.lastUsedAt == start.addingTimeInterval(100))
        #expect(try await store.revokeAPIToken(id: "t1", by: "root", at: start.addingTimeInterval(200)))
        #expect(try await !store.revokeAPIToken(id: "t1", by: "root", at: start.addingTimeInterval(300)))
        #expect(try await !store.revokeAPIToken(id: "nope", by: "root", at: start))
        #expect(try await store.apiToken(secretHash: "hash-1")?.revokedBy == "root")
    }

    @Test(arguments: Backend.allCases) func searchesAndClicksAddUpPerDayAndQuery(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        let day = UsageDay.of(start)
        var activity = SearchActivity()
        activity.searches[.init(day: day, query: "mrr")] = .init(searches: 3, zeroResults: 0)
        activity.searches[.init(day: day, query: "hooli ocean")] = .init(searches: 2, zeroResults: 2)
        activity.clicks[.init(day: day, query: "mrr", item: "metric/mrr")] = 2
        try await store.recordSearchActivity(activity)
        try await store.recordSearchActivity(activity)
        let queries = try await store.searchQueries(since: day, limit: 10)
        #expect(queries.first?.query == "mrr" && queries.first?.searches == 6 && queries.first?.clicks == 4)
        #expect(queries.first { $0.query == "hooli ocean" }?.zeroResults == 4)
        #expect(try await store.searchClicks(since: day) == ["mrr": ["metric/mrr": 4]])
        #expect(try await store.searchQueries(since: day + 1, limit: 10).isEmpty)
    }

    @Test(arguments: Backend.allCases) func runsAreListedNewestFirstByKind(_ backend: Backend) async throws {
        let (store, directory) = try await Self.store(backend)
        defer { withExtendedLifetime(directory) {} }
        for (offset, kind) in [(0, "generation"), (1, "index"), (2, "generation")] {
            try await store.recordRun(
                RunRecord(
                    kind: kind, target: "r\(offset)", startedAt: start.addingTimeInterval(Double(offset)),
                    durationMilliseconds: 5))
        }
        #expect(try await store.recentRuns(kind: "generation", limit: 10).map(\.target) == ["r2", "r0"])
        #expect(try await store.recentRuns(kind: nil, limit: 1).map(\.target) == ["r2"])
    }

    // NB: PostgreSQL only: GRDB's migrator reads the applied migrations outside the transaction
    // that applies one, so two processes migrating a new SQLite file at once can both try the
    // first migration. One instance owns a SQLite store; instances share a PostgreSQL one.
    @Test(arguments: [Backend.postgres]) func instancesStartingTogetherMigrateOnce(_ backend: Backend) async throws {
        let (stores, directory) = try await Self.stores(backend, count: 2)
        defer { withExtendedLifetime(directory) {} }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            try await group.waitForAll()
        }
        let first = try await stores[0].appliedMigrations()
        #expect(!first.isEmpty)
        #expect(try await stores[1].appliedMigrations() == first)
        // Every table is there once: the first migration's tables work from both.
        try await stores[0].recordRun(RunRecord(kind: "index", target: "a", startedAt: start, durationMilliseconds: 1))
        #expect(try await stores[1].recentRuns(kind: "index", limit: 10).map(\.target) == ["a"])
    }

    @Test(arguments: Backend.allCases) func viewsRecordedByTwoInstancesAtOnceAddUpExactly(
        _ backend: Backend
    ) async throws {
        let (stores, directory) = try await Self.stores(backend, count: 2)
        defer { withExtendedLifetime(directory) {} }
        try await stores[0].migrate()
        let day = UsageDay.of(start)
        let items = ["growth", "revenue", "churn"]
        // Each batch covers every item, its days out of order (a batch across midnight, clocks
        // that differ), so the writers' running totals meet on the same rows.
        @Sendable func batch(_ number: Int) -> [ViewEvent] {
            var views: [ViewEvent] = []
            for (index, item) in items.enumerated() {
                for offset in [(number + index) % 4, 3 - (number % 4), 1] {
                    views.append(
                        ViewEvent(
                            itemKind: "report", itemID: item, viewer: "viewer-\(number % 5)",
                            viewedAt: start.addingTimeInterval(Double(offset) * 86_400 + Double(number))))
                }
            }
            return views
        }
        let batches = 24
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 0..<batches {
                let store = stores[number % 2]
                group.addTask { try await store.recordViews(batch(number)) }
            }
            try await group.waitForAll()
        }
        var expected: [String: [Int: Int]] = [:]
        for view in (0..<batches).flatMap(batch) {
            expected["report/\(view.itemID)", default: [:]][UsageDay.of(view.viewedAt), default: 0] += 1
        }
        let store = stores[0]
        #expect(try await store.viewCounts(kind: nil, since: nil) == expected.mapValues { $0.values.reduce(0, +) })
        for item in items {
            let perDay = expected["report/\(item)"]!
            #expect(try await store.dailyViews(kind: "report", id: item, in: day...(day + 3)) == perDay)
            // The running totals agree with the days: every range's total is the sum of its days.
            let ranges = [day...day, day...(day + 1), (day + 1)...(day + 2), (day + 2)...(day + 3), day...(day + 3)]
            let sums = ranges.map { range in range.reduce(0) { $0 + (perDay[$1] ?? 0) } }
            #expect(try await store.viewTotals(kind: "report", id: item, in: ranges) == ["report/\(item)": sums])
            #expect(try await store.uniqueViewers(kind: "report", id: item, since: [day]) == [5])
        }
        #expect(try await store.recentViews(limit: 10_000).count == batches * items.count * 3)
    }

    @Test(arguments: Backend.allCases) func twoInstancesClaimingAtOnceNeverShareADelivery(
        _ backend: Backend
    ) async throws {
        let (stores, directory) = try await Self.stores(backend, count: 2)
        defer { withExtendedLifetime(directory) {} }
        try await stores[0].migrate()
        let count = 60
        let queued = try await stores[0].enqueueDeliveries(
            (0..<count).map { number in
                DeliveryRecord(
                    key: "k\(number)", job: "subscription/daily", scheduledFor: start, channel: .email,
                    recipient: "r\(number)@example.com", subject: "Daily", payload: "{}",
                    nextAttemptAt: start.addingTimeInterval(Double(number % 7)), createdAt: start)
            })
        #expect(queued == count)
        let now = start.addingTimeInterval(60)
        let claims = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let claimed = try await store.claimDueDeliveries(
                            instance: "instance-\(index)", now: now, until: now.addingTimeInterval(300), limit: 4,
                            job: nil)
                        if claimed.isEmpty { return mine }
                        #expect(claimed.allSatisfy { $0.claimedBy == "instance-\(index)" && $0.status == .sending })
                        mine += claimed.compactMap(\.id)
                    }
                }
            }
            var all: [[Int64]] = []
            for try await ids in group { all.append(ids) }
            return all
        }
        let ids = claims.flatMap { $0 }
        #expect(ids.count == count, "every delivery was handed out")
        #expect(Set(ids).count == count, "and none to both instances")
        #expect(try await stores[1].deliveryStatusCounts() == [.sending: count])
    }
}
