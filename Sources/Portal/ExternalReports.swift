import AlmanacCore
import Catalog
import HTTPTypes
import Hummingbird
import Logging
import Proxy
import Rendering
import Storage
import Synchronization

/// The allow-list of one catalog version, with its host names' addresses pinned once.
///
/// Names are resolved again every five minutes (addresses behind a load balancer change),
/// and at once while a name could not be resolved (a failure is never kept).
final class AllowListCache: Sendable {
    private struct Entry {
        var version: String
        var list: AllowList
        var pinnedAt: [String: WallInstant]
    }
    private let current = Mutex<Entry?>(nil)
    static let lifetime: Duration = .seconds(300)
    /// Decides when pinned addresses are looked up again.
    let clock: any WallClock

    init(clock: any WallClock) { self.clock = clock }

    /// The allow-list of `catalog` with `host` pinned (only that name is looked up).
    func list(for catalog: Catalog, host: String, resolver: any AddressResolver) async -> AllowList {
        let now = clock.now
        var entry = current.withLock { $0 }
        if entry?.version != catalog.version {
            entry = Entry(
                version: catalog.version, list: AllowList(catalog.settings.allowedBackendHosts), pinnedAt: [:])
        }
        guard var fresh = entry else { return AllowList([]) }
        if fresh.list.isPinned(host), let at = fresh.pinnedAt[host], at.isWithin(Self.lifetime, of: now) {
            return fresh.list
        }
        if IPAddress(host) != nil || !fresh.list.hosts.contains(host) { return fresh.list }
        await fresh.list.pin(host, using: resolver)
        fresh.pinnedAt[host] = fresh.list.unresolved.contains(host) ? nil : now
        let stored = fresh
        current.withLock { $0 = stored }
        return stored.list
    }
}

/// `/x/{report}/…`: the pages of external reports, proxied from their catalog backend
/// (see ``BackendProxy`` for the rules), after the same access check as the report page.
struct ExternalReportController {
    let environment: PortalEnvironment

    func addRoutes(to router: Router<AppRequestContext>) {
        for method in [HTTPRequest.Method.get, .head, .post] {
            // The router matches `/x/r/` as `/x/r`; only the bare form is redirected, so that
            // relative links in the backend's pages resolve under the prefix.
            router.on(Route.Mount.externalReport.routerPath, method: method) { request, context in
                let id = try context.parameters.require("report")
                guard request.uri.path == "/x/\(id)/" else {
                    guard request.uri.path == "/x/\(id)" else { throw PortalError.notFound("page", request.uri.path) }
                    _ = try report(id, context: context)
                    let query = request.uri.query.map { "?" + $0 } ?? ""
                    return Response(status: .permanentRedirect, headers: [.location: "/x/\(id)/" + query])
                }
                return try await forward(request, context: context)
            }
            router.on(Route.Mount.externalReportPath.routerPath, method: method) { request, context in
                try await forward(request, context: context)
            }
        }
    }

    private func report(_ id: String, context: AppRequestContext) throws -> (Report, Backend) {
        let viewer = try context.requireViewer()
        let view = CatalogView(environment.catalog.current, viewer: viewer)
        guard let report = view.report(ReportID(id)), report.kind == .external else {
            throw PortalError.notFound("external report", id)
        }
        // A retired report's app is no longer fronted; its page in the portal explains why.
        guard report.status != .retired else {
            throw PortalError(
                status: .gone, title: "Retired", message: "The report '\(report.title)' was retired.",
                hint: "Its page in the portal, /reports/\(id), says why and what to use instead.")
        }
        guard let backendID = report.backend, let backend = view.backend(backendID) else {
            throw PortalError.notFound("external report", id)
        }
        return (report, backend)
    }

    private func forward(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("report")
        let viewer = try context.requireViewer()
        let (report, backend) = try report(id, context: context)
        let prefix = "/x/\(id)/"
        // The router also matches `///x/…`; only the exact form is served, so the sandboxing
        // policy (chosen by path in EdgeMiddleware) always applies to what is proxied.
        guard request.uri.path.hasPrefix(prefix) else { throw PortalError.notFound("page", request.uri.path) }
        let path = String(request.uri.path.dropFirst(prefix.count))
        var body: ByteBuffer?
        if request.method == .post {
            do {
                body = try await request.body.collect(upTo: BackendProxy.maximumRequestBytes)
            } catch {
                throw EdgeMiddleware.bodyTooLarge(limit: BackendProxy.maximumRequestBytes)
            }
        }
        let catalog = environment.catalog.current
        let allowLists = environment.allowLists
        let resolver = environment.proxy.resolver
        let proxied: ProxyResponse
        do throws(ProxyError) {
            proxied = try await environment.proxy.forward(
                ProxyRequest(
                    method: request.method, path: path, query: request.uri.query, headers: request.headers, body: body,
                    viewer: viewer.user ?? "anonymous"),
                to: backend, reportID: report.id.rawValue,
                allowList: { host in await allowLists.list(for: catalog, host: host, resolver: resolver) })
        } catch {
            environment.logger.warning(
                "external report failed",
                metadata: ["report": "\(id)", "backend": "\(backend.id)", "error": "\(error)"])
            throw PortalError(
                status: error.status,
                title: error.status == .gatewayTimeout ? "Report app too slow" : "Report app error",
                message: "\(report.title): \(error.publicDescription).",
                hint:
                    "The page comes from \(backend.title), which \(environment.catalog.current.team(backend.owner)?.name ?? backend.owner.rawValue) runs; try again later or tell them."
            )
        }
        // A page opened on its own (not each script or image it loads, and not the frame on the
        // report page, whose view the report page counts) is one view of the report.
        if request.method == .get, (200..<300).contains(proxied.status.code),
            proxied.headers[.contentType]?.hasPrefix("text/html") == true,
            request.headers[HTTPField.Name("Sec-Fetch-Dest")!] != "iframe", !ViewContext.isAutomated(request)
        {
            environment.record(
                ViewEvent(
                    itemKind: ItemKind.report.rawValue, itemID: report.id.rawValue, viewer: viewer.user,
                    viewedAt: environment.now(), source: ViewContext.source(request)))
        }
        return Response(
            status: proxied.status, headers: proxied.headers,
            body: request.method == .head ? .init() : .init(byteBuffer: proxied.body))
    }
}
