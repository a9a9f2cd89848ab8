public import AlmanacCore
import Artifacts
public import Catalog
public import Foundation
public import Logging
public import Scheduling
import Storage

/// Each dashboard's generation on its schedule (the report's own `schedule`, else
/// `generation.schedule` from almanac.yaml), as jobs of the portal's one ``JobScheduler``.
///
/// One job per generated report, `generation/<report>`: its scheduled time is claimed in the
/// state store, so portals sharing one store generate each night once, and a portal that was
/// down at the time generates it late on its return (within a day). Before the first pass,
/// reports that have no dashboard yet are generated, so a fresh install does not wait for the
/// night; that generation stands for the report's latest scheduled time, which is not run again.
/// A run that writes its dashboard with some panels failed counts as done (the dashboard shows
/// them); one that writes nothing is tried again every two hours within the day. External
/// reports are not generated and have no schedule here.
public struct ScheduledGeneration: Sendable {
    public let catalog: CatalogStore
    public let makeGenerator: @Sendable (Catalog) -> AggregateGenerator
    public let logger: Logger
    /// Where scheduled times are claimed (the state store).
    public let store: any JobRunStore
    let clock: any WallClock
    /// A day before the schedule was set up: a report's times count from here (so a time missed
    /// while the portal was down is caught up) until it has run once.
    let since: Date
    /// How late a generation is still worth doing: a dashboard a few hours late beats yesterday's.
    public static let window: TimeInterval = 24 * 3600
    /// How long after a failure a generation is tried again; also how long a claimed one may run
    /// before another instance takes it over when the scheduler has no lease to renew (far
    /// beyond the longest report, so a slow one is never generated twice).
    public static let staleAfter: TimeInterval = 2 * 3600

    public init(
        catalog: CatalogStore, store: any JobRunStore, logger: Logger, clock: any WallClock = SystemClock(),
        makeGenerator: @escaping @Sendable (Catalog) -> AggregateGenerator
    ) {
        self.catalog = catalog
        self.store = store
        self.logger = logger
        self.clock = clock
        self.since = clock.date.addingTimeInterval(-Self.window)
        self.makeGenerator = makeGenerator
    }

    /// The scheduler's group: the catalog's parallelism, the missing dashboards first.
    public var group: JobGroup {
        JobGroup(
            name: "generation", parallelism: catalog.current.settings.parallelism,
            onStart: { await generateMissing() }, jobs: { jobs() })
    }

    /// Generates every report that has no dashboard yet (a fresh install, a new report), and
    /// records each as its latest scheduled time's run, so the first pass does not repeat it.
    public func generateMissing() async {
        let current = catalog.current
        let generator = makeGenerator(current)
        let missing = generator.generatableReports.filter { generator.artifacts.latest(id: $0.id.rawValue) == nil }
        guard !missing.isEmpty else { return }
        logger.info("generating reports that have no dashboard yet", metadata: ["reports": "\(missing.count)"])
        let runs = await generator.generate(missing, parallelism: current.settings.parallelism)
        let zone = TimeZone(identifier: current.settings.timezone) ?? .gmt
        let now = clock.date
        for (report, schedule) in Self.scheduledReports(current) {
            guard let run = runs.first(where: { $0.target == report.id.rawValue }), run.bytes > 0,
                let latest = schedule.fires(after: since, through: now, in: zone).last
            else { continue }
            _ = try? await store.claimJobRun(
                JobRunRecord(
                    job: Self.jobID(report.id), scheduledFor: latest, status: .succeeded, claimedAt: now,
                    finishedAt: now, detail: "generated at start: it had no dashboard yet"), staleBefore: nil)
        }
    }

    /// The job id of `report`'s generation.
    public static func jobID(_ report: ReportID) -> String { "generation/\(report)" }

    /// One job per generated report, in the catalog's time zone.
    public func jobs() -> [ScheduledJob] {
        let current = catalog.current
        let zone = TimeZone(identifier: current.settings.timezone) ?? .gmt
        return Self.scheduledReports(current).map { report, schedule in
            ScheduledJob(
                id: Self.jobID(report.id), schedule: schedule, timeZone: zone, since: since, window: Self.window,
                staleAfter: Self.staleAfter
            ) { [catalog, makeGenerator] _, _ in
                // The catalog as it is when the time comes (the report may have changed since).
                let current = catalog.current
                guard let report = current.report(report.id) else { return "no longer in the catalog" }
                let run = await makeGenerator(current).generate(report)
                let written = "\(run.rows) rows, \(run.bytes) bytes in \(run.durationMilliseconds) ms"
                guard let error = run.error else { return written }
                // Nothing written: tried again later. Written with failed panels: done, as shown.
                if run.bytes == 0 { throw GenerationError(error) }
                return written + "; \(error)"
            }
        }
    }

    /// The reports the schedule generates (active and deprecated dashboards) with their schedules.
    public static func scheduledReports(_ catalog: Catalog) -> [(report: Report, schedule: CronSchedule)] {
        catalog.reports.compactMap { report in
            guard report.kind == .dashboard, report.status == .active || report.status == .deprecated,
                let schedule = try? CronSchedule(parsing: report.schedule ?? catalog.settings.generationSchedule)
            else { return nil }
            return (report, schedule)
        }.sorted { $0.report.id < $1.report.id }
    }

    /// Each generated report with its next fire time after `date`, soonest first; reports due
    /// at the soonest time come together.
    public static func nextRuns(_ catalog: Catalog, after date: Date) -> [(report: Report, at: Date)] {
        let zone = TimeZone(identifier: catalog.settings.timezone) ?? .gmt
        var result: [(Report, Date)] = []
        for (report, schedule) in scheduledReports(catalog) {
            guard let next = schedule.nextFire(after: date, in: zone) else { continue }
            result.append((report, next))
        }
        let soonest = result.map(\.1).min()
        return result.filter { $0.1 == soonest }.sorted { $0.0.id < $1.0.id }
    }
}
