public import AlmanacCore
public import Artifacts
public import Catalog
public import Delivery
public import Foundation
public import Generators
import HTTPTypes
import Hummingbird
public import Lifecycle
public import Logging
import Pages
public import Prometheus
public import Proxy
public import Rendering
public import Search
public import SearchIndexing
public import Storage
public import Warehouse

/// Everything the portal needs, already built: the composition root shared by
/// `almanac serve`, `almanac demo` and the tests, so they run the same application.
public struct PortalEnvironment: Sendable {
    public var catalog: CatalogStore
    public var state: any StateStore
    public var renderer: PageRenderer
    public var auth: AuthConfiguration
    public var logger: Logger
    /// Where the portal reads the time and its background services wait: the system clock in
    /// production, a manual one in tests.
    public let clock: any WallClock
    /// How often the catalog folder is checked for edits.
    public var catalogPollInterval: Duration
    /// Where dashboards come from; without it report pages show their definition only.
    public var dashboards: DashboardConfiguration?
    /// Counts page views in memory and writes them in batches.
    public let views: ViewCounter
    /// The search index over the catalog and the entities' values.
    public let search: SearchIndex
    /// Dashboards of parameterized templates, generated on demand and kept five minutes.
    public let templateRenders: TemplateRenderCache
    /// Opened once the state store is migrated and the catalog recorded; background services
    /// wait for it before their first query.
    public let stateReady = Gate()
    /// Whether views are counted (benchmarks switch it off to measure what counting costs).
    public var recordsViews = true
    /// How long a scheduled run stays this instance's unless renewed (``JobScheduler/lease``).
    public var jobLease: Duration?
    /// Where search ranking reads popularity from (the view log by default).
    public var popularity: any PopularitySource
    /// Views and unique viewers per item over 7, 30 and 90 days, from the state store's rollups.
    public let usage: UsageService
    /// Deprecate, retire, restore, transfer, certify, keep: checked, recorded, overlaid on the catalog.
    public let lifecycle: LifecycleService
    /// Forwards `/x/{report}/…` to the catalog's backends.
    public var proxy: BackendProxy
    /// The allow-list of the current catalog with its names' addresses pinned.
    let allowLists: AllowListCache
    /// What `/metrics` exposes: the process's registry (see ``PortalMetrics``).
    public let metrics: PrometheusCollectorRegistry
    /// Rendered pages, one per audience, bounded in bytes.
    let pages: RenderedPageCache
    /// `/api/search`'s and `/api/suggest`'s answers, one per audience and request like the search
    /// page, in memory of their own so that a stream of new queries does not push rendered pages
    /// out; `nil`: off.
    let searchResults: RenderedPageCache?
    /// Which audience each reader belongs to.
    let audiences: Audiences
    /// The kept pages early answers found, by target and audience.
    let pageMemo = PageMemo()
    /// The pages each connection may send from ``pages`` before the router sees the request.
    let cachedRoutes: CachedPageRoutes
    /// Whether connections answer cached pages themselves (see ``CachedPageRoutes``); off, every
    /// request goes through the router (tests compare the two).
    public var answersCachedPagesEarly = true
    /// Subscriptions and triggers: when set, the portal schedules them and sends the outbox.
    public var delivery: DeliveryService?
    /// API tokens: issued by admins, checked on every `/api` request that carries one.
    public let tokens: APITokenAuthority

    public init(
        catalog: CatalogStore, state: any StateStore, renderer: PageRenderer, auth: AuthConfiguration, logger: Logger,
        clock: any WallClock = SystemClock(), catalogPollInterval: Duration = .seconds(2),
        dashboards: DashboardConfiguration? = nil, pageCacheBytes: Int = 256 << 20,
        templateCacheBytes: Int = 128 << 20, searchCacheBytes: Int = 32 << 20, pageStaleSeconds: Int? = nil
    ) {
        self.metrics = PortalMetrics.registry
        self.pages = RenderedPageCache(
            capacityBytes: pageCacheBytes, stalePolicy: pageStaleSeconds.map { .init(seconds: Double($0)) },
            now: { clock.now.date.timeIntervalSince1970 })
        // Search answers are not served out of date: one costs well under a millisecond.
        self.searchResults =
            searchCacheBytes > 0 ? RenderedPageCache(name: "search", capacityBytes: searchCacheBytes) : nil
        self.dashboards = dashboards
        self.views = ViewCounter(store: state, logger: logger, clock: clock)
        self.search = SearchIndex()
        let views = self.views
        self.usage = UsageService(state: state, clock: clock, beforeRead: { await views.flush() })
        self.popularity = ViewLogPopularity(usage: usage)
        self.lifecycle = LifecycleService(catalog: catalog, state: state, logger: logger, clock: clock)
        self.templateRenders = TemplateRenderCache(capacityBytes: templateCacheBytes, clock: clock)
        self.tokens = APITokenAuthority(state: state, clock: clock, logger: logger)
        self.allowLists = AllowListCache(clock: clock)
        self.proxy = BackendProxy(identityHeaders: [auth.userHeader, auth.groupsHeader])
        let audiences = Audiences()
        self.audiences = audiences
        self.cachedRoutes = CachedPageRoutes(
            authentication: AuthMiddleware(
                authenticator: Authenticator(configuration: auth), catalog: catalog, tokens: tokens),
            audiences: audiences)
        self.catalog = catalog
        self.state = state
        self.renderer = renderer
        self.auth = auth
        self.logger = logger
        self.clock = clock
        self.catalogPollInterval = catalogPollInterval
    }
}

extension PortalEnvironment {
    /// The current time on ``clock``.
    public func now() -> Date { clock.now.date }

