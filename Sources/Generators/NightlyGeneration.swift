public import AlmanacCore
import Artifacts
public import Catalog
public import Foundation
public import Logging
import Scheduling
public import ServiceLifecycle
import Storage

/// Runs each dashboard's generation on its schedule (the report's own `schedule`, else
/// `generation.schedule` from almanac.yaml) while the portal runs.
///
/// It wakes at the next due time of any report (and at least every minute, to see schedule
/// edits), generates every report whose time has come since it last looked with the catalog's
/// bounded parallelism, and ends on graceful shutdown between runs rather than in the middle
/// of writing an artifact. External reports are not generated and have no schedule here.
public struct NightlyGenerationService: Service {
    public let catalog: CatalogStore
    public let makeGenerator: @Sendable (Catalog) -> AggregateGenerator
    public let logger: Logger
    /// Decides when schedules are due; the system clock outside tests.
    public let clock: any WallClock
    /// When the service was built: schedules count from here.
    let createdAt: Date

    public init(
        catalog: CatalogStore, logger: Logger, clock: any WallClock = SystemClock(),
        makeGenerator: @escaping @Sendable (Catalog) -> AggregateGenerator
    ) {
        self.catalog = catalog
        self.logger = logger
        self.clock = clock
        self.createdAt = clock.date
        self.makeGenerator = makeGenerator
    }

    public func run() async throws {
        // A fresh install (or a new report) should not wait for the night: generate every
        // report that has no dashboard yet, then follow the schedule. Schedules count from when
        // the service was built: a time that comes before it runs, or during that first
        // generation, still runs (a report just generated as missing runs again at its time).
        var last = createdAt
        let current = catalog.current
        let generator = makeGenerator(current)
        let missing = generator.generatableReports.filter { generator.artifacts.latest(id: $0.id.rawValue) == nil }
        if !missing.isEmpty {
            logger.info("generating reports that have no dashboard yet", metadata: ["reports": "\(missing.count)"])
            _ = await generator.generate(missing, parallelism: current.settings.parallelism)
        }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let current = catalog.current
            let due = Self.nextRuns(current, after: last)
            // Wake at the next due time, or within a minute, so that a catalog edit that changes
            // schedules is seen.
            let wake = clock.now.advanced(by: .seconds(60))
            guard await clock.sleepUnlessStopping(until: min(wake, due.first.map { WallInstant($0.at) } ?? wake))
            else { break }
            let now = clock.date
            // Every report with a time since the last look, not only the soonest: times that
            // passed during a long generation (or while the clock jumped) are not skipped.
            let reports = Self.dueRuns(current, after: last, through: now)
            guard !reports.isEmpty else { continue }
            last = now
            logger.info("scheduled generation", metadata: ["reports": "\(reports.count)"])
            let runs = await makeGenerator(current).generate(reports, parallelism: current.settings.parallelism)
            let failed = runs.filter { $0.error != nil }
            if !failed.isEmpty {
                logger.warning("scheduled generation had failures", metadata: ["failed": "\(failed.map(\.target))"])
            }
        }
    }

    /// The generated reports with a scheduled time after `last` and at or before `now`.
    public static func dueRuns(_ catalog: Catalog, after last: Date, through now: Date) -> [Report] {
        let zone = TimeZone(identifier: catalog.settings.timezone) ?? .gmt
        return scheduledReports(catalog).filter { report, schedule in
            schedule.nextFire(after: last, in: zone).map { $0 <= now } ?? false
        }.map(\.report).sorted { $0.id < $1.id }
    }

    /// The reports the schedule generates (active and deprecated dashboards) with their schedules.
    static func scheduledReports(_ catalog: Catalog) -> [(report: Report, schedule: CronSchedule)] {
        catalog.reports.compactMap { report in
            guard report.kind == .dashboard, report.status == .active || report.status == .deprecated,
                let schedule = try? CronSchedule(parsing: report.schedule ?? catalog.settings.generationSchedule)
            else { return nil }
            return (report, schedule)
        }
    }

    /// Each generated report with its next fire time after `date`, soonest first.
    public static func nextRuns(_ catalog: Catalog, after date: Date) -> [(report: Report, at: Date)] {
        let zone = TimeZone(identifier: catalog.settings.timezone) ?? .gmt
        var result: [(Report, Date)] = []
        for (report, schedule) in scheduledReports(catalog) {
            guard let next = schedule.nextFire(after: date, in: zone) else { continue }
            result.append((report, next))
        }
        let soonest = result.map(\.1).min()
        // Reports due at the soonest time run together.
        return result.filter { $0.1 == soonest }.sorted { $0.0.id < $1.0.id }
    }
}
