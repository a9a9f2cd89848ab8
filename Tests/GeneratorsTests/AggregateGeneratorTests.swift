import AlmanacCore
import AlmanacTestSupport
import Artifacts
import Catalog
import Foundation
import Generators
import Logging
import Rendering
import Scheduling
import Storage
import Testing
import Warehouse

/// A generator over the tiny demo company, writing into a temp folder.
struct GeneratorFixture {
    let directory: TemporaryDirectory
    let generator: AggregateGenerator
    let state: SQLiteStateStore
    let artifacts: ArtifactStore

    init(catalog: Catalog = TestWarehouse.demoCatalog) async throws {
        directory = try TemporaryDirectory(prefix: "almanac-generate")
        state = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await state.migrate()
        artifacts = ArtifactStore(root: directory.file("artifacts"))
        var logger = Logger(label: "generator-test")
        logger.logLevel = .critical
        generator = AggregateGenerator(
            catalog: catalog, warehouse: try TestWarehouse.open(), artifacts: artifacts,
            state: state, renderer: try await PageRenderer(webRoot: Repository.web), logger: logger,
            asOf: TestWarehouse.asOf, clock: ManualClock(now: Date(timeIntervalSince1970: 1_795_500_000)))
    }
}

@Suite(.timeLimit(.minutes(10))) struct AggregateGeneratorTests {
    @Test func aReportBecomesAnArtifactWithChartsTablesAndCSV() async throws {
        let fixture = try await GeneratorFixture()
        let report = try #require(TestWarehouse.demoCatalog.report("growth-overview"))
        let run = await fixture.generator.generate(report)
        #expect(run.error == nil)
        #expect(run.rows > 0)
        let version = try #require(fixture.artifacts.latest(id: "growth-overview"))
        #expect(version.files.contains("dashboard.html"))
        #expect(version.files.contains("dashboard.json"))
        for index in 1...report.panels.count {
            #expect(version.files.contains("panel-\(index).csv"))
        }
        #expect(
            run.bytes
                == version.files.reduce(0) { total, file in
                    total
                        + (fixture.artifacts.read(id: "growth-overview", version: version.name, file: file)?.count ?? 0)
                })
        let runs = try await fixture.state.recentRuns(kind: "generation", limit: 5)
        #expect(runs.first?.target == "growth-overview")
        #expect(runs.first?.rows == run.rows)

        // The CSV has one row per day of the 180-day range and the same numbers as the warehouse.
        let csv = String(
            decoding: fixture.artifacts.read(id: "growth-overview", version: version.name, file: "panel-1.csv")!,
            as: UTF8.self)
        let lines = csv.split(separator: "\n")
        #expect(lines.first == "period,Sign-ups,Previous year")
        #expect(lines.count == 181)
        #expect(lines.last?.hasPrefix("2026-11-25,") == true)

        // The dashboard page fragment embeds each chart and names its data.
        let html = String(
            decoding: fixture.artifacts.read(id: "growth-overview", version: version.name, file: "dashboard.html")!,
            as: UTF8.self)
        #expect(html.components(separatedBy: "<svg").count - 1 == 4)
        #expect(html.contains("Data table"))
        #expect(html.contains("/reports/growth-overview/panels/panel-1.csv"))
    }

    @Test func chartsCarryAnnotationsWhereTheirDatesFallAndBands() async throws {
        let fixture = try await GeneratorFixture()
        let report = try #require(TestWarehouse.demoCatalog.report("growth-overview"))
        _ = await fixture.generator.generate(report)
        let version = try #require(fixture.artifacts.latest(id: "growth-overview"))
        let svg = String(
            decoding: fixture.artifacts.read(id: "growth-overview", version: version.name, file: "panel-1.svg")!,
            as: UTF8.self)
        // The range is 2026-05-30 … 2026-11-25: the app marketplace launch (2026-09-15) is in it,
        // the mobile 2.0 launch (2025-06-17) is not.
        #expect(svg.contains("data-date=\"2026-09-15\""))
        #expect(!svg.contains("data-date=\"2025-06-17\""))
        #expect(svg.contains("class=\"band\""))
        #expect(svg.contains("class=\"comparison"))
        #expect(svg.contains("smoothed"))
        let json = try JSONDecoder().decode(
            DashboardModelProbe.self,
            from: fixture.artifacts.read(id: "growth-overview", version: version.name, file: "dashboard.json")!)
        #expect(json.panels.first?.notes.contains { $0.contains("Poisson") } == true)
        #expect(json.freshness.map(\.table).contains("users"))
    }

    @Test func aFailingReportIsRecordedAndDoesNotStopTheOthers() async throws {
        let directory = try TemporaryDirectory()
        let catalogPath = try CatalogFixture.copyDemo(into: directory)
        // The ad spend table does not exist in this warehouse under that name.
        try CatalogFixture.edit(
            catalogPath + "/sources/ad_spend.yaml", replacing: "table: ad_spend", with: "table: ad_spend_v2")
        let catalog = try #require(CatalogLoader.load(directory: catalogPath).catalog)
        let fixture = try await GeneratorFixture(catalog: catalog)
        let reports = ["ad-spend-efficiency", "growth-overview", "daily-signups"].compactMap {
            catalog.report(ReportID($0))
        }
        let runs = await fixture.generator.generate(reports, parallelism: 2)
        #expect(runs.count == 3)
        let failed = runs.filter { $0.error != nil }.map(\.target)
        #expect(failed == ["ad-spend-efficiency"])
        #expect(runs.first { $0.target == "ad-spend-efficiency" }?.error?.contains("ad_spend_v2") == true)
        #expect(fixture.artifacts.latest(id: "growth-overview") != nil)
        // Its panels that do not read ad spend are still served; the failed ones say why.
        let partial = try #require(fixture.artifacts.latest(id: "ad-spend-efficiency"))
        let html = String(
            decoding: fixture.artifacts.read(id: "ad-spend-efficiency", version: partial.name, file: "dashboard.html")!,
            as: UTF8.self)
        #expect(html.contains("This panel could not be computed"))
        #expect(runs.first { $0.target == "ad-spend-efficiency" }?.error?.contains("panels failed") == true)
        // The panels are computed together; the page keeps the catalog's order, each failure in
        // its own place.
        let model = try DashboardModel(
            json: #require(
                fixture.artifacts.read(id: "ad-spend-efficiency", version: partial.name, file: "dashboard.json")))
        let report = try #require(catalog.report(ReportID("ad-spend-efficiency")))
        #expect(model.panels.map(\.title) == report.panels.map(\.title))
        #expect(model.panels.map(\.index) == Array(1...report.panels.count))
        let failedTitles = Set(model.panels.filter { $0.error != nil }.map(\.title))
        #expect(failedTitles.isSuperset(of: ["Ad spend by campaign", "Cost per paid sign-up", "Impressions"]))
        #expect(!failedTitles.contains("Approved budget by network"), "campaign budgets do not read ad spend")
        let recorded = try await fixture.state.recentRuns(kind: "generation", limit: 10)
        #expect(recorded.count == 3)
        #expect(recorded.filter { $0.error != nil }.count == 1)
    }

    @Test func schedulesComeFromTheReportOrTheCatalog() throws {
        let catalog = TestWarehouse.demoCatalog
        let start = Date(timeIntervalSince1970: 1_795_500_000)  // 2026-11-24 05:20 UTC
        let due = ScheduledGeneration.nextRuns(catalog, after: start)
        #expect(!due.isEmpty)
        let next = try #require(due.first?.at)
        #expect(next > start)
        // Nothing else is due before the soonest.
        for report in catalog.reports where report.status == .active {
            let expression = report.schedule ?? catalog.settings.generationSchedule
            let fire = try #require(try? CronScheduleProbe.next(expression, after: start))
            #expect(fire >= next)
        }
        #expect(due.allSatisfy { $0.report.status == .active || $0.report.status == .deprecated })
    }
}

