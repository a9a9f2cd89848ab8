public import AlmanacCore
public import Foundation
public import Logging
public import ServiceLifecycle

/// Where the scheduler records each scheduled time it claimed, ran, skipped or missed: the
/// state store shared by every instance, so that one insert decides which instance runs it.
public protocol JobRunStore: Sendable {
    /// Claims the run of `job` at `scheduledFor` (inserts `run`); `false` when it was already
    /// claimed, by this or another instance: the caller must not run it. A claim still `running`
    /// from before `staleBefore` (its instance stopped midway), or a run that failed before it,
    /// is taken over.
    func claimJobRun(_ run: JobRunRecord, staleBefore: Date?) async throws -> Bool
    /// Records how a claimed run ended, if it is still `running` under `instance` (any instance
    /// when `nil`): a slow instance whose run was taken over does not overwrite the result.
    func finishJobRun(
        job: String, scheduledFor: Date, status: JobRunRecord.Status, detail: String?, at: Date, instance: String?)
        async throws
    /// Confirms that `instance` still runs `job`'s `scheduledFor`: the claim's time moves to
    /// `at`, so no other instance takes it over while the run goes on. `false` when the claim is
    /// no longer this instance's (it was taken over, or it ended).
    func renewJobRun(job: String, scheduledFor: Date, instance: String, at: Date) async throws -> Bool
    /// The newest scheduled time recorded for `job` (run, missed or superseded).
    func lastJobRun(job: String) async throws -> JobRunRecord?
    /// The newest job runs, optionally of one job.
    func recentJobRuns(job: String?, limit: Int) async throws -> [JobRunRecord]
}

/// One scheduled time of a job (a digest, a trigger's check) and what became of it.
public struct JobRunRecord: Sendable, Hashable, Codable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Claimed by an instance and under way (or that instance stopped during it).
        case running
        case succeeded, failed
        /// Not run: a newer time of the same job ran instead (after an outage).
        case superseded
        /// Not run: too long ago when the scheduler came back.
        case missed
    }
    public var job: String
    public var scheduledFor: Date
    public var status: Status
    /// Run more than a couple of minutes after its time (after a restart or an outage).
    public var late: Bool
    /// Which portal instance claimed it.
    public var instance: String?
    /// When it was claimed; while it runs under a scheduler with a ``JobScheduler/lease``, when
    /// its instance last renewed the claim.
    public var claimedAt: Date
    public var finishedAt: Date?
    public var detail: String?

    public init(
        job: String, scheduledFor: Date, status: Status, late: Bool = false, instance: String? = nil,
        claimedAt: Date, finishedAt: Date? = nil, detail: String? = nil
    ) {
        self.job = job
        self.scheduledFor = scheduledFor
        self.status = status
        self.late = late
        self.instance = instance
        self.claimedAt = claimedAt
        self.finishedAt = finishedAt
        self.detail = detail
    }
}

/// A job the scheduler runs at the times of its cron schedule, in its time zone.
public struct ScheduledJob: Sendable {
    /// Unique and stable across restarts: `subscription/daily-signups`, `generation/growth-overview`.
    public var id: String
    public var schedule: CronSchedule
    public var timeZone: TimeZone
    /// When the job first existed (its subscription first appeared in the catalog): times before
    /// it are never caught up.
    public var since: Date
    /// How long after its time a run is still worth doing; the scheduler's window when `nil`.
    public var window: TimeInterval?
    /// How long after a failure it is tried again, and, under a scheduler without a
    /// ``JobScheduler/lease``, how long a claimed run may stay `running` before another instance
    /// takes it over; the scheduler's `staleAfter` when `nil`.
    public var staleAfter: TimeInterval?
    /// Runs the job for its scheduled time; returns a line for the log (what was sent) or throws.
    public var run: @Sendable (_ scheduledFor: Date, _ late: Bool) async throws -> String?

    public init(
        id: String, schedule: CronSchedule, timeZone: TimeZone, since: Date, window: TimeInterval? = nil,
        staleAfter: TimeInterval? = nil,
        run: @escaping @Sendable (_ scheduledFor: Date, _ late: Bool) async throws -> String?
    ) {
        self.id = id
        self.schedule = schedule
        self.timeZone = timeZone
        self.since = since
        self.window = window
        self.staleAfter = staleAfter
        self.run = run
    }
}

