public import AlmanacCore
public import Foundation
public import Logging
public import Scheduling
public import ServiceLifecycle
public import Storage

/// A job the scheduler runs at the times of its cron schedule, in its time zone.
public struct ScheduledJob: Sendable {
    /// Unique and stable across restarts: `subscription/daily-signups`, `trigger/major-customer-drop`.
    public var id: String
    public var schedule: CronSchedule
    public var timeZone: TimeZone
    /// When the job first existed (its subscription first appeared in the catalog): times before
    /// it are never caught up.
    public var since: Date
    /// Runs the job for its scheduled time; returns a line for the log (what was sent) or throws.
    public var run: @Sendable (_ scheduledFor: Date, _ late: Bool) async throws -> String?

    public init(
        id: String, schedule: CronSchedule, timeZone: TimeZone, since: Date,
        run: @escaping @Sendable (_ scheduledFor: Date, _ late: Bool) async throws -> String?
    ) {
        self.id = id
        self.schedule = schedule
        self.timeZone = timeZone
        self.since = since
        self.run = run
    }
}

/// Runs scheduled jobs exactly once per scheduled time, across restarts and across portal
/// instances sharing one state store.
///
/// Each pass looks, per job, at the times since the last one recorded (or since the job first
/// existed). The newest within the catch-up window is claimed (an insert that only one instance
/// can make) and run, marked late when it is more than two minutes past; older ones are recorded
/// as superseded, and those outside the window as missed, so a restart neither sends twice nor
/// skips silently. A run whose instance stopped midway (still `running` after ``staleAfter``) is
/// taken over and run again, late, while it is within the window; jobs compose idempotent
/// deliveries, so running one twice sends nothing twice.
public final class JobScheduler: Service, Sendable {
    public let state: any StateStore
    public let logger: Logger
    /// Names this instance in the log (host and process).
    public let instance: String
    /// How long after its time a run is still worth sending.
    public let window: TimeInterval
    public let tick: Duration
    /// How long a claimed run may stay `running` before another pass takes it over.
    public let staleAfter: TimeInterval
    let jobs: @Sendable () async -> [ScheduledJob]
    let clock: any WallClock

    public init(
        state: any StateStore, logger: Logger, instance: String = JobScheduler.defaultInstance,
        window: TimeInterval = 6 * 3600, tick: Duration = .seconds(20), staleAfter: TimeInterval = 15 * 60,
        clock: any WallClock = SystemClock(),
        jobs: @escaping @Sendable () async -> [ScheduledJob]
    ) {
        self.state = state
        self.logger = logger
        self.instance = instance
        self.window = window
        self.tick = tick
        self.staleAfter = staleAfter
        self.clock = clock
        self.jobs = jobs
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

    /// One pass over every job; returns what it did (jobs with nothing due are left out).
    @discardableResult
    public func runDue() async -> [Outcome] {
        var outcomes: [Outcome] = []
        for job in await jobs() {
            do {
                if let outcome = try await runDue(job) { outcomes.append(outcome) }
            } catch {
                logger.error("scheduler could not run a job", metadata: ["job": "\(job.id)", "error": "\(error)"])
            }
        }
        return outcomes
    }

    private func runDue(_ job: ScheduledJob) async throws -> Outcome? {
        let date = clock.date
        let lastRun = try await state.lastJobRun(job: job.id)
        let since = max(lastRun?.scheduledFor ?? job.since, job.since)
        let plan = CatchUpPlan(schedule: job.schedule, timeZone: job.timeZone, since: since, now: date, window: window)
        if let lastRun, lastRun.status == .running, lastRun.claimedAt < date.addingTimeInterval(-staleAfter) {
            if plan.run == nil, date.timeIntervalSince(lastRun.scheduledFor) <= window {
                return try await run(job, at: lastRun.scheduledFor, late: true, outcome: nil, staleBefore: date)
            }
            try await state.finishJobRun(
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
            return try await run(job, at: lastRun.scheduledFor, late: late, outcome: nil, staleBefore: date)
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
                _ = try await state.claimJobRun(
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

    /// Claims `time` of `job` (taking over a claim older than `staleBefore`), runs it and records the end.
    private func run(
        _ job: ScheduledJob, at time: Date, late: Bool, outcome: Outcome?, staleBefore: Date?
    ) async throws -> Outcome? {
        let date = clock.date
        let claimed = try await state.claimJobRun(
            JobRunRecord(
                job: job.id, scheduledFor: time, status: .running, late: late, instance: instance, claimedAt: date),
            staleBefore: staleBefore.map { $0.addingTimeInterval(-staleAfter) })
        var outcome =
            outcome ?? Outcome(job: job.id, ran: nil, late: false, failed: false, superseded: [], missed: [])
        guard claimed else { return outcome.superseded.isEmpty && outcome.missed.isEmpty ? nil : outcome }
        outcome.ran = time
        outcome.late = late
        do {
            let detail = try await job.run(time, late)
            try await state.finishJobRun(
                job: job.id, scheduledFor: time, status: .succeeded, detail: detail, at: clock.date, instance: instance)
            logger.info(
                "scheduled job ran", metadata: ["job": "\(job.id)", "scheduled_for": "\(time)", "late": "\(late)"])
        } catch {
            outcome.failed = true
            try await state.finishJobRun(
                job: job.id, scheduledFor: time, status: .failed, detail: "\(error)", at: clock.date, instance: instance
            )
            logger.error("scheduled job failed", metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
        return outcome
    }

    /// Passes every `tick` on the clock until a graceful shutdown; the first one at once.
    public func run() async throws {
        var ticker = Ticker(every: tick, on: clock)
        repeat {
            await runDue()
        } while await ticker.tick()
    }
}