    /// The page cache's figures: pages rendered into it so far, and the bytes and entries it
    /// holds now.
    public var pageCacheFigures: (rendered: Int, bytes: Int, entries: Int) {
        (pages.rendered, pages.bytes, pages.count)
    }

    /// The same figures for the search answers' cache (searches run for it); `nil` when it is off.
    public var searchCacheFigures: (searched: Int, bytes: Int, entries: Int)? {
        searchResults.map { ($0.rendered, $0.bytes, $0.count) }
    }

    /// The cache key of the page `request` asks for, as `viewer`'s audience sees it now,
    /// narrowed to the `teams` the page asks about (see ``Audience/asking(about:)``; `nil`:
    /// every team of the audience). `query` is the request's, when the caller parsed it;
    /// `reader` is the viewer as an early answer remembered it, whose audience is taken when it
    /// was decided in this very catalog.
    func pageKey(
        _ request: Request, viewer: Viewer, catalog: CatalogSnapshot, teams: Set<String>?, query: FormQuery? = nil,
        reader: Audiences.SignedIn? = nil
    ) -> RenderedPageCache.Key {
        let known = reader.flatMap { $0.generation == catalog.generation ? $0.audience : nil }
        let audience = known ?? audiences.audience(of: viewer, in: catalog)
        return RenderedPageCache.Key(
            path: request.uri.path, query: (query ?? FormQuery(request)).all.map { "\($0.key)=\($0.value)" }.sorted(),
            audience: teams.map(audience.asking(about:)) ?? audience,
            catalogRevision: catalog.revision, catalogBroken: self.catalog.isBroken,
            minute: Int(now().timeIntervalSince1970 / 60), usageRevision: usage.revision,
            dataDay: dashboards?.asOf().description)
    }

    /// What the kept pages' keys depend on now besides the request and the audience (see
    /// ``PageMemo``), for the catalog `snapshot`.
    func pageToken(_ snapshot: CatalogSnapshot) -> PageMemo.Token {
        let (index, documents) = search.generations
        return PageMemo.Token(
            catalog: snapshot.generation, catalogBroken: catalog.isBroken,
            minute: Int(now().timeIntervalSince1970 / 60),
            usageRevision: usage.revision, indexGeneration: index, indexDocuments: documents,
            dataDay: dashboards?.asOf().dayNumber)
    }

    /// The memo for an early answer of `context`'s reader (signed in by the proxy's headers in
    /// the catalog of `snapshot`): its target, audience and token; `nil` when there is none.
    func pageMemoKey(
        _ request: Request, _ context: AppRequestContext, _ snapshot: CatalogSnapshot
    ) -> (target: String, audience: Int, token: PageMemo.Token)? {
        guard let reader = context.reader, reader.generation == snapshot.generation else { return nil }
        return (request.uri.string, reader.audienceID, pageToken(snapshot))
    }

    /// Counts one view: buffered for the state store, and added to the cached usage figures at
    /// once, so "most viewed" and a page's numbers include it before the next refresh.
    func record(_ view: ViewEvent) {
        guard recordsViews else { return }
        views.record(view)
        usage.count(view)
    }
}

/// Where the HTTP server listens.
public struct ServerConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}

/// The warehouse and artifact store behind dashboards.
///
/// - Configuration keys (CLI `serve`): `--warehouse` (SQLite file or postgres:// URL),
///   `--artifacts` (folder, default `var/artifacts`), `--as-of` (default: yesterday, UTC).
public struct DashboardConfiguration: Sendable {
    public var warehouse: any Warehouse
    public var artifacts: ArtifactStore
    /// The last day dashboards show.
    public var asOf: @Sendable () -> CalendarDay
    /// Whether the nightly schedule runs inside this process.
    public var runsSchedule: Bool
    /// Remote `almanac generator` services: when set, dashboards and template renders come
    /// from them, and `artifacts` keeps the last good copy of each report.
    public var remote: GeneratorClient?

    public init(
        warehouse: any Warehouse, artifacts: ArtifactStore,
        asOf: @escaping @Sendable () -> CalendarDay = { CalendarDay.yesterday() }, runsSchedule: Bool = true,
        remote: GeneratorClient? = nil
    ) {
        self.warehouse = warehouse
        self.artifacts = artifacts
        self.asOf = asOf
        self.runsSchedule = runsSchedule && remote == nil
        self.remote = remote
    }

    /// A generator over `catalog` writing into the artifact store.
    public func generator(catalog: Catalog, environment: PortalEnvironment) -> AggregateGenerator {
        AggregateGenerator(
            catalog: catalog, warehouse: warehouse, artifacts: artifacts, state: environment.state,
            renderer: environment.renderer, logger: environment.logger, asOf: asOf(), clock: environment.clock)
    }

    /// Where `environment`'s dashboards come from: the remote generators when there are some,
    /// else this process. Each call makes a new source (with its own on-demand bookkeeping):
    /// a server builds one and keeps it.
    public func source(environment: PortalEnvironment) -> any DashboardSource {
        if let remote {
            return RemoteDashboards(
                client: remote, mirror: artifacts, clock: environment.clock, logger: environment.logger)
        }
        return LocalDashboards(
            artifacts: artifacts, catalog: environment.catalog, state: environment.state, clock: environment.clock
        ) { catalog in
            generator(catalog: catalog, environment: environment)
        }
    }
}

extension PortalEnvironment {
    /// The indexer that keeps ``search`` up to date, reading entity values from the
    /// dashboards' warehouse when there is one.
    public var searchIndexer: SearchIndexer {
        SearchIndexer(
            index: search, warehouse: dashboards?.warehouse, popularity: popularity, state: state, logger: logger,
            clock: clock)
    }
}
