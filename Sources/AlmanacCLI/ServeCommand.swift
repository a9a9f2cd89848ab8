import AlmanacCore
import ArgumentParser
import Artifacts
import Catalog
import Delivery
import Foundation
import Logging
import Pages
import Portal
import Proxy
import Rendering
import Storage
import Warehouse

/// Options shared by `serve` and `demo`: where the portal listens and who it trusts.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on. (env: ALMANAC_HOST)")
    var host: String = EnvironmentDefaults.host ?? "127.0.0.1"

    @Option(help: "Port to listen on. (env: ALMANAC_PORT)")
    var port: Int = EnvironmentDefaults.port ?? 8080

    @Option(help: "The folder with templates/ and static/ (default: ./Web or next to the binary). (env: ALMANAC_WEB)")
    var web: String?

    @Option(
        name: .customLong("trusted-proxy"),
        help: """
            Address or CIDR network of the SSO proxy whose identity headers are trusted; repeat for several. \
            (env: ALMANAC_TRUSTED_PROXIES, comma-separated)
            """)
    var trustedProxies: [String] =
        EnvironmentDefaults.trustedProxies?.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        } ?? []

    @Option(help: "Header carrying the signed-in user, set by the trusted proxy.")
    var userHeader: String = "X-Forwarded-User"

    @Option(help: "Header carrying the user's groups (comma-separated), set by the trusted proxy.")
    var groupsHeader: String = "X-Forwarded-Groups"

    @Flag(help: "Development only: treat requests from loopback without identity headers as a local admin.")
    var allowAnonymousLoopback = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    // Benchmarks/view-ingest.sh compares serving with and without counting views.
    @Flag(help: .hidden)
    var noViewRecording = false

    @Flag(
        help: """
            Do not send digests, webhooks or tasks from this instance (others sharing the state \
            store still do). Configured by ALMANAC_PUBLIC_URL, ALMANAC_SMTP_*, ALMANAC_TASKS_URL.
            """)
    var noDelivery = false

    @Option(
        name: .customLong("page-cache-mb"),
        help: "Memory for rendered pages, in MiB (one render per audience). (env: ALMANAC_PAGE_CACHE_MB)")
    var pageCacheMB: Int = EnvironmentDefaults.pageCacheMB ?? 256

    @Option(
        name: .customLong("template-cache-mb"),
        help: "Memory for parameterized dashboards and their downloads, in MiB. (env: ALMANAC_TEMPLATE_CACHE_MB)")
    var templateCacheMB: Int = EnvironmentDefaults.templateCacheMB ?? 128

    @Option(
        name: .customLong("page-stale-seconds"),
        help: """
            How long a cached page whose figures moved ("… ago" texts, usage lists, search ranking) \
            is served as it is; then it is served while it renders again in the background, up to \
            three times as long. 0 renders every such page before serving it. \
            (env: ALMANAC_PAGE_STALE_SECONDS)
            """)
    var pageStaleSeconds: Int = EnvironmentDefaults.pageStaleSeconds ?? 60

    func validate() throws {
        guard (0...3600).contains(pageStaleSeconds) else {
            throw ValidationError("--page-stale-seconds must be between 0 and 3600, got \(pageStaleSeconds)")
        }
        for (name, value) in [("--page-cache-mb", pageCacheMB), ("--template-cache-mb", templateCacheMB)]
        where !(1...65536).contains(value) {
            throw ValidationError("\(name) must be between 1 and 65536 (MiB), got \(value)")
        }
        guard (0...65535).contains(port) else {
            throw ValidationError("--port must be between 0 (any free port) and 65535, got \(port)")
        }
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError(
                "--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        let invalid = auth.invalidProxies()
        guard invalid.isEmpty else {
            throw ValidationError(
                "--trusted-proxy: '\(invalid.joined(separator: "', '"))' is not an IP address or CIDR network")
        }
    }

    var auth: AuthConfiguration {
        AuthConfiguration(
            trustedProxies: trustedProxies, userHeader: userHeader, groupsHeader: groupsHeader,
            allowAnonymousLoopback: allowAnonymousLoopback)
    }

    func makeLogger() -> Logger {
        var logger = Logger(label: "almanac")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the portal on a catalog, a warehouse and a state store.",
        discussion: """
            Identity comes from a trusted SSO proxy: only requests from --trusted-proxy \
            addresses may name a user in the identity headers. Each option can also come \
            from its ALMANAC_* environment variable.
            """)

    @Option(help: "The catalog folder (holding almanac.yaml). (env: ALMANAC_CATALOG)")
    var catalog: String = EnvironmentDefaults.catalog ?? "Catalog"

    @Option(help: "The warehouse dashboards read: a SQLite file or postgres:// URL. (env: ALMANAC_WAREHOUSE)")
    var warehouse: String?

    @Option(help: "Where generated dashboards are kept. (env: ALMANAC_ARTIFACTS)")
    var artifacts: String = EnvironmentDefaults.artifacts ?? "var/artifacts"

    @Option(help: "The last day dashboards show (YYYY-MM-DD; default: yesterday, UTC).")
    var asOf: String?

    @Flag(help: "Do not run the nightly generation schedule in this process (another instance runs it).")
    var noSchedule = false

    @Option(help: "The state store: a SQLite file path or sqlite://PATH. (env: ALMANAC_STATE)")
    var state: String = EnvironmentDefaults.state ?? "var/state.sqlite"

    @Option(
        name: .customLong("generator"),
        help: """
            URL of an 'almanac generator' service to get dashboards and template renders from instead of \
            generating them in this process; repeat for several. (env: ALMANAC_GENERATORS, comma-separated)
            """)
    var generators: [String] =
        EnvironmentDefaults.generators?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []

    @Option(help: "Seconds a remote generator may take for one template render.")
    var generatorTimeout: Int = 60

    @OptionGroup var server: ServerOptions

    func validate() throws {
        for url in generators where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--generator '\(url)' is not an http(s) URL")
        }
        if !generators.isEmpty, (warehouse ?? EnvironmentDefaults.warehouse) == nil {
            throw ValidationError("--generator needs --warehouse too: search reads the entities' values from it")
        }
        guard (1...3600).contains(generatorTimeout) else {
            throw ValidationError("--generator-timeout must be between 1 and 3600 seconds")
        }
        if let asOf, CalendarDay(parsing: asOf) == nil {
            throw ValidationError("--as-of '\(asOf)' is not a date (YYYY-MM-DD)")
        }
        if let warehouse = warehouse ?? EnvironmentDefaults.warehouse, !warehouse.contains("://"),
            !FileManager.default.fileExists(atPath: warehouse)
        {
            throw ValidationError("--warehouse: no file at '\(warehouse)'")
        }
    }

    func run() async throws {
        try await Serving.run(
            catalog: catalog, state: state, server: server,
            dashboards: (warehouse ?? EnvironmentDefaults.warehouse).map {
                Serving.Dashboards(
                    warehouse: $0, artifacts: artifacts, asOf: asOf.flatMap(CalendarDay.init(parsing:)),
                    schedule: !noSchedule, generators: generators, generatorTimeout: generatorTimeout)
            })
    }
}

