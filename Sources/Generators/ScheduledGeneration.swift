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
/// down at the time catches up on its return (within a day). Before the first pass, reports
/// that have no dashboard yet are generated, so a fresh install does not wait for the night.
/// External reports are not generated and have no schedule here.
public struct ScheduledGeneration: Sendable {
    public let catalog: CatalogStore
    public let makeGenerator: @Sendable (Catalog) -> AggregateGenerator
    public let logger: Logger
    /// When the schedule was set up: a report's times count from here until it has run once.
    let since: Date
    /// How late a generation is still worth doing: a dashboard a few hours late beats yesterday's.
    public static let window: TimeInterval = 24 * 3600

    public init(
        catalog: CatalogStore, logger: Logger, clock: any WallClock = SystemClock(),
        makeGenerator: @escaping @Sendable (Catalog) -> AggregateGenerator
    ) {
        self.catalog = catalog
        self.logger = logger
        self.since = clock.date
        self.makeGenerator = makeGenerator
    }

    /// The scheduler's group: the catalog's parallelism, the missing dashboards first.
    public var group: JobGroup {
        JobGroup(
            name: "generation", parallelism: catalog.current.settings.parallelism,
            onStart: { await generateMissing() }, jobs: { jobs() })
    }

    /// Generates every report that has no dashboard yet (a fresh install, a new report).
    public func generateMissing() async {
        let current = catalog.current
        let generator = makeGenerator(current)
        let missing = generator.generatableReports.filter { generator.artifacts.latest(id: $0.id.rawValue) == nil }
        guard !missing.isEmpty else { return }
        logger.info("generating reports that have no dashboard yet", metadata: ["reports": "\(missing.count)"])
        _ = await generator.generate(missing, parallelism: current.settings.parallelism)
    }

    /// The job id of `report`'s generation.
    public static func jobID(_ report: ReportID) -> String { "generation/\(report)" }

    /// One job per generated report, in the catalog's time zone.
    public func jobs() -> [ScheduledJob] {
        let current = catalog.current
        let zone = TimeZone(identifier: current.settings.timezone) ?? .gmt
        return Self.scheduledReports(current).map { report, schedule in
            ScheduledJob(
                id: Self.jobID(report.id), schedule: schedule, timeZone: zone, since: since, window: Self.window
            ) { [catalog, makeGenerator] _, _ in
                // The catalog as it is when the time comes (the report may have changed since).
                let current = catalog.current
                guard let report = current.report(report.id) else { return "no longer in the catalog" }
                let run = await makeGenerator(current).generate(report)
                if let error = run.error { throw GenerationError(error) }
                return "\(run.rows) rows, \(run.bytes) bytes in \(run.durationMilliseconds) ms"
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