/// Jobs of one kind (deliveries, generation, the retirement review), passed over together.
///
/// Each group has its own pass, so a night's generation never holds up a morning digest; within
/// a pass, at most `parallelism` of the group's jobs run at once.
public struct JobGroup: Sendable {
    public var name: String
    public var parallelism: Int
    /// Runs once before the group's first pass (generation makes the dashboards that are missing).
    public var onStart: (@Sendable () async -> Void)?
    /// The group's jobs now (read at every pass: catalog edits add and remove jobs).
    public var jobs: @Sendable () async -> [ScheduledJob]

    public init(
        name: String, parallelism: Int = 1, onStart: (@Sendable () async -> Void)? = nil,
        jobs: @escaping @Sendable () async -> [ScheduledJob]
    ) {
        self.name = name
        self.parallelism = max(1, parallelism)
        self.onStart = onStart
        self.jobs = jobs
    }
}

/// Runs scheduled jobs exactly once per scheduled time, across restarts and across portal
/// instances sharing one state store: the one scheduler for digests, triggers, nightly
/// generation and the retirement review.
///
/// Each pass looks, per job, at the times since the last one recorded (or since the job first
/// existed). The newest within the catch-up window is claimed (an insert that only one instance
/// can make) and run, marked late when it is more than two minutes past; older ones are recorded
/// as superseded, and those outside the window as missed, so a restart neither runs twice nor
/// skips silently. A run whose instance stopped midway (still `running` after ``staleAfter``) is
/// taken over and run again, late, while it is within the window. With a ``lease``, a running
/// instance renews its claim every third of the lease, and a claim not renewed for a lease is
/// taken over: a stopped instance's run is taken over within a minute, while a slow one (a
/// night's generation) is never run twice. Jobs are idempotent
/// (deliveries by their keys, generation by writing a new version), so running one twice sends
/// nothing twice.
///
/// Between passes a group sleeps until its next scheduled time or ``tick``, whichever comes
/// first, on the injected clock: tests move a manual clock and never wait for a schedule.
public final class JobScheduler: Service, Sendable {
    public let store: any JobRunStore
    public let logger: Logger
    /// Names this instance in the log (host and process).
    public let instance: String
    /// How long after its time a run is still worth doing (a job may say otherwise).
    public let window: TimeInterval
    /// The longest sleep between passes: catalog edits that add jobs are seen within it.
    public let tick: Duration
    /// How long a claimed run may stay `running` before another pass takes it over, without a
    /// ``lease``; how long after a failure a run is tried again.
    public let staleAfter: TimeInterval
    /// How long a running claim lasts unless its instance renews it (every third of it, while
    /// the job runs); `nil` for no renewal, a claim then lasting ``staleAfter``.
    public let lease: TimeInterval?
    public let groups: [JobGroup]
    let clock: any WallClock

    public init(
        store: any JobRunStore, logger: Logger, instance: String = JobScheduler.defaultInstance,
        window: TimeInterval = 6 * 3600, tick: Duration = .seconds(20), staleAfter: TimeInterval = 15 * 60,
        lease: TimeInterval? = nil, clock: any WallClock = SystemClock(), groups: [JobGroup]
    ) {
        self.lease = lease.map { max(1, $0) }
        self.store = store
        self.logger = logger
        self.instance = instance
        self.window = window
        self.tick = tick
        self.staleAfter = staleAfter
        self.clock = clock
        self.groups = groups
    }

    /// A scheduler of one group, run one job at a time.
    public convenience init(
        store: any JobRunStore, logger: Logger, instance: String = JobScheduler.defaultInstance,
        window: TimeInterval = 6 * 3600, tick: Duration = .seconds(20), staleAfter: TimeInterval = 15 * 60,
        lease: TimeInterval? = nil, clock: any WallClock = SystemClock(),
        jobs: @escaping @Sendable () async -> [ScheduledJob]
    ) {
        self.init(
            store: store, logger: logger, instance: instance, window: window, tick: tick, staleAfter: staleAfter,
            lease: lease, clock: clock, groups: [JobGroup(name: "jobs", jobs: jobs)])
    }

