import AlmanacCore
import AlmanacTestSupport
import Foundation
import Logging
import Scheduling
import Storage
import Synchronization
import Testing

/// The catch-up rule on its own: what runs after a restart or an outage.
@Suite(.timeLimit(.minutes(10))) struct CatchUpPlanTests {
    let daily = try! CronSchedule(parsing: "0 8 * * *")
    /// 2026-11-27 00:00 UTC.
    let midnight = Date(timeIntervalSince1970: 1_795_737_600)
    let hour = 3600.0

    @Test func onTimeLateSupersededAndMissed() {
        let eight = midnight.addingTimeInterval(8 * hour)
        // The scheduler looks 20 s after 08:00: on time.
        var plan = CatchUpPlan(
            schedule: daily, timeZone: .gmt, since: midnight, now: eight.addingTimeInterval(20), window: 6 * hour)
        #expect(plan.run?.at == eight && plan.run?.late == false && plan.missed.isEmpty)
        // Down from 07:00 to 09:30: today's run is sent once, late.
        plan = CatchUpPlan(
            schedule: daily, timeZone: .gmt, since: midnight, now: eight.addingTimeInterval(1.5 * hour),
            window: 6 * hour)
        #expect(plan.run?.at == eight && plan.run?.late == true)
        // Down for three days, back at 09:00: today's runs late, the three before are superseded.
        plan = CatchUpPlan(
            schedule: daily, timeZone: .gmt, since: midnight.addingTimeInterval(-3 * 24 * hour),
            now: eight.addingTimeInterval(hour), window: 6 * hour)
        #expect(plan.run?.at == eight)
        #expect(plan.superseded == [-3.0, -2, -1].map { eight.addingTimeInterval($0 * 24 * hour) })
        // Back at 15:00 with a 6-hour window: too late; recorded as missed, not sent.
        plan = CatchUpPlan(
            schedule: daily, timeZone: .gmt, since: midnight, now: eight.addingTimeInterval(7 * hour), window: 6 * hour)
        #expect(plan.run == nil && plan.missed == [eight])
        // Nothing due.
        plan = CatchUpPlan(
            schedule: daily, timeZone: .gmt, since: eight, now: eight.addingTimeInterval(hour), window: 6 * hour)
        #expect(plan.run == nil && plan.missed.isEmpty && plan.superseded.isEmpty)
    }

    @Test func schedulesFireInTheirTimeZoneAcrossDaylightSaving() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        // 08:00 in Berlin is 07:00 UTC in November (CET) and 06:00 UTC in July (CEST).
        let november = daily.nextFire(after: midnight, in: berlin)
        #expect(november == midnight.addingTimeInterval(7 * hour))
        let july = Date(timeIntervalSince1970: 1_783_900_800)  // 2026-07-13 00:00 UTC
        #expect(daily.nextFire(after: july, in: berlin) == july.addingTimeInterval(6 * hour))
        // The spring change (29 March 2026): 02:30 does not exist that night; the next is the day after.
        let halfPastTwo = try CronSchedule(parsing: "30 2 * * *")
        let march28 = Date(timeIntervalSince1970: 1_774_656_000)  // 2026-03-28 00:00 UTC
        let fires = halfPastTwo.fires(after: march28, through: march28.addingTimeInterval(3 * 24 * hour), in: berlin)
        #expect(fires.count == 3, "one a day, none twice: \(fires)")
        #expect(Set(fires).count == fires.count)
    }
}

