import AlmanacCore
import ArgumentParser
import Catalog
import Composition
import Delivery
import DemoApps
import DemoCompany
import Foundation
import Lifecycle
import Portal
import Rendering
import ServiceLifecycle
import Storage
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

    @Option(help: "Size multiplier: 1 writes 6,500,000 events and ≥ 100,000 users; 8 writes ≥ 50,000,000 events.")
    var scale: Int = 1

    @Option(help: "Seed of the generator; the same seed, scale and --as-of give the same data.")
    var seed: UInt64 = 42

    @Option(help: "Last day of the demo's history (YYYY-MM-DD; default: yesterday, UTC, so the data looks fresh).")
    var asOf: String?

    @OptionGroup var catalogOption: CatalogOption

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

    @Flag(
        help: """
            Serve the portal alone, without the teams' report apps (Datasette for support-insights on \
            :8601, the experiment notebook on :8602), the receiver of the demo's webhooks and tasks \
            (:9000) and the live product events.
            """)
    var noApps = false

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
        let catalog = catalogOption.directory
        let asOf = self.asOf ?? CalendarDay.yesterday().description
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let warehousePath = (dir as NSString).appendingPathComponent("warehouse.sqlite")
        let manifestPath = (dir as NSString).appendingPathComponent("demo.json")
        let options = DemoCompanyOptions(seed: seed, scale: scale, asOf: asOf)
        /// What the warehouse in `dir` was written with: the same options reuse it.
        struct Manifest: Codable, Equatable {
            var seed: UInt64
            var scale: Int
            var asOf: String
            /// The generator's version: a warehouse an older generator wrote is written again.
            var version: Int?
        }
        let manifest = Manifest(seed: seed, scale: scale, asOf: asOf, version: DemoCompany.version)
        let existing = FileManager.default.contents(atPath: manifestPath).flatMap {
            try? JSONDecoder().decode(Manifest.self, from: $0)
        }
        if force || existing != manifest || !FileManager.default.fileExists(atPath: warehousePath) {
            print(
                "Writing the demo company's warehouse to \(warehousePath) (scale \(scale), seed \(seed), as of \(asOf))…"
            )
            let started = ContinuousClock.now
            let summary = try DemoCompany.write(to: warehousePath, options: options, progress: ConsoleProgress())
            try JSONEncoder().encode(manifest).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
            let total = summary.rowCounts.values.reduce(0, +)
            print(
                "Wrote \(total.formatted()) rows in \((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1)))): "
                    + summary.rowCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.formatted())" }.joined(
                        separator: ", "))
        } else {
            print("Using the existing demo warehouse at \(warehousePath).")
        }
        if let target = warehouse {
            let catalogValue = try Stores.opened(catalog: catalog, state: nil, warehouse: nil).catalog.current
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
        try await DemoUsageHistory.seedIfEmpty(
            statePath: (dir as NSString).appendingPathComponent("state.sqlite"), catalog: catalog, seed: seed,
            now: Date())
        if noServe { return }
        var server = server
        server.allowAnonymousLoopback = true
        // A newcomer's terminal keeps to what matters: warnings, and the few notices.
        if server.logLevelOption == nil { server.logLevelOption = "notice" }
        if !["127.0.0.1", "::1", "localhost"].contains(server.host) {
            printError(
                "the demo serves anonymous admin access and only listens on loopback; use 'almanac serve' for --host \(server.host)"
            )
            throw ExitCode(1)
        }
        // A history that ends yesterday (the default) goes on while the demo runs; one that ended
        // further back stays as it was, and its sources read as stale, as they should.
        let live =
            !noApps && warehouse == nil && (CalendarDay(parsing: asOf).map { $0 >= CalendarDay.yesterday() } ?? false)
        if live {
            let added = try await LiveEvents(warehouse: warehousePath, logger: server.makeLogger()).catchUp(
                until: Date())
            print(
                "Appended \((added["events"] ?? 0).formatted()) product events and \((added["error_logs"] ?? 0).formatted()) "
                    + "errors since the history's end; they keep arriving while the demo runs.")
            fflush(nil)  // every output stream: the lines show before the server runs, also in a file
        }
        let dashboards = PortalSetup.Dashboards(
            warehouse: .location(warehouse ?? warehousePath),
            artifacts: (dir as NSString).appendingPathComponent("artifacts"), asOf: CalendarDay(parsing: asOf))
        var setup = server.setup(
            catalog: catalog, state: (dir as NSString).appendingPathComponent("state.sqlite"),
            dashboards: dashboards, delivers: true)
        if !noApps, var delivery = setup.delivery, delivery.settings[.tasksURL] == nil {
            // Tasks go to the demo's receiver unless a tracker is configured.
            var variables = delivery.settings.variables
            variables[Settings.Key.tasksURL.variable] = DemoApps.receiverURL + "/tasks"
            delivery.settings = Settings(variables)
            setup.delivery = delivery
        }
        let environment = try await server.environment(setup)
        var apps: [any Service] = []
        if !noApps {
            apps = DemoApps.services(
                warehouse: warehouse == nil ? warehousePath : nil, directory: dir,
                web: (environment.renderer.staticDirectory as NSString).deletingLastPathComponent, live: live,
                logger: environment.logger)
        }
        print("Almanac demo portal: http://\(server.host):\(server.port)/  (Ctrl-C to stop)")
        if !noApps {
            print(
                """
                Try first:
                  1. Search "hooli ocean": a customer's ocean chart, drawn on the spot.
                  2. Open Experiment notebook (/reports/experiment-notebook): the growth team's own app, inside the portal.
                  3. My reports (/me/reports): what your team owns, who reads it, and what nobody has opened for months.
                The demo's webhooks and tasks arrive at \(DemoApps.receiverURL)/.
                """)
        }
        fflush(nil)  // every output stream: the lines show before the server runs, also in a file
        try await runPortal(environment, server: server.listening, alongside: apps)
    }
}

