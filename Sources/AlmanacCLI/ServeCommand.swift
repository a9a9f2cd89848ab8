import AlmanacCore
import ArgumentParser
import Catalog
import Composition
import Foundation
import Logging
import Portal

/// Options shared by `serve`, `demo` and `generator`: where the process listens and who it trusts.
struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on. (env: ALMANAC_HOST)")
    var host: String = Settings.process[.host] ?? "127.0.0.1"

    @Option(name: .customLong("port"), help: "Port to listen on (default: 8080). (env: ALMANAC_PORT)")
    var portOption: Int?

    @OptionGroup var web: WebOption

    @Option(
        name: .customLong("trusted-proxy"),
        help: """
            Address or CIDR network of the SSO proxy whose identity headers are trusted; repeat for several. \
            (env: ALMANAC_TRUSTED_PROXIES, comma-separated)
            """)
    var trustedProxyOptions: [String] = []

    @Option(help: "Header carrying the signed-in user, set by the trusted proxy.")
    var userHeader: String = "X-Forwarded-User"

    @Option(help: "Header carrying the user's groups (comma-separated), set by the trusted proxy.")
    var groupsHeader: String = "X-Forwarded-Groups"

    @Flag(help: "Development only: treat requests from loopback without identity headers as a local admin.")
    var allowAnonymousLoopback = false

    @Option(
        name: .customLong("log-level"),
        help: "Log level: trace, debug, info, notice, warning, error, critical (default: info; the demo's: notice).")
    var logLevelOption: String?
    var logLevel: String { logLevelOption ?? "info" }

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
        help: "Memory for rendered pages, in MiB (default: 256; one render per audience). (env: ALMANAC_PAGE_CACHE_MB)")
    var pageCacheOption: Int?

    @Option(
        name: .customLong("template-cache-mb"),
        help: """
            Memory for parameterized dashboards and their downloads, in MiB (default: 128). \
            (env: ALMANAC_TEMPLATE_CACHE_MB)
            """)
    var templateCacheOption: Int?

    @Option(
        name: .customLong("search-cache-mb"),
        help: """
            Memory for /api/search's and /api/suggest's answers, in MiB (default: 32; one per audience and query; 0: \
            every search runs). (env: ALMANAC_SEARCH_CACHE_MB)
            """)
    var searchCacheOption: Int?

    @Option(
        name: .customLong("page-stale-seconds"),
        help: """
            How long a cached page whose figures moved ("… ago" texts, usage lists, search ranking) \
            is served as it is; then it is served while it renders again in the background, up to \
            three times as long. 0 renders every such page before serving it (default: 60). \
            (env: ALMANAC_PAGE_STALE_SECONDS)
            """)
    var pageStaleOption: Int?

    @Option(
        name: .customLong("job-lease-seconds"),
        help: """
            How long a scheduled run (a night's generation, a digest) stays this instance's \
            unless renewed; it is renewed every third of it while the run goes on, so another \
            instance sharing the state store takes over a run whose instance died this long \
            after it went (default: 60). (env: ALMANAC_JOB_LEASE_SECONDS)
            """)
    var jobLeaseOption: Int?

    /// The option, else its `ALMANAC_*` variable (a malformed one is an error), else `fallback`.
    private func resolved(_ option: Int?, _ key: Settings.Key, _ fallback: Int) throws -> Int {
        do {
            return try option ?? Settings.process.integer(key) ?? fallback
        } catch {
            throw ValidationError("\(error)")
        }
    }
    var port: Int { (try? resolved(portOption, .port, 8080)) ?? 8080 }
    var pageCacheMB: Int { (try? resolved(pageCacheOption, .pageCacheMB, 256)) ?? 256 }
    var templateCacheMB: Int { (try? resolved(templateCacheOption, .templateCacheMB, 128)) ?? 128 }
    var searchCacheMB: Int { (try? resolved(searchCacheOption, .searchCacheMB, 32)) ?? 32 }
    var pageStaleSeconds: Int { (try? resolved(pageStaleOption, .pageStaleSeconds, 60)) ?? 60 }
    var jobLeaseSeconds: Int { (try? resolved(jobLeaseOption, .jobLeaseSeconds, 60)) ?? 60 }
    var trustedProxies: [String] {
        trustedProxyOptions.isEmpty ? Settings.process.list(.trustedProxies) : trustedProxyOptions
    }

    func validate() throws {
        // Resolving each number once here reports a malformed variable before anything starts.
        let port = try resolved(portOption, .port, 8080)
        let pageStaleSeconds = try resolved(pageStaleOption, .pageStaleSeconds, 60)
        guard (0...3600).contains(pageStaleSeconds) else {
            throw ValidationError("--page-stale-seconds must be between 0 and 3600, got \(pageStaleSeconds)")
        }
        let jobLease = try resolved(jobLeaseOption, .jobLeaseSeconds, 60)
        guard (3...3600).contains(jobLease) else {
            throw ValidationError("--job-lease-seconds must be between 3 and 3600, got \(jobLease)")
        }
        for (name, value) in [
            ("--page-cache-mb", try resolved(pageCacheOption, .pageCacheMB, 256)),
            ("--template-cache-mb", try resolved(templateCacheOption, .templateCacheMB, 128)),
        ] where !(1...65536).contains(value) {
            throw ValidationError("\(name) must be between 1 and 65536 (MiB), got \(value)")
        }
        let searchCacheMB = try resolved(searchCacheOption, .searchCacheMB, 32)
        guard (0...65536).contains(searchCacheMB) else {
            throw ValidationError("--search-cache-mb must be between 0 (off) and 65536 (MiB), got \(searchCacheMB)")
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

    var listening: ServerConfiguration { ServerConfiguration(host: host, port: port) }

    /// What the portal is built from, with these options and the stores given.
    func setup(catalog: String, state: String, dashboards: PortalSetup.Dashboards?, delivers: Bool) -> PortalSetup {
        var setup = PortalSetup(catalog: catalog, state: state, web: web.directory, auth: auth)
        setup.pageCacheBytes = pageCacheMB << 20
        setup.templateCacheBytes = templateCacheMB << 20
        setup.searchCacheBytes = searchCacheMB << 20
        setup.pageStaleSeconds = pageStaleSeconds > 0 ? pageStaleSeconds : nil
        setup.recordsViews = !noViewRecording
        setup.jobLease = .seconds(jobLeaseSeconds)
        setup.dashboards = dashboards
        if delivers && !noDelivery { setup.delivery = .init(defaultBaseURL: "http://\(host):\(port)") }
        return setup
    }

    func makeLogger() -> Logger {
        var logger = Logger(label: "almanac")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    /// The environment `setup` describes, with logging started; a setup error ends the command.
    func environment(_ setup: PortalSetup) async throws -> PortalEnvironment {
        LoggingBootstrap.once(level: Logger.Level(rawValue: logLevel) ?? .info)
        let logger = makeLogger()
        do {
            let environment = try await PortalEnvironment.make(setup, logger: logger)
            logger.info(
                "serving",
                metadata: [
                    "url": "http://\(host):\(port)/", "catalog": "\(setup.catalog)",
                    "state": "\(StoreLocation.redacted(setup.state))",
                    "catalog_version": "\(environment.catalog.current.version)",
                    "generators": "\(setup.dashboards?.generators?.urls.joined(separator: ",") ?? "")",
                ])
            return environment
        } catch let error as any AlmanacError {
            printError(error.description)
            throw ExitCode(1)
        }
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

    @OptionGroup var catalog: CatalogOption

    @OptionGroup(title: "Dashboards") var warehouse: WarehouseOption

    @OptionGroup(title: "Dashboards") var artifacts: ArtifactsOption

    @OptionGroup(title: "Dashboards") var asOf: AsOfOption

    @Flag(help: "Do not run the nightly generation schedule in this process (another instance runs it).")
    var noSchedule = false

    @OptionGroup var state: StateOption

    @Option(
        name: .customLong("generator"),
        help: """
            URL of an 'almanac generator' service to get dashboards and template renders from instead of \
            generating them in this process; repeat for several. (env: ALMANAC_GENERATORS, comma-separated)
            """)
    var generatorOptions: [String] = []

    @Option(help: "Seconds a remote generator may take for one template render.")
    var generatorTimeout: Int = 60

    @OptionGroup var server: ServerOptions

    var generators: [String] { generatorOptions.isEmpty ? Settings.process.list(.generators) : generatorOptions }

    func validate() throws {
        try warehouse.checkReadable()
        for url in generators where !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ValidationError("--generator '\(url)' is not an http(s) URL")
        }
        if !generators.isEmpty, warehouse.location == nil {
            throw ValidationError("--generator needs --warehouse too: search reads the entities' values from it")
        }
        guard (1...3600).contains(generatorTimeout) else {
            throw ValidationError("--generator-timeout must be between 1 and 3600 seconds")
        }
    }

    func run() async throws {
        let dashboards = warehouse.location.map {
            PortalSetup.Dashboards(
                warehouse: .location($0), artifacts: artifacts.directory(), asOf: asOf.day, schedule: !noSchedule,
                generators: generators.isEmpty
                    ? nil
                    : PortalSetup.Generators(
                        urls: generators, token: Settings.process[.generatorToken],
                        renderTimeout: .seconds(generatorTimeout)))
        }
        let environment = try await server.environment(
            server.setup(catalog: catalog.directory, state: state.location(), dashboards: dashboards, delivers: true))
        try await runPortal(environment, server: server.listening)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
}
