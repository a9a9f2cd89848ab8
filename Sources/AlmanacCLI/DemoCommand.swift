import AlmanacCore
import ArgumentParser
import Catalog
import DemoCompany
import Foundation
import Warehouse

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Prepare the demo company (Larkspur) if missing, then serve its portal.",
        discussion: """
            Writes a deterministic synthetic warehouse to DIR/warehouse.sqlite (two years of \
            a SaaS company's sign-ups, events, billing, CRM, errors and experiments), keeps \
            Almanac's state in DIR/state.sqlite, and serves the repository's Catalog/ on \
            loopback with anonymous local access.
            """)

    @Option(help: "Where the demo's warehouse and state live.")
    var dir: String = "var/demo"

    @Option(help: "Size multiplier: 1 writes ≥ 2,000,000 events and ≥ 100,000 users; 25 writes ≥ 50,000,000 events.")
    var scale: Int = 1

    @Option(help: "Seed of the generator; the same seed, scale and --as-of give the same data.")
    var seed: UInt64 = 42

    @Option(help: "Last day of the demo's history (YYYY-MM-DD; default: yesterday, UTC, so the data looks fresh).")
    var asOf: String?

    @Option(help: "The demo catalog folder. (env: ALMANAC_CATALOG)")
    var catalog: String = EnvironmentDefaults.catalog ?? "Catalog"

    @Option(
        help: """
            Also load the demo company into this PostgreSQL warehouse (postgres://…), typed by the \
            catalog's sources, and serve from it.
            """)
    var warehouse: String?

    @Flag(help: "Regenerate the warehouse even if one with the same options exists.")
    var force = false

    @Flag(help: "Prepare the demo company, then exit without serving.")
    var noServe = false

    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard (1...100).contains(scale) else {
            throw ValidationError("--scale must be between 1 and 100, got \(scale)")
        }
        if let asOf, CalendarDay(parsing: asOf) == nil {
            throw ValidationError("--as-of '\(asOf)' is not a date (YYYY-MM-DD)")
        }
    }

    func run() async throws {
        let asOf = self.asOf ?? CalendarDay.yesterday().description
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let warehousePath = (dir as NSString).appendingPathComponent("warehouse.sqlite")
        let manifestPath = (dir as NSString).appendingPathComponent("demo.json")
        let options = DemoCompanyOptions(seed: seed, scale: scale, asOf: asOf)
        let manifest = "{\"seed\":\(seed),\"scale\":\(scale),\"asOf\":\"\(asOf)\"}"
        let existing = (try? String(contentsOfFile: manifestPath, encoding: .utf8)) ?? ""
        if force || existing != manifest || !FileManager.default.fileExists(atPath: warehousePath) {
            print(
                "Writing the demo company's warehouse to \(warehousePath) (scale \(scale), seed \(seed), as of \(asOf))…"
            )
            let started = ContinuousClock.now
            let summary = try DemoCompany.write(to: warehousePath, options: options, progress: ConsoleProgress())
            try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
            let total = summary.rowCounts.values.reduce(0, +)
            print(
                "Wrote \(total.formatted()) rows in \((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))): "
                    + summary.rowCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.formatted())" }.joined(
                        separator: ", "))
        } else {
            print("Using the existing demo warehouse at \(warehousePath).")
        }
        if let target = warehouse {
            let loaded = CatalogLoader.load(directory: catalog)
            guard let catalogValue = loaded.catalog else {
                printError("the catalog in '\(catalog)' has errors; run 'almanac catalog check \(catalog)'")
                throw ExitCode(1)
            }
            print("Loading the demo company into \(WarehouseLocation.redacted(target))…")
            let started = ContinuousClock.now
            let writer = try WarehouseWriters.open(target)
            let counts = try await WarehouseCopier.copy(
                fromSQLite: warehousePath, to: writer, sources: catalogValue.sources, progress: ConsoleProgress())
            await writer.close()
            print(
                "Loaded \(counts.values.reduce(0, +).formatted()) rows into \(counts.count) tables in \((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))."
            )
        }
        if noServe { return }
        var server = server
        server.allowAnonymousLoopback = true
        if !["127.0.0.1", "::1", "localhost"].contains(server.host) {
            printError(
                "the demo serves anonymous admin access and only listens on loopback; use 'almanac serve' for --host \(server.host)"
            )
            throw ExitCode(1)
        }
        print("Almanac demo portal: http://\(server.host):\(server.port)/  (Ctrl-C to stop)")
        try await Serving.run(
            catalog: catalog, state: (dir as NSString).appendingPathComponent("state.sqlite"), server: server,
            dashboards: Serving.Dashboards(
                warehouse: warehouse ?? warehousePath, artifacts: (dir as NSString).appendingPathComponent("artifacts"),
                asOf: CalendarDay(parsing: asOf), schedule: true))
    }
}
