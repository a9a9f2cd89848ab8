import AlmanacCore
import Catalog
import Delivery
import Foundation
import Generators
import HTTPTypes
public import Hummingbird
import Lifecycle
import Logging
import Pages
import Rendering
import Scheduling
import Search
import SearchIndexing
public import ServiceLifecycle
import Storage
import UnixSignals

/// Builds the portal: routes, middleware, and the services that run beside the server
/// (the catalog watcher). Shared by `almanac serve`, `almanac demo` and the tests.
///
/// State store migrations and the first catalog sync run before the server accepts
/// connections.
public func buildApplication(
    _ environment: PortalEnvironment, server: ServerConfiguration
) -> some ApplicationProtocol {
    let router = buildRouter(environment)

    let watcher = CatalogWatcher(
        store: environment.catalog, interval: environment.catalogPollInterval, clock: environment.clock,
        logger: environment.logger
    ) { _, _ in
        await syncCatalog(environment)
    }
    // The view counter is listed first so that it stops last and flushes every counted view.
    let indexer = environment.searchIndexer
    var services: [any Service] = [
        environment.views, watcher,
        SearchIndexingService(
            indexer: indexer, catalog: environment.catalog, clock: environment.clock, ready: environment.stateReady),
        LifecycleWatcher(lifecycle: environment.lifecycle, ready: environment.stateReady),
    ]
    let review = RetirementReviewer.job(lifecycle: environment.lifecycle, startingAt: environment.clock.date)
    var groups = [JobGroup(name: "lifecycle") { [review] }]
    var worker: DeliveryWorker?
    if let delivery = environment.delivery {
        // Registered before the server starts, so /metrics shows every series from the first scrape.
        let metrics = DeliveryMetrics(registry: environment.metrics)
        groups.append(JobGroup(name: "delivery") { await delivery.jobs() })
        worker = DeliveryWorker(
            state: environment.state, sender: delivery.sender, retry: delivery.configuration.retry,
            metrics: metrics, logger: environment.logger, clock: environment.clock)
    }
    if let generation = environment.scheduledGeneration { groups.append(generation.group) }
    services.append(ScheduledServices(environment: environment, groups: groups, worker: worker))
    var app = Application(
        router: router,
        server: PortalHTTPServer.builder(
            cachedPages: environment.answersCachedPagesEarly ? environment.cachedRoutes : nil,
            logger: environment.logger),
        configuration: .init(
            address: .hostname(server.host, port: server.port), serverName: PortalHTTPServer.serverName),
        services: services,
        logger: environment.logger)
    app.beforeServerStarts {
        try await environment.state.migrate()
        await syncCatalog(environment)
        // Lifecycle actions apply from the first request (retired reports never flash back).
        try await environment.lifecycle.reloadOverlay()
        environment.stateReady.open()
        // The catalog is searchable from the first request; entity values follow in the background.
        indexer.indexCatalog(environment.catalog.current)
    }
    return app
}

/// The portal's router: middleware and every route. Its `routes` are the portal's route
/// table (the access-matrix test walks them all).
public func buildRouter(_ environment: PortalEnvironment) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    // Outermost, so it sees every request's final status (errors are pages by the next one).
    PortalMetrics.bootstrap()
    router.add(middleware: MetricsMiddleware<AppRequestContext>())
    router.add(middleware: EdgeMiddleware(renderer: environment.renderer, catalog: environment.catalog))
    router.add(
        middleware: FileMiddleware(
            environment.renderer.staticDirectory, urlBasePath: "/static",
            cacheControl: .init([(MediaType(type: .any), [.maxAge(3600)])]),
            logger: environment.logger))
    router.add(
        middleware: AuthMiddleware(
            authenticator: Authenticator(configuration: environment.auth), catalog: environment.catalog,
            tokens: environment.tokens))
    HealthController(environment: environment).addRoutes(to: router)
    CatalogController(environment: environment).addRoutes(to: router)
    SearchController(environment: environment).addRoutes(to: router)
    ExternalReportController(environment: environment).addRoutes(to: router)
    LifecycleController(environment: environment).addRoutes(to: router)
    TokenController(environment: environment).addRoutes(to: router)
    return router
}

/// Records what an accepted catalog added, changed or removed in the lifecycle log, and
/// when a file changed an object's lifecycle fields (which then override earlier actions).
func syncCatalog(_ environment: PortalEnvironment) async {
    // The files as declared: the overlay is what the state store already holds.
    let catalog = environment.catalog.declared
    let items = LifecycleLedger.itemStates(catalog)
    do {
        let events = try await environment.state.syncCatalogItems(
            items, catalogVersion: catalog.version, at: environment.now())
        if !events.isEmpty {
            environment.logger.info("catalog changes recorded", metadata: ["events": "\(events.count)"])
        }
        try await environment.lifecycle.reloadOverlay()
    } catch {
        // NB: a state store hiccup must not stop the portal from serving the new catalog.
        environment.logger.error("could not record catalog changes", metadata: ["error": "\(error)"])
    }
}

/// Builds the portal and runs it, with `others` beside it, until SIGTERM or SIGINT, then shuts
/// down gracefully (the server stops accepting, in-flight requests finish, services end).
public func runPortal(
    _ environment: PortalEnvironment, server: ServerConfiguration, alongside others: [any Service] = []
) async throws {
    let app = buildApplication(environment, server: server)
    // Services stop in reverse order: `others` (the demo's apps) first, the portal last.
    let group = ServiceGroup(
        configuration: .init(
            services: [.init(service: app)] + others.map { .init(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint], logger: environment.logger))
    try await group.run()
}

/// The portal's one job scheduler (digests, triggers, generation, the retirement review) and
/// the outbox worker, started once the state store is migrated.
struct ScheduledServices: Service {
    let environment: PortalEnvironment
    let groups: [JobGroup]
    let worker: DeliveryWorker?

    func run() async throws {
        await environment.stateReady.wait()
        guard environment.stateReady.isOpen else { return }  // stopped before the migrations ended
        let scheduler = JobScheduler(
            store: environment.state, logger: environment.logger, lease: environment.jobLease?.timeInterval,
            clock: environment.clock, groups: groups)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await scheduler.run() }
            if let worker { group.addTask { try await worker.run() } }
        }
    }
}

extension PortalEnvironment {
    /// Nightly generation on this instance's schedule, unless remote generators do it.
    var scheduledGeneration: ScheduledGeneration? {
        guard let dashboards, dashboards.runsSchedule else { return nil }
        return ScheduledGeneration(catalog: catalog, store: state, logger: logger, clock: clock) { [self] catalog in
            dashboards.generator(catalog: catalog, environment: self)
        }
    }
}

extension Route.Mount {
    /// The page's path as the router mounts it.
    var routerPath: RouterPath { RouterPath(rawValue) }
    /// The JSON twin's path as the router mounts it (`/api` before the page's).
    var apiRouterPath: RouterPath { RouterPath(api ?? "/api" + rawValue) }
}
