public import AlmanacCore
import Artifacts
import Catalog
public import Composition
import Delivery
import Foundation
import Generators
public import Logging
import Proxy
import Rendering
import Storage
import Warehouse

/// What a portal is built from: the values of `almanac serve`'s (or `demo`'s, or
/// `generator`'s) options, or a test's. ``PortalEnvironment/make(_:logger:clock:)`` builds
/// every one of them the same way.
public struct PortalSetup: Sendable {
    /// The catalog folder.
    public var catalog: String
    /// The state store: a SQLite file path or `sqlite://PATH`.
    public var state: String
    /// The folder with templates/ and static/; `nil` looks in the usual places.
    public var web: String?
    public var auth: AuthConfiguration
    /// How often the catalog folder is checked for edits.
    public var catalogPollInterval: Duration = .seconds(2)
    public var pageCacheBytes = 256 << 20
    public var templateCacheBytes = 128 << 20
    /// Memory for `/api/search`'s and `/api/suggest`'s answers; 0: every search runs.
    public var searchCacheBytes = 32 << 20
    /// How long a cached page whose figures moved is served as it is; `nil`: always.
    public var pageStaleSeconds: Int? = 60
    /// Whether views are counted (a benchmark switches it off).
    public var recordsViews = true
    /// How long a scheduled run stays this instance's unless renewed (every third of it);
    /// `nil`: never renewed, a claim lasting each job's own `staleAfter`.
    public var jobLease: Duration? = .seconds(60)
    /// Where dashboards come from; without it report pages show their definition only.
    public var dashboards: Dashboards?
    /// Subscriptions and triggers: when set (and there are dashboards), this instance sends them.
    public var delivery: DeliverySetup?

    public init(catalog: String, state: String, web: String? = nil, auth: AuthConfiguration) {
        self.catalog = catalog
        self.state = state
        self.web = web
        self.auth = auth
    }

    /// The warehouse and artifact store behind dashboards.
    public struct Dashboards: Sendable {
        /// The warehouse: a location to open (a SQLite file or postgres:// URL), or one already open.
        public var warehouse: WarehouseSource
        /// Where generated dashboards are kept (or, with remote generators, their last good copies).
        public var artifacts: String
        /// The last day dashboards show; `nil`: yesterday in the catalog's time zone.
        public var asOf: CalendarDay?
        /// Whether the nightly generation runs in this process.
        public var schedule: Bool
        /// `almanac generator` services to get dashboards from instead of generating them here.
        public var generators: Generators?

        public init(
            warehouse: WarehouseSource, artifacts: String, asOf: CalendarDay? = nil, schedule: Bool = true,
            generators: Generators? = nil
        ) {
            self.warehouse = warehouse
            self.artifacts = artifacts
            self.asOf = asOf
            self.schedule = schedule
            self.generators = generators
        }
    }

    /// Remote `almanac generator` services.
    public struct Generators: Sendable {
        public var urls: [String]
        /// The bearer token they require (`ALMANAC_GENERATOR_TOKEN`).
        public var token: String?
        /// How long one template render may take.
        public var renderTimeout: Duration
        /// How often a generator that stopped answering is tried again.
        public var checkInterval: Duration

        public init(
            urls: [String], token: String? = nil, renderTimeout: Duration = .seconds(60),
            checkInterval: Duration = .seconds(30)
        ) {
            self.urls = urls
            self.token = token
            self.renderTimeout = renderTimeout
            self.checkInterval = checkInterval
        }
    }

    /// Digests, webhooks and tasks from this instance.
    public struct DeliverySetup: Sendable {
        /// Where this portal listens: links use it unless `ALMANAC_PUBLIC_URL` says otherwise.
        public var defaultBaseURL: String
        /// Where e-mail, tasks and the public URL are configured (`ALMANAC_SMTP_*`, …).
        public var settings: Settings

        public init(defaultBaseURL: String, settings: Settings = .process) {
            self.defaultBaseURL = defaultBaseURL
            self.settings = settings
        }
    }
}

extension PortalEnvironment {
    /// Builds the environment `setup` describes: the composition root of `almanac serve`,
    /// `demo` and `generator`, and of the tests, so they all run the same application.
    ///
    /// Opens the stores (through `Stores`; the state store unmigrated: the server migrates
    /// it before anything reads it), the renderer and the delivery configuration; any of them
    /// failing ends with a `SetupError` that says which and why.
    public static func make(
        _ setup: PortalSetup, logger: Logger, clock: any WallClock = SystemClock()
    ) async throws -> PortalEnvironment {
        let stores = try Stores.open(
            catalog: setup.catalog, state: setup.state, warehouse: setup.dashboards?.warehouse)
        let catalog = stores.catalog
        guard let state = stores.state else { throw SetupError("no state store was given") }
        guard let webRoot = PageRenderer.locateWebRoot(setup.web) else {
            throw SetupError(
                "cannot find the portal's Web/ folder (templates and static files)", hint: "pass --web DIR")
        }
        let renderer = try await PageRenderer(webRoot: webRoot)
        var environment = PortalEnvironment(
            catalog: catalog, state: state, renderer: renderer, auth: setup.auth, logger: logger, clock: clock,
            catalogPollInterval: setup.catalogPollInterval, pageCacheBytes: setup.pageCacheBytes,
            templateCacheBytes: setup.templateCacheBytes, searchCacheBytes: setup.searchCacheBytes,
            pageStaleSeconds: setup.pageStaleSeconds)
        environment.recordsViews = setup.recordsViews
        environment.jobLease = setup.jobLease
        guard let dashboards = setup.dashboards, let warehouse = stores.warehouse else { return environment }
        let asOf = dashboards.asOf
        environment.dashboards = DashboardConfiguration(
            warehouse: warehouse, artifacts: ArtifactStore(root: dashboards.artifacts),
            asOf: {
                asOf ?? CalendarDay.yesterday(in: TimeZone(identifier: catalog.current.settings.timezone) ?? .gmt)
            }, runsSchedule: dashboards.schedule,
            remote: dashboards.generators.map {
                GeneratorClient(
                    baseURLs: $0.urls, token: $0.token, renderTimeout: $0.renderTimeout,
                    checkInterval: $0.checkInterval, clock: clock)
            })
        if let delivery = setup.delivery {
            let configuration: DeliveryConfiguration
            do {
                configuration = try DeliveryConfiguration.from(
                    delivery.settings, defaultBaseURL: delivery.defaultBaseURL,
                    outbox: DeliveryConfiguration.outbox(forState: setup.state),
                    companyDomain: catalog.current.settings.companyDomain)
            } catch {
                throw SetupError(error.description)
            }
            environment.delivery = DeliveryService(
                catalog: catalog, state: state, warehouse: warehouse, renderer: renderer,
                configuration: configuration, logger: logger, asOf: asOf, clock: clock)
            logger.info(
                "delivering digests and triggers",
                metadata: ["mail": "\(configuration.mail.displayName)", "links": "\(configuration.baseURL)"])
        }
        return environment
    }
}
