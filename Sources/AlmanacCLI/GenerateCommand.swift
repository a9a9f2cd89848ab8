import AlmanacCore
import ArgumentParser
import Artifacts
import Catalog
import Composition
import Foundation
import Generators
import Lifecycle
import Logging
import Pages
import Rendering
import Storage
import Warehouse

struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate aggregate dashboards now (what the nightly schedule does).",
        discussion: """
            Each report is computed from the warehouse, rendered (HTML, SVG, CSV, JSON) and written \
            atomically as a new artifact version; the portal serves the newest. A failing report is \
            reported and recorded, and does not stop the others. Exits 1 if any report failed.
            """)

    @Option(help: "Generate only this report.")
    var report: String?

    @Flag(help: "Generate every active and deprecated report.")
    var all = false

    @OptionGroup var catalogOption: CatalogOption

    @OptionGroup var warehouse: WarehouseOption

    @OptionGroup var state: StateOption

    @OptionGroup var artifactsOption: ArtifactsOption

    @OptionGroup var asOf: AsOfOption

    @Option(help: "Reports generated at once (default: generation.parallelism in almanac.yaml).")
    var parallelism: Int?

    @OptionGroup var web: WebOption

    func validate() throws {
        guard (report == nil) != !all else { throw ValidationError("pass either --report ID or --all") }
        _ = try warehouse.required("reports are generated from it")
        try warehouse.checkReadable()
        if let parallelism, !(1...64).contains(parallelism) {
            throw ValidationError("--parallelism must be between 1 and 64")
        }
    }

    func run() async throws {
        LoggingBootstrap.once(level: .warning)
        let location = try warehouse.required("reports are generated from it")
        let catalog = catalogOption.directory
        let artifacts = artifactsOption.directory()
        let stores = try Stores.opened(catalog: catalog, state: state.location(), warehouse: .location(location))
        let declared = stores.catalog.current
        let stateStore = try await stores.migrated()
        guard let warehouseConnection = stores.warehouse else { return }
        // Reports retired in the portal are not generated, as in the portal's own schedule.
        let catalogValue = try await LifecycleLedger.effective(declared, state: stateStore)
        var reports: [Report] = []
        if let report {
            guard let found = catalogValue.report(ReportID(report)) else {
                let hint =
                    closestMatch(to: report, in: catalogValue.reports.map(\.id.rawValue)).map {
                        " (did you mean '\($0)'?)"
                    } ?? ""
                printError("--report '\(report)' is not a report in \(catalog)/reports\(hint)")
                throw ExitCode(1)
            }
            reports = [found]
        }
        guard let webRoot = PageRenderer.locateWebRoot(web.directory) else {
            printError("cannot find the portal's Web/ folder (templates); pass --web DIR")
            throw ExitCode(1)
        }
        var logger = Logger(label: "almanac.generate")
        logger.logLevel = .warning
        let generator = AggregateGenerator(
            catalog: catalogValue, warehouse: warehouseConnection, artifacts: ArtifactStore(root: artifacts),
            state: stateStore, renderer: try await PageRenderer(webRoot: webRoot), logger: logger,
            asOf: asOf.day
                ?? CalendarDay.yesterday(in: TimeZone(identifier: catalogValue.settings.timezone) ?? .gmt))
        if report == nil { reports = generator.generatableReports }
        let started = ContinuousClock.now
        let runs = await generator.generate(
            reports, parallelism: parallelism ?? catalogValue.settings.parallelism, progress: ConsoleProgress())
        await warehouseConnection.close()
        let failed = runs.filter { $0.error != nil }
        for run in runs.sorted(by: { $0.target < $1.target }) {
            if let error = run.error {
                print("✗ \(run.target): \(error)")
            } else {
                print(
                    "✓ \(run.target): \(run.rows.formatted()) rows, \(run.bytes.formatted()) bytes, \(run.durationMilliseconds) ms"
                )
            }
        }
        print(
            "Generated \(runs.count - failed.count) of \(runs.count) report\(runs.count == 1 ? "" : "s") into \(artifacts) in \((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))"
        )
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
