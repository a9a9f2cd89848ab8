import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Logging
import Scheduling
import Storage
import Testing

/// The lifecycle watcher, the retirement review's job and the usage figures on a manual
/// clock: another instance's action shows at the next poll, the review runs once an hour
/// whichever instance claims it, cached totals are read again when they are old enough.
@Suite(.timeLimit(.minutes(10))) struct LifecycleWatcherTests {
    let admin = Viewer(user: "root", isAdmin: true)

    @Test func anotherInstancesActionShowsAtTheNextPoll() async throws {
        let fixture = try await LedgerTests.Fixture()
        // Another portal on the same state store, with its own copy of the catalog.
        let other = LifecycleService(
            catalog: try CatalogStore(directory: fixture.catalogPath), state: fixture.state,
            logger: Logger(label: "other"), clock: fixture.clock)
        let watcher = LifecycleWatcher(lifecycle: fixture.lifecycle, pollInterval: .seconds(2))
        let clock = fixture.clock
        try await whileRunning([watcher]) { () async throws in
            await clock.sleepers(atLeast: 1)
            _ = try await other.perform(
                LifecycleRequest(action: .deprecate, kind: .report, id: "sync-health", reason: "Moved"), by: admin)
            #expect(fixture.report("sync-health")?.status == .active, "not before the next poll")
            clock.advance(by: .seconds(2))
            await clock.sleepers(atLeast: 1)
            #expect(fixture.report("sync-health")?.status == .deprecated, "picked up at the next poll")
        }
    }

    @Test func theRetirementReviewRunsOnceAnHourWhicheverInstanceClaimsIt() async throws {
        let fixture = try await LedgerTests.Fixture()
        try await fixture.makeActivationFunnelACandidate()
        let clock = fixture.clock
        let other = LifecycleService(
            catalog: try CatalogStore(directory: fixture.catalogPath), state: fixture.state,
            logger: Logger(label: "other"), clock: clock)
        var logger = Logger(label: "review-test")
        logger.logLevel = .critical
        func scheduler(_ lifecycle: LifecycleService, _ instance: String) -> JobScheduler {
            let job = RetirementReviewer.job(lifecycle: lifecycle, startingAt: clock.date)
            return JobScheduler(store: fixture.state, logger: logger, instance: instance, clock: clock) { [job] }
        }
        func flags() async throws -> Int {
            try await fixture.state.lifecycleEvents(kind: "report", id: "activation-funnel")
                .filter { $0.action == .flagged }.count
        }
        let (first, second) = (scheduler(fixture.lifecycle, "a"), scheduler(other, "b"))
        #expect(await first.runDue().compactMap(\.ran).count == 1, "a portal that starts reviews the hour at once")
        #expect(await second.runDue().compactMap(\.ran).isEmpty, "the other instance does not review that hour again")
        #expect(try await flags() == 1)
        let nextHour = Date(
            timeIntervalSince1970: (clock.date.timeIntervalSince1970 / 3600).rounded(.down) * 3600 + 3600)
        clock.advance(to: nextHour.addingTimeInterval(-1))
        #expect(await first.runDue().compactMap(\.ran).isEmpty, "not before the next hour")
        clock.advance(to: nextHour)
        let hourly = await second.runDue() + first.runDue()
        #expect(hourly.compactMap(\.ran) == [nextHour], "the next hour: once, by the instance that came first")

        // Past the 14-day grace: the next review, on whichever instance comes first, deprecates it.
        clock.advance(by: .days(15))
        let outcomes = await second.runDue() + first.runDue()
        #expect(outcomes.compactMap(\.ran).count == 1, "one review for the hour")
        try await fixture.lifecycle.reloadOverlay()
        let report = try #require(fixture.report("activation-funnel"))
        #expect(report.status == .deprecated, "the review past the grace deprecated it")
        #expect(report.statusReason?.contains("Deprecated automatically") == true)
        #expect(try await flags() == 1, "flagged once, not once per instance")
        let log = try await fixture.state.recentJobRuns(job: RetirementReviewer.jobID, limit: 1)
        #expect(log.first?.status == .succeeded && log.first?.detail?.contains("deprecated 1") == true)
    }

    @Test func usageTotalsAreReadAgainOnceTheyAreOldEnoughWithoutMakingTheRequestWait() async throws {
        let directory = try TemporaryDirectory(prefix: "almanac-usage")
        let state = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await state.migrate()
        let clock = ManualClock()
        let usage = UsageService(state: state, clock: clock, maxAge: .seconds(30))
        func record(_ count: Int) async throws {
            try await state.recordViews(
                (0..<count).map { n in
                    ViewEvent(itemKind: "report", itemID: "growth-overview", viewer: "u\(n)", viewedAt: clock.date)
                })
        }
        try await record(2)
        #expect(try await usage.totals()["report/growth-overview"]?.views7 == 2)
        try await record(3)  // by another instance: this one's cached totals do not have them
        #expect(try await usage.totals()["report/growth-overview"]?.views7 == 2)
        clock.advance(by: .seconds(29))
        #expect(try await usage.totals()["report/growth-overview"]?.views7 == 2, "29 s: still the cached totals")
        clock.advance(by: .seconds(1))
        let revision = usage.revision
        #expect(
            try await usage.totals()["report/growth-overview"]?.views7 == 2,
            "30 s: the request still gets the cached totals, and a refresh starts in the background")
        #expect(try await eventually { usage.revision > revision }, "the background refresh reads the store again")
        #expect(try await usage.totals()["report/growth-overview"]?.views7 == 5, "then the new totals")
    }
}