    public static var defaultInstance: String {
        "\(ProcessInfo.processInfo.hostName)/\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// What one pass did for one job.
    public struct Outcome: Sendable, Equatable {
        public var job: String
        public var ran: Date?
        public var late: Bool
        public var failed: Bool
        public var superseded: [Date]
        public var missed: [Date]
    }

    /// One pass over every group's jobs; returns what it did (jobs with nothing due are left out).
    @discardableResult
    public func runDue() async -> [Outcome] {
        var outcomes: [Outcome] = []
        for group in groups { outcomes += await pass(group, await group.jobs()) }
        return outcomes
    }

    /// One pass over `group`'s `jobs`: the due ones, at most `parallelism` at once, in job order.
    private func pass(_ group: JobGroup, _ jobs: [ScheduledJob]) async -> [Outcome] {
        await withTaskGroup(of: (Int, Outcome?).self) { tasks in
            var results: [(Int, Outcome?)] = []
            for (index, job) in jobs.enumerated() {
                if index >= group.parallelism, let done = await tasks.next() { results.append(done) }
                tasks.addTask { [self] in
                    do {
                        return (index, try await runDue(job))
                    } catch {
                        logger.error(
                            "scheduler could not run a job", metadata: ["job": "\(job.id)", "error": "\(error)"])
                        return (index, nil)
                    }
                }
            }
            for await done in tasks { results.append(done) }
            return results.sorted { $0.0 < $1.0 }.compactMap(\.1)
        }
    }

    private func runDue(_ job: ScheduledJob) async throws -> Outcome? {
        let date = clock.date
        let window = job.window ?? self.window
        let staleAfter = job.staleAfter ?? self.staleAfter
        let lease = self.lease ?? staleAfter
        let lastRun = try await store.lastJobRun(job: job.id)
        let since = max(lastRun?.scheduledFor ?? job.since, job.since)
        let plan = CatchUpPlan(schedule: job.schedule, timeZone: job.timeZone, since: since, now: date, window: window)
        if let lastRun, lastRun.status == .running, lastRun.claimedAt < date.addingTimeInterval(-lease) {
            if plan.run == nil, date.timeIntervalSince(lastRun.scheduledFor) <= window {
                return try await run(
                    job, at: lastRun.scheduledFor, late: true, outcome: nil,
                    staleBefore: date.addingTimeInterval(-lease))
            }
            try await store.finishJobRun(
                job: job.id, scheduledFor: lastRun.scheduledFor, status: .failed,
                detail: "\(lastRun.instance ?? "an instance") stopped midway and the run was not repeated"
                    + (plan.run == nil ? " (outside the catch-up window)" : " (a newer time ran instead)"),
                at: date, instance: nil)
        }
        // A failed run (the warehouse was down at 07:00) is tried again every `staleAfter` while
        // it is within the window and no newer time is due.
        if let lastRun, lastRun.status == .failed, plan.run == nil,
            date.timeIntervalSince(lastRun.scheduledFor) <= window,
            let finished = lastRun.finishedAt, finished < date.addingTimeInterval(-staleAfter)
        {
            let late = date.timeIntervalSince(lastRun.scheduledFor) > 120
            return try await run(
                job, at: lastRun.scheduledFor, late: late, outcome: nil,
                staleBefore: date.addingTimeInterval(-staleAfter))
        }
        guard plan.run != nil || !plan.superseded.isEmpty || !plan.missed.isEmpty else { return nil }
        let outcome = Outcome(
            job: job.id, ran: nil, late: false, failed: false, superseded: plan.superseded, missed: plan.missed)
        // Not run, but never silently: each time is recorded (and claimed, so no instance runs it later).
        for (times, status, why) in [
            (plan.superseded, JobRunRecord.Status.superseded, "a newer scheduled time ran instead"),
            (plan.missed, .missed, "more than \(Int(window / 60)) minutes ago when the scheduler came back"),
        ] {
            for time in times {
                _ = try await store.claimJobRun(
                    JobRunRecord(
                        job: job.id, scheduledFor: time, status: status, instance: instance, claimedAt: date,
                        finishedAt: date, detail: why), staleBefore: nil)
            }
        }
        if !plan.missed.isEmpty {
            logger.warning(
                "scheduled runs missed", metadata: ["job": "\(job.id)", "times": "\(plan.missed.count)"])
        }
        guard let (time, late) = plan.run else { return outcome }
        return try await run(job, at: time, late: late, outcome: outcome, staleBefore: nil)
    }

    /// Claims `time` of `job` (taking over a claim, or a failure, from before `staleBefore`), runs
    /// it and records the end.
    private func run(
        _ job: ScheduledJob, at time: Date, late: Bool, outcome: Outcome?, staleBefore: Date?
    ) async throws -> Outcome? {
        let date = clock.date
        let claimed = try await store.claimJobRun(
            JobRunRecord(
                job: job.id, scheduledFor: time, status: .running, late: late, instance: instance, claimedAt: date),
            staleBefore: staleBefore)
        var outcome =
            outcome ?? Outcome(job: job.id, ran: nil, late: false, failed: false, superseded: [], missed: [])
        guard claimed else { return outcome.superseded.isEmpty && outcome.missed.isEmpty ? nil : outcome }
        outcome.ran = time
        outcome.late = late
        do {
            let detail = try await renewingClaim(of: job, at: time) { try await job.run(time, late) }
            try await store.finishJobRun(
                job: job.id, scheduledFor: time, status: .succeeded, detail: detail, at: clock.date, instance: instance)
            logger.info(
                "scheduled job ran", metadata: ["job": "\(job.id)", "scheduled_for": "\(time)", "late": "\(late)"])
        } catch {
            outcome.failed = true
            try await store.finishJobRun(
                job: job.id, scheduledFor: time, status: .failed, detail: "\(error)", at: clock.date, instance: instance
            )
            logger.error("scheduled job failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
        return outcome
    }

    /// Runs `body` while renewing this instance's claim on `job`'s `time` every third of the
    /// ``lease`` (on the clock): a run that takes all night stays this instance's, and one whose
    /// instance died is free a lease after its last renewal. Without a lease, just `body`.
    private func renewingClaim(
        of job: ScheduledJob, at time: Date, _ body: @escaping @Sendable () async throws -> String?
    ) async throws -> String? {
        guard let lease else { return try await body() }
        return try await withThrowingTaskGroup(of: String??.self) { group in
            group.addTask { .some(try await body()) }
            group.addTask { [self] in
                var beat = clock.now
                while true {
                    beat = beat.advanced(by: .seconds(lease / 3))
                    do { try await clock.sleep(until: beat, tolerance: nil) } catch { return nil }
                    do {
                        if try await !store.renewJobRun(
                            job: job.id, scheduledFor: time, instance: instance, at: clock.date)
                        {
                            logger.warning(
                                "another instance took over a scheduled run this one still runs",
                                metadata: ["job": "\(job.id)", "scheduled_for": "\(time)"])
                            return nil
                        }
                    } catch {
                        // Tried again at the next beat; the claim lasts a whole lease.
                        logger.warning(
                            "could not renew a scheduled run's claim",
                            metadata: ["job": "\(job.id)", "error": "\(error)"])
                    }
                }
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let detail = next { return detail }
            }
            return nil
        }
    }

    /// Passes over each group until a graceful shutdown: the first pass at once (after the
    /// group's `onStart`), then at each of its jobs' next times or every ``tick``, whichever
    /// comes first. A pass under way when the shutdown comes finishes first.
    public func run() async throws {
        await withDiscardingTaskGroup { tasks in
            for group in groups {
                tasks.addTask { [self] in await run(group) }
            }
        }
    }

    private func run(_ group: JobGroup) async {
        await group.onStart?()
        var jobs: [ScheduledJob]
        repeat {
            // Read once per pass (delivery's jobs come from the state store): the pass and the
            // time of the next one use the same list.
            jobs = await group.jobs()
            _ = await pass(group, jobs)
        } while await clock.sleepUnlessStopping(until: nextPass(jobs))
    }

    /// The soonest of `jobs`' next scheduled times and the next tick.
    private func nextPass(_ jobs: [ScheduledJob]) -> WallInstant {
        let date = clock.date
        var next = clock.now.advanced(by: tick)
        for job in jobs {
            guard let fire = job.schedule.nextFire(after: date, in: job.timeZone) else { continue }
            next = min(next, WallInstant(fire))
        }
        return next
    }
}
