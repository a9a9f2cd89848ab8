import AlmanacCore
import Catalog
import HTTPTypes
import Hummingbird
import Logging
import Proxy
import Storage
import Synchronization

/// The allow-list of one catalog version, with its host names' addresses pinned once.
final class AllowListCache: Sendable {
    private let current = Mutex<(version: String, list: AllowList)?>(nil)

    func list(for catalog: Catalog, resolver: any AddressResolver) async -> AllowList {
        if let cached = current.withLock({ $0 }), cached.version == catalog.version { return cached.list }
        let list = await AllowList(catalog.settings.allowedBackendHosts).pin(using: resolver)
        current.withLock { $0 = (catalog.version, list) }
        return list
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
            router.on("/x/:report", method: method) { request, context in
                let id = try context.parameters.require("report")
                guard request.uri.path.hasSuffix("/") else {
                    _ = try report(id, context: context)
                    return Response(status: .permanentRedirect, headers: [.location: "/x/\(id)/"])
                }
                return try await forward(request, context: context)
            }
            router.on("/x/:report/**", method: method) { request, context in
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
        let path = String(request.uri.path.dropFirst(prefix.count))
        var body: ByteBuffer?
        if request.method == .post {
            do {
                body = try await request.body.collect(upTo: BackendProxy.maximumRequestBytes)
            } catch {
                throw PortalError(
                    status: .contentTooLarge, title: "Request too large",
                    message: "The request body is larger than \(BackendProxy.maximumRequestBytes) bytes.")
            }
        }
        let allowList = await environment.allowLists.list(
            for: environment.catalog.current, resolver: environment.proxy.resolver)
        let proxied: ProxyResponse
        do throws(ProxyError) {
            proxied = try await environment.proxy.forward(
                ProxyRequest(
                    method: request.method, path: path, query: request.uri.query, headers: request.headers, body: body,
                    viewer: viewer.user ?? "anonymous"),
                to: backend, reportID: report.id.rawValue, allowList: allowList)
        } catch {
            environment.logger.warning(
                "external report failed",
                metadata: ["report": "\(id)", "backend": "\(backend.id)", "error": "\(error)"])
            throw PortalError(
                status: error.status,
                title: error.status == .gatewayTimeout ? "Report app too slow" : "Report app error",
                message: "\(report.title): \(error)",
                hint:
                    "The page comes from \(backend.title), which \(environment.catalog.current.team(backend.owner)?.name ?? backend.owner.rawValue) runs; try again later or tell them."
            )
        }
        // A page (not each script or image it loads) counts as one view of the report.
        if request.method == .get, proxied.headers[.contentType]?.hasPrefix("text/html") == true {
            environment.views.record(
                ViewEvent(
                    itemKind: ItemKind.report.rawValue, itemID: report.id.rawValue, viewer: viewer.user,
                    viewedAt: environment.now()))
        }
        return Response(
            status: proxied.status, headers: proxied.headers,
            body: request.method == .head ? .init() : .init(byteBuffer: proxied.body))
    }
}