/// The parts of dashboard.json these tests read.
struct DashboardModelProbe: Decodable {
    struct Panel: Decodable { var notes: [String] }
    struct Freshness: Decodable { var table: String }
    var panels: [Panel]
    var freshness: [Freshness]
}

enum CronScheduleProbe {
    static func next(_ expression: String, after date: Date) throws -> Date {
        try CronSchedule(parsing: expression).nextFire(after: date, in: TimeZone(identifier: "UTC")!)!
    }
}

/// The nightly generation as jobs of the scheduler, on a manual clock: what has no dashboard is
/// generated at start, then each report when its schedule comes, once; when the clock jumps
/// over several reports' times, each of them runs once; two instances on one state store
/// generate each time once between them.
@Suite(.timeLimit(.minutes(10))) struct ScheduledGenerationTests {
    /// The demo catalog with two dashboards left generated: growth-overview at 05:00 and
    /// daily-signups at 06:30 (UTC); its state store, artifacts and a clock at 04:59:30.
    struct Fixture {
        let directory: TemporaryDirectory
        let catalog: CatalogStore
        let state: SQLiteStateStore
        let artifacts: ArtifactStore
        let renderer: PageRenderer
        let warehouse: any Warehouse
        let clock: ManualClock
        let logger: Logger
        let five = Date(timeIntervalSince1970: 1_795_669_200)  // 2026-11-26 05:00 UTC
        var start: Date { five.addingTimeInterval(-30) }

        init() async throws {
            directory = try TemporaryDirectory(prefix: "almanac-nightly")
            let catalogPath = try CatalogFixture.copyDemo(into: directory)
            let kept = ["growth-overview.yaml", "daily-signups.yaml"]
            for file in try FileManager.default.contentsOfDirectory(atPath: catalogPath + "/reports")
            where !kept.contains(file) {
                let path = catalogPath + "/reports/" + file
                let text = try String(contentsOfFile: path, encoding: .utf8)
                for status in ["status: active", "status: deprecated"] where text.contains(status) {
                    try CatalogFixture.edit(path, replacing: status, with: "status: draft")
                }
            }
            catalog = try CatalogStore(directory: catalogPath)
            state = try SQLiteStateStore(path: directory.file("state.sqlite"))
            try await state.migrate()
            artifacts = ArtifactStore(root: directory.file("artifacts"))
            renderer = try await PageRenderer(webRoot: Repository.web)
            warehouse = try TestWarehouse.open()
            clock = ManualClock(now: five.addingTimeInterval(-30))
            var logger = Logger(label: "nightly-test")
            logger.logLevel = .critical
            self.logger = logger
        }

        /// One instance's scheduler with the generation group alone.
        func scheduler(_ instance: String) -> JobScheduler {
            let generation = ScheduledGeneration(catalog: catalog, store: state, logger: logger, clock: clock) {
                [self] current in
                AggregateGenerator(
                    catalog: current, warehouse: warehouse, artifacts: artifacts, state: state, renderer: renderer,
                    logger: logger, asOf: TestWarehouse.asOf, clock: clock)
            }
            return JobScheduler(
                store: state, logger: logger, instance: instance, clock: clock, groups: [generation.group])
        }

        func runs(_ report: String) async throws -> [Date] {
            try await state.recentRuns(kind: "generation", limit: 100).filter { $0.target == report }.map(\.startedAt)
                .sorted()
        }
    }

    @Test func eachReportIsGeneratedWhenItsScheduleComesAndOnce() async throws {
        let fixture = try await Fixture()
        let (clock, start, five) = (fixture.clock, fixture.start, fixture.five)
        let nextDay = five.addingTimeInterval(86_400)
        try await whileRunning([fixture.scheduler("a")]) { () async throws in
            await clock.sleepers(atLeast: 1)
            #expect(try await fixture.runs("growth-overview") == [start], "the missing dashboards, at start")
            #expect(try await fixture.runs("daily-signups") == [start])
            clock.advance(by: .seconds(29))
            await clock.sleepers(atLeast: 1)
            #expect(try await fixture.runs("growth-overview") == [start], "04:59:59: not yet")
            clock.advance(by: .seconds(1))
            await clock.sleepers(atLeast: 1)
            #expect(try await fixture.runs("growth-overview") == [start, five], "05:00: generated, on the second")
            for _ in 0..<5 {
                clock.advance(by: .seconds(60))
                await clock.sleepers(atLeast: 1)
            }
            #expect(try await fixture.runs("growth-overview") == [start, five], "once")
            // The clock jumps a day: over daily-signups' 06:30 and the next 05:00. Each runs, once.
            clock.advance(to: nextDay)
            await clock.sleepers(atLeast: 1)
            #expect(try await fixture.runs("growth-overview") == [start, five, nextDay])
            #expect(try await fixture.runs("daily-signups") == [start, nextDay])
        }
        #expect(
            try await fixture.state.recentRuns(kind: "generation", limit: 100).count == 5, "nothing else was generated")
        let log = try await fixture.state.recentJobRuns(job: "generation/daily-signups", limit: 10)
        #expect(log.map(\.status) == [.succeeded, .succeeded] && log.first?.late == true, "06:30 caught up, late")
        #expect(log.last?.detail == "generated at start: it had no dashboard yet", "the start stood for yesterday's")
    }

    @Test func twoInstancesOnOneStateStoreGenerateEachTimeOnce() async throws {
        let fixture = try await Fixture()
        let (clock, five) = (fixture.clock, fixture.five)
        let (first, second) = (fixture.scheduler("a"), fixture.scheduler("b"))
        // Neither has generated anything: yesterday's times are within the day, so they are
        // caught up, late, by one of the two.
        let caughtUp = await first.runDue() + second.runDue()
        #expect(caughtUp.compactMap(\.ran).count == 2 && caughtUp.allSatisfy { $0.ran == nil || $0.late })
        #expect(try await fixture.runs("growth-overview").count == 1)
        clock.advance(to: five)
        let outcomes = await first.runDue() + second.runDue()
        #expect(outcomes.compactMap(\.ran) == [five], "growth-overview's 05:00, by one instance")
        #expect(try await fixture.runs("growth-overview").count == 2)
        let log = try await fixture.state.recentJobRuns(job: "generation/growth-overview", limit: 10)
        #expect(log.count == 2 && log.first?.instance == "a" && log.first?.status == .succeeded)
    }

    /// A portal down over 05:00 generates it late when it comes back, within the day; one that
    /// comes back more than a day later does not run the old times (the next one comes).
    @Test func aTimeMissedWhileDownIsGeneratedLateOnReturn() async throws {
        let fixture = try await Fixture()
        let (clock, five) = (fixture.clock, fixture.five)
        clock.advance(to: five)
        _ = await fixture.scheduler("a").runDue()
        let before = try await fixture.runs("growth-overview").count
        // Down from 05:01 until 09:00 the next day: the next day's 05:00 passed meanwhile.
        clock.advance(to: five.addingTimeInterval(86_400 + 4 * 3600))
        let outcomes = await fixture.scheduler("a").runDue()
        let growth = try #require(outcomes.first { $0.job == "generation/growth-overview" })
        #expect(growth.ran == five.addingTimeInterval(86_400) && growth.late)
        #expect(try await fixture.runs("growth-overview").count == before + 1)
    }
}