/// Builds the portal's environment from command-line values and runs it until SIGTERM/SIGINT.
enum Serving {
    struct Dashboards {
        var warehouse: String
        var artifacts: String
        var asOf: CalendarDay?
        var schedule: Bool
        var generators: [String] = []
        var generatorTimeout: Int = 60
    }

    static func run(
        catalog directory: String, state location: String, server options: ServerOptions, dashboards: Dashboards?
    ) async throws {
        let environment = try await environment(
            catalog: directory, state: location, server: options, dashboards: dashboards)
        try await runPortal(environment, server: ServerConfiguration(host: options.host, port: options.port))
    }

    /// The environment `serve` and `generator` run on.
    static func environment(
        catalog directory: String, state location: String, server options: ServerOptions, dashboards: Dashboards?,
        delivers: Bool = true
    ) async throws -> PortalEnvironment {
        LoggingBootstrap.once(level: Logger.Level(rawValue: options.logLevel) ?? .info)
        let logger = options.makeLogger()
        let store: CatalogStore
        do {
            store = try CatalogStore(directory: directory)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
        guard let webRoot = PageRenderer.locateWebRoot(options.web ?? EnvironmentDefaults.web) else {
            printError("cannot find the portal's Web/ folder (templates and static files); pass --web DIR")
            throw ExitCode(1)
        }
        let renderer = try await PageRenderer(webRoot: webRoot)
        let stateStore = try SQLiteStateStore.open(location: location)
        var environment = PortalEnvironment(
            catalog: store, state: stateStore, renderer: renderer, auth: options.auth, logger: logger,
            pageCacheBytes: options.pageCacheMB << 20, templateCacheBytes: options.templateCacheMB << 20,
            pageStaleSeconds: options.pageStaleSeconds > 0 ? options.pageStaleSeconds : nil)
        environment.recordsViews = !options.noViewRecording
        if let dashboards {
            let warehouse: any Warehouse
            do {
                warehouse = try WarehouseLocation.open(dashboards.warehouse)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            let asOf = dashboards.asOf
            environment.dashboards = DashboardConfiguration(
                warehouse: warehouse, artifacts: ArtifactStore(root: dashboards.artifacts),
                asOf: {
                    asOf ?? CalendarDay.yesterday(in: TimeZone(identifier: store.current.settings.timezone) ?? .gmt)
                }, runsSchedule: dashboards.schedule,
                remote: dashboards.generators.isEmpty
                    ? nil
                    : GeneratorClient(
                        baseURLs: dashboards.generators, token: EnvironmentDefaults.generatorToken,
                        renderTimeout: .seconds(dashboards.generatorTimeout)))
            if delivers && !options.noDelivery {
                let configuration = try deliveryConfiguration(
                    state: stateStore, catalog: store, defaultBaseURL: "http://\(options.host):\(options.port)")
                environment.delivery = DeliveryService(
                    catalog: store, state: stateStore, warehouse: warehouse, renderer: renderer,
                    configuration: configuration, logger: logger, asOf: asOf)
                logger.info(
                    "delivering digests and triggers",
                    metadata: ["mail": "\(configuration.mail.displayName)", "links": "\(configuration.baseURL)"])
            }
        }
        logger.info(
            "serving",
            metadata: [
                "url": "http://\(options.host):\(options.port)/", "catalog": "\(directory)", "state": "\(location)",
                "catalog_version": "\(store.current.version)",
                "generators": "\(dashboards?.generators.joined(separator: ",") ?? "")",
            ])
        return environment
    }
}

/// Delivery's configuration from `ALMANAC_*`, with e-mail in `outbox/` beside the state file
/// when no SMTP server is set; a bad value ends the command with the variable's name.
func deliveryConfiguration(
    state: SQLiteStateStore, catalog: CatalogStore, defaultBaseURL: String
) throws -> DeliveryConfiguration {
    let outbox = ((state.path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("outbox")
    do {
        return try DeliveryConfiguration.fromEnvironment(
            defaultBaseURL: defaultBaseURL, outbox: outbox, companyDomain: catalog.current.settings.companyDomain)
    } catch {
        printError(error.description)
        throw ExitCode(1)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
