import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Logging
import Storage
import Testing

/// The lifecycle watcher and the usage figures on a manual clock: another instance's action
/// shows at the next poll, the retirement review runs on its interval and no sooner, cached
/// totals are read again when they are old enough.
@Suite(.timeLimit(.minutes(10))) struct LifecycleWatcherTests {
    let admin = Viewer(user: "root", isAdmin: true)

    @Test func anotherInstancesActionShowsAtTheNextPollAndTheReviewKeepsItsInterval() async throws {
        let fixture = try await LedgerTests.Fixture()
        try await fixture.makeActivationFunnelACandidate()
        // Another portal on the same state store, with its own copy of the catalog.
        let other = LifecycleService(
            catalog: try CatalogStore(directory: fixture.catalogPath), state: fixture.state,
            logger: Logger(label: "other"), clock: fixture.clock)
        let watcher = LifecycleWatcher(
            lifecycle: fixture.lifecycle, pollInterval: .seconds(2), reviewInterval: .days(30))
        let clock = fixture.clock
        try await whileRunning([watcher]) { () async throws in
            await clock.sleepers(atLeast: 1)
            let flagged = try await fixture.state.lifecycleEvents(kind: "report", id: "activation-funnel")
            #expect(flagged.first?.action == .flagged, "the first pass reviewed")

            _ = try await other.perform(
                LifecycleRequest(action: .deprecate, kind: .report, id: "sync-health", reason: "Moved"), by: admin)
            #expect(fixture.report("sync-health")?.status == .active, "not before the next poll")
            clock.advance(by: .seconds(2))
            await clock.sleepers(atLeast: 1)
            #expect(fixture.report("sync-health")?.status == .deprecated, "picked up at the next poll")

            // Past the 14-day grace, but the next review is 30 days after the first: not yet.
            clock.advance(by: .days(15))
            await clock.sleepers(atLeast: 1)
            #expect(fixture.report("activation-funnel")?.status == .active)
            clock.advance(by: .days(15))
            await clock.sleepers(atLeast: 1)
            let report = try #require(fixture.report("activation-funnel"))
            #expect(report.status == .deprecated, "the review 30 days on deprecated it")
            #expect(report.statusReason?.contains("Deprecated automatically") == true)
        }
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