/// The scheduler over a real SQLite state store: exactly once per scheduled time across
/// restarts and across instances, late runs marked, missed ones recorded.
@Suite(.timeLimit(.minutes(10))) struct JobSchedulerTests {
    /// Counts how often each scheduled time ran.
    final class Runs: Sendable {
        let runs = Mutex<[(Date, Bool)]>([])
        func add(_ time: Date, _ late: Bool) { runs.withLock { $0.append((time, late)) } }
        var times: [Date] { runs.withLock { $0.map(\.0) } }
        var lates: [Bool] { runs.withLock { $0.map(\.1) } }
    }

    let midnight = Date(timeIntervalSince1970: 1_795_737_600)  // 2026-11-27 00:00 UTC
    let hour = 3600.0

    func scheduler(
        _ state: any StateStore, _ clock: ManualClock, _ runs: Runs, instance: String = "a", fails: Bool = false,
        tick: Duration = .seconds(20)
    ) throws -> JobScheduler {
        let job = ScheduledJob(
            id: "subscription/daily-signups", schedule: try CronSchedule(parsing: "0 8 * * *"), timeZone: .gmt,
            since: midnight.addingTimeInterval(-30 * 24 * hour)
        ) { time, late in
            runs.add(time, late)
            if fails { throw FixtureError("the SMTP server said no") }
            return "sent to 4 recipients"
        }
        return JobScheduler(store: state, logger: Logger(label: "test"), instance: instance, tick: tick, clock: clock) {
            [job]
        }
    }

    func store() async throws -> (TemporaryDirectory, SQLiteStateStore) {
        let directory = try TemporaryDirectory(prefix: "almanac-scheduler")
        let state = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await state.migrate()
        return (directory, state)
    }

    @Test func aRunHappensOnceAndARestartDoesNotRepeatIt() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(now: midnight.addingTimeInterval(-30 * 24 * hour + 60))
        let runs = Runs()
        // The job's first look: nothing of its past is caught up.
        _ = try await scheduler(state, clock, runs).runDue()
        #expect(runs.times.isEmpty)
        clock.advance(to: midnight.addingTimeInterval(8 * hour + 15))
        // A previous day was recorded so the history starts from there.
        _ = try await state.claimJobRun(
            JobRunRecord(
                job: "subscription/daily-signups", scheduledFor: midnight.addingTimeInterval(-16 * hour),
                status: .succeeded, claimedAt: midnight), staleBefore: nil)
        var first = try scheduler(state, clock, runs)
        var outcomes = await first.runDue()
        #expect(outcomes.first?.ran == midnight.addingTimeInterval(8 * hour) && outcomes.first?.late == false)
        outcomes = await first.runDue()
        #expect(outcomes.isEmpty, "the same pass again runs nothing")
        // Restarted a minute later: nothing to do.
        clock.advance(to: midnight.addingTimeInterval(8 * hour + 75))
        first = try scheduler(state, clock, runs)
        #expect(await first.runDue().isEmpty)
        #expect(runs.times == [midnight.addingTimeInterval(8 * hour)])
        let recorded = try #require(try await state.lastJobRun(job: "subscription/daily-signups"))
        #expect(recorded.status == .succeeded && recorded.detail == "sent to 4 recipients" && !recorded.late)
    }

    @Test func afterAnOutageTheNewestRunIsSentOnceLateAndTheRestRecorded() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(now: midnight.addingTimeInterval(-3 * 24 * hour + 8 * hour + 30))
        let runs = Runs()
        _ = try await scheduler(state, clock, runs).runDue()  // 3 days ago, on time
        // Down for three days; back today at 10:00 (2 hours late, within the 6-hour window).
        clock.advance(to: midnight.addingTimeInterval(10 * hour))
        let outcomes = try await scheduler(state, clock, runs).runDue()
        #expect(outcomes.first?.ran == midnight.addingTimeInterval(8 * hour) && outcomes.first?.late == true)
        #expect(outcomes.first?.superseded.count == 2)
        #expect(runs.times.count == 2 && runs.lates == [false, true])
        let log = try await state.recentJobRuns(job: "subscription/daily-signups", limit: 10)
        #expect(Array(log.prefix(4).map(\.status)) == [.succeeded, .superseded, .superseded, .succeeded])
        #expect(log.first?.late == true)
        // Down again past the window: the time is recorded as missed, and nothing is sent.
        clock.advance(to: midnight.addingTimeInterval(24 * hour + 15 * hour))
        let missed = try await scheduler(state, clock, runs).runDue()
        #expect(missed.first?.ran == nil && missed.first?.missed == [midnight.addingTimeInterval(32 * hour)])
        #expect(runs.times.count == 2)
        #expect(try await state.lastJobRun(job: "subscription/daily-signups")?.status == .missed)
    }

    @Test func instancesSharingAStoreRunEachTimeOnce() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(now: midnight.addingTimeInterval(-24 * hour + 8 * hour + 10))
        let runs = Runs()
        _ = try await scheduler(state, clock, runs, instance: "a").runDue()
        clock.advance(to: midnight.addingTimeInterval(8 * hour + 10))
        let instances = try (0..<4).map { try scheduler(state, clock, runs, instance: "instance-\($0)") }
        await withTaskGroup(of: Void.self) { group in
            for instance in instances { group.addTask { _ = await instance.runDue() } }
        }
        #expect(runs.times.filter { $0 == midnight.addingTimeInterval(8 * hour) }.count == 1)
        let claimedBy = try await state.lastJobRun(job: "subscription/daily-signups")?.instance
        #expect(claimedBy?.hasPrefix("instance-") == true)
    }

    @Test func aFailedRunIsRecordedWithItsError() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(now: midnight.addingTimeInterval(-24 * hour + 8 * hour + 10))
        let runs = Runs()
        _ = try await scheduler(state, clock, runs).runDue()
        clock.advance(to: midnight.addingTimeInterval(8 * hour + 10))
        let outcome = try await scheduler(state, clock, runs, fails: true).runDue()
        #expect(outcome.first?.failed == true)
        let record = try #require(try await state.lastJobRun(job: "subscription/daily-signups"))
        #expect(record.status == .failed && record.detail?.contains("the SMTP server said no") == true)
        // Tried again once 15 minutes have passed, while the 6-hour window is open, and late.
        clock.advance(to: midnight.addingTimeInterval(8 * hour + 600))
        #expect(try await scheduler(state, clock, runs).runDue().isEmpty)
        clock.advance(to: midnight.addingTimeInterval(8 * hour + 1000))
        let retried = try await scheduler(state, clock, runs).runDue()
        #expect(retried.first?.ran == midnight.addingTimeInterval(8 * hour) && retried.first?.late == true)
        let after = try #require(try await state.lastJobRun(job: "subscription/daily-signups"))
        #expect(after.status == .succeeded && after.detail == "sent to 4 recipients")
        #expect(
            runs.times.filter { $0 == midnight.addingTimeInterval(8 * hour) }.count == 2, "the failure and its retry")
    }

    /// With a lease, the instance running a long job (a night's generation) renews its claim
    /// every third of the lease, so another instance looking meanwhile leaves it alone however
    /// long it runs; once the renewals stop (its instance died), the other takes it over a lease
    /// later, not after the job's `staleAfter`.
    @Test func aLeasedRunIsRenewedWhileItRunsAndTakenOverALeaseAfterItsInstanceStops() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let eight = midnight.addingTimeInterval(8 * hour)
        let clock = ManualClock(now: eight.addingTimeInterval(10))
        let runs = Runs()
        let started = Gate()
        let release = Gate()
        func scheduler(_ instance: String) throws -> JobScheduler {
            let job = ScheduledJob(
                id: "generation/growth", schedule: try CronSchedule(parsing: "0 8 * * *"), timeZone: .gmt,
                since: eight.addingTimeInterval(-60), staleAfter: 2 * hour
            ) { time, late in
                runs.add(time, late)
                if runs.times.count == 1 {  // the first run takes all night
                    started.open()
                    await release.wait()
                }
                return "generated"
            }
            return JobScheduler(
                store: state, logger: Logger(label: "test"), instance: instance, lease: 60, clock: clock
            ) {
                [job]
            }
        }
        let running = Task { try await scheduler("a").runDue() }
        await started.wait()
        let b = try scheduler("b")
        for step in 1...30 {  // ten minutes, renewed every 20 s
            clock.advance(by: .seconds(20))
            let now = clock.date
            #expect(
                try await eventually { try await state.lastJobRun(job: "generation/growth")?.claimedAt == now },
                "renewed at step \(step)")
            if step.isMultiple(of: 3) { #expect(await b.runDue().isEmpty, "b leaves a running claim alone") }
        }
        // a stops renewing, as if killed: b takes the run over once a lease has passed, late.
        running.cancel()
        #expect(try await eventually { clock.sleeperCount == 0 })
        clock.advance(by: .seconds(50))
        #expect(await b.runDue().isEmpty, "within the lease")
        clock.advance(by: .seconds(20))
        let taken = await b.runDue()
        #expect(taken.compactMap(\.ran) == [eight] && taken.first?.late == true)
        release.open()
        _ = try await running.value
        let record = try #require(try await state.lastJobRun(job: "generation/growth"))
        #expect(record.status == .succeeded && record.instance == "b", "a's late end does not overwrite b's")
        #expect(record.detail == "generated" && runs.times == [eight, eight])
    }

    @Test func aRunWhoseInstanceStoppedMidwayIsTakenOverOnce() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let clock = ManualClock(now: midnight.addingTimeInterval(-24 * hour + 8 * hour + 10))
        let runs = Runs()
        _ = try await scheduler(state, clock, runs).runDue()
        // Instance "gone" claimed today's 08:00 and died before finishing.
        let eight = midnight.addingTimeInterval(8 * hour)
        #expect(
            try await state.claimJobRun(
                JobRunRecord(
                    job: "subscription/daily-signups", scheduledFor: eight, status: .running, instance: "gone",
                    claimedAt: eight.addingTimeInterval(5)), staleBefore: nil))
        // Ten minutes on, the claim is not yet stale: nothing runs.
        clock.advance(to: eight.addingTimeInterval(600))
        #expect(try await scheduler(state, clock, runs, instance: "b").runDue().isEmpty)
        // Twenty minutes on, it is: one of two instances takes it over, late.
        clock.advance(to: eight.addingTimeInterval(1200))
        let b = try scheduler(state, clock, runs, instance: "b")
        let c = try scheduler(state, clock, runs, instance: "c")
        async let first = b.runDue()
        async let second = c.runDue()
        let outcomes = await first + second
        #expect(outcomes.compactMap(\.ran) == [eight])
        #expect(runs.times.filter { $0 == eight }.count == 1 && runs.lates.last == true)
        let record = try #require(try await state.lastJobRun(job: "subscription/daily-signups"))
        #expect(record.status == .succeeded && ["b", "c"].contains(record.instance ?? ""))
    }

    /// Two running schedulers on one store, driven by their clock tick by tick: 08:00 runs at the
    /// first pass after it, once, on time; later passes run nothing; the next day's 08:00 runs
    /// when the clock gets there.
    @Test func runningSchedulersRunEachTimeOnceAsTheClockPasses() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let eight = midnight.addingTimeInterval(8 * hour)
        // Yesterday's 08:00 ran: the history starts there.
        _ = try await state.claimJobRun(
            JobRunRecord(
                job: "subscription/daily-signups", scheduledFor: eight.addingTimeInterval(-24 * hour),
                status: .succeeded, claimedAt: eight.addingTimeInterval(-24 * hour)), staleBefore: nil)
        let clock = ManualClock(now: eight.addingTimeInterval(-30))
        let runs = Runs()
        let schedulers = try ["a", "b"].map { try scheduler(state, clock, runs, instance: $0) }
        try await whileRunning(schedulers) { () async throws in
            await clock.sleepers(atLeast: 2)  // both made their first pass, at 07:59:30
            #expect(runs.times.isEmpty)
            clock.advance(by: .seconds(20))  // 07:59:50
            await clock.sleepers(atLeast: 2)
            #expect(runs.times.isEmpty, "not before its time")
            clock.advance(by: .seconds(20))  // 08:00:10
            await clock.sleepers(atLeast: 2)
            #expect(runs.times == [eight] && runs.lates == [false])
            for _ in 0..<3 {
                clock.advance(by: .seconds(20))
                await clock.sleepers(atLeast: 2)
            }
            #expect(runs.times == [eight], "later passes run nothing")
            clock.advance(to: eight.addingTimeInterval(24 * hour + 10))
            await clock.sleepers(atLeast: 2)
            #expect(runs.times == [eight, eight.addingTimeInterval(24 * hour)] && runs.lates == [false, false])
        }
        let log = try await state.recentJobRuns(job: "subscription/daily-signups", limit: 10)
        #expect(log.prefix(2).map(\.status) == [.succeeded, .succeeded])
    }

    /// A running scheduler wakes at a job's time, not at its next tick: the 08:00 digest runs at
    /// 08:00:00 although the ticks fall at 07:59:50 and 08:00:10.
    @Test func aRunningSchedulerWakesAtTheScheduledTime() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let eight = midnight.addingTimeInterval(8 * hour)
        let clock = ManualClock(now: eight.addingTimeInterval(-30))
        let ranAt = Mutex<[Date]>([])
        let job = ScheduledJob(
            id: "subscription/daily-signups", schedule: try CronSchedule(parsing: "0 8 * * *"), timeZone: .gmt,
            since: eight.addingTimeInterval(-3600)
        ) { _, _ in
            ranAt.withLock { $0.append(clock.date) }
            return nil
        }
        let scheduler = JobScheduler(store: state, logger: Logger(label: "test"), clock: clock) { [job] }
        try await whileRunning([scheduler]) { () async throws in
            await clock.sleepers(atLeast: 1)
            #expect(clock.nextDeadline == eight.addingTimeInterval(-10), "the next tick comes first")
            clock.advance(by: .seconds(20))  // 07:59:50
            await clock.sleepers(atLeast: 1)
            #expect(clock.nextDeadline == eight, "then the job's time, before the tick at 08:00:10")
            clock.advance(to: eight)
            await clock.sleepers(atLeast: 1)
            #expect(ranAt.withLock { $0 } == [eight])
        }
    }

    /// Groups pass on their own: a generation that takes its time does not hold up the digest
    /// due meanwhile; within a group, no more than its parallelism run at once.
    @Test func groupsPassOnTheirOwnAndAGroupKeepsItsParallelism() async throws {
        let (directory, state) = try await store()
        defer { withExtendedLifetime(directory) {} }
        let eight = midnight.addingTimeInterval(8 * hour)
        let clock = ManualClock(now: eight)
        let every = try CronSchedule(parsing: "0 8 * * *")
        let release = Gate()
        let twoRunning = Gate()
        let running = Mutex<(now: Int, most: Int)>((0, 0))
        let generation = JobGroup(name: "generation", parallelism: 2) {
            (1...5).map { n in
                ScheduledJob(id: "generation/report-\(n)", schedule: every, timeZone: .gmt, since: midnight) { _, _ in
                    let now = running.withLock {
                        $0.now += 1
                        $0.most = max($0.most, $0.now)
                        return $0.now
                    }
                    if now == 2 { twoRunning.open() }
                    await release.wait()
                    running.withLock { $0.now -= 1 }
                    return nil
                }
            }
        }
        let digestSent = Gate()
        let delivery = JobGroup(name: "delivery") {
            [
                ScheduledJob(id: "subscription/daily-signups", schedule: every, timeZone: .gmt, since: midnight) {
                    _, _ in
                    digestSent.open()
                    return nil
                }
            ]
        }
        let scheduler = JobScheduler(
            store: state, logger: Logger(label: "test"), clock: clock, groups: [generation, delivery])
        try await whileRunning([scheduler]) { () async throws in
            await twoRunning.wait()
            await digestSent.wait()
            #expect(running.withLock { $0.now } == 2, "two generations under way, three waiting, the digest sent")
            release.open()
            await clock.sleepers(atLeast: 2)
        }
        #expect(running.withLock { $0.most } == 2)
        let log = try await state.recentJobRuns(job: nil, limit: 10)
        #expect(log.filter { $0.status == .succeeded }.count == 6)
    }
}