/// A deterministic usage history for the demo company, so its portal opens with the figures a
/// real one would have: views over the last 120 days by the catalog's people, a few reports
/// read less and less, two that nobody has opened for months (the retirement candidates on
/// "My reports"), and one picking up this week (trending).
enum DemoUsageHistory {
    /// Reports nobody has opened for 100 days (one active, one deprecated).
    static let abandoned: Set<String> = ["twitter-campaign-performance", "pricing-launch-review"]
    /// Read three times as much in the last week.
    static let rising = "international-growth"

    /// Writes the history into the state store at `path` unless it already holds views.
    static func seedIfEmpty(statePath path: String, catalog directory: String, seed: UInt64, now: Date) async throws {
        let state = try SQLiteStateStore(path: path)
        try await state.migrate()
        guard try await state.recentViews(limit: 1).isEmpty else { return }
        guard let catalog = CatalogLoader.load(directory: directory).catalog else { return }
        // The portal has known the catalog for 200 days, so every report is old enough for the
        // policy; its subscriptions and triggers start now, so their schedules begin with the
        // demo instead of reporting 200 days of runs missed.
        let scheduled: Set<String> = [ItemKind.subscription.rawValue, ItemKind.trigger.rawValue]
        _ = try await state.syncCatalogItems(
            LifecycleLedger.itemStates(catalog).filter { !scheduled.contains($0.kind) },
            catalogVersion: catalog.version, at: now.addingTimeInterval(-200 * 86_400))
        let people = catalog.teams.flatMap { team in team.members.compactMap(\.email).map { (team.id, $0) } }
        guard !people.isEmpty else { return }
        var random = seed &+ 0x5DEE_CE66
        func next() -> Double {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(random >> 11) / Double(1 << 53)
        }
        var views: [ViewEvent] = []
        func add(_ kind: ItemKind, _ id: String, owner: TeamID, perDay: Double, day: Int, sources: Bool = true) {
            let expected = perDay * (0.6 + 0.8 * next())
            var count = Int(expected)
            if next() < expected - Double(count) { count += 1 }
            for _ in 0..<count {
                // Two thirds of views come from the owning team.
                let team = people.filter { $0.0 == owner }
                let pool = next() < 0.66 && !team.isEmpty ? team : people
                let person = pool[min(pool.count - 1, Int(next() * Double(pool.count)))]
                let roll = next()
                let source: ViewEvent.Source =
                    !sources ? .direct : roll < 0.25 ? .search : roll < 0.45 ? .home : roll < 0.55 ? .email : .direct
                views.append(
                    ViewEvent(
                        itemKind: kind.rawValue, itemID: id, viewer: person.1,
                        viewedAt: now.addingTimeInterval(-Double(day) * 86_400 - next() * 86_400), source: source,
                        channel: next() < 0.08 ? .api : .page))
            }
        }
        // The company's everyday reports first; the rest by name.
        let everyday = [
            "growth-overview", "executive-weekly", "revenue-overview", "daily-signups", "sync-health", "support-load",
            "user-retention", "acquisition-channels",
        ]
        let reports = catalog.reports.filter { $0.status.isLive }.sorted {
            (everyday.firstIndex(of: $0.id.rawValue) ?? everyday.count, $0.id) < (
                everyday.firstIndex(of: $1.id.rawValue) ?? everyday.count, $1.id
            )
        }
        for (rank, report) in reports.enumerated() {
            let id = report.id.rawValue
            // Popularity falls with the rank; a deprecated report fades over the months.
            let base = max(0.4, 24 / Double(rank + 1)) * (report.status == .deprecated ? 0.3 : 1)
            for day in 0..<120 {
                if abandoned.contains(id) && day < 100 { continue }
                let boost = id == rising && day < 7 ? 3.0 : 1.0
                add(.report, id, owner: report.owner, perDay: base * boost, day: day)
            }
        }
        for (rank, metric) in catalog.metrics.enumerated() where metric.status.isLive && rank % 3 == 0 {
            for day in 0..<120 { add(.metric, metric.id.rawValue, owner: metric.owner, perDay: 1.5, day: day) }
        }
        for template in catalog.templates {
            for day in 0..<120 { add(.template, template.id.rawValue, owner: template.owner, perDay: 2, day: day) }
        }
        views.sort { $0.viewedAt < $1.viewedAt }
        for start in stride(from: 0, to: views.count, by: 10_000) {
            try await state.recordViews(Array(views[start..<min(views.count, start + 10_000)]))
        }
        print("Seeded \(views.count.formatted()) views of usage history (120 days) into \(path).")
    }
}
