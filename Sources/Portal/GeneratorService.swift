import AlmanacCore
import Artifacts
import Catalog
import Foundation
import Generators
import HTTPTypes
public import Hummingbird
import Logging
import Pages
import ServiceLifecycle
import Storage

/// `almanac generator`: Almanac's generators as an HTTP service that portals call instead of
/// generating in-process (``GeneratorClient`` is the other side).
///
/// - `GET /healthz`: `ok`.
/// - `GET /reports/{id}/latest`: the latest artifact version as JSON (`name`, `generatedAt`,
///   `files`), generating the report first when it has none.
/// - `GET /reports/{id}/versions/{version}/{file}`: one file of a version.
/// - `GET /templates/{id}?param=value…`: the template's dashboard HTML for those values;
///   `_title` sets its title and `_hidden=1,3` leaves out panels the viewer may not see.
///
/// Errors have the portal's one shape (`{"status", "title", "error", "hint", "parameter"}`):
/// a refused parameter is a 400 that names it.
///
/// Access control stays with the portal: it checks the viewer and names the hidden panels.
/// With `token` set, every request but `/healthz` needs `Authorization: Bearer <token>`.
public func buildGeneratorApplication(
    _ environment: PortalEnvironment, server: ServerConfiguration, token: String?,
    onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router()
    // A generator generates here, whatever remote generators its environment names.
    let source = environment.dashboards.map { configuration in
        var local = configuration
        local.remote = nil
        return local.source(environment: environment)
    }
    let dashboards = DashboardCache(source: source)
    let renders = TemplateRenderCache(clock: environment.clock)
    router.add(middleware: GeneratorErrorMiddleware())
    router.add(middleware: BearerTokenMiddleware(token: token))
    router.get("/healthz") { _, _ in "ok\n" }
    router.get("/reports/:id/latest") { _, context in
        let id = try context.parameters.require("id")
        guard source != nil, let report = environment.catalog.current.report(ReportID(id)), report.kind == .dashboard
        else {
            throw HTTPError(.notFound, message: "no report '\(id)'")
        }
        guard let dashboard = await dashboards.html(for: report)
        else { throw HTTPError(.serviceUnavailable, message: "report '\(id)' could not be generated") }
        let version = dashboard.version
        return JSONResponse.make(
            GeneratedVersion(name: version.name, generatedAt: version.generatedAt, files: version.files))
    }
    router.get("/reports/:id/versions/:version/:file") { _, context in
        let id = try context.parameters.require("id")
        let version = try context.parameters.require("version")
        let file = try context.parameters.require("file")
        guard environment.catalog.current.report(ReportID(id)) != nil,
            let data = environment.dashboards?.artifacts.read(id: id, version: version, file: file)
        else {
            throw HTTPError(.notFound, message: "no file '\(file)' in version '\(version)' of '\(id)'")
        }
        return Response(
            status: .ok, headers: [.contentType: "application/octet-stream"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
    router.get("/templates/:id") { request, context in
        let id = try context.parameters.require("id")
        let catalog = environment.catalog.current
        guard let configuration = environment.dashboards, let source, let template = catalog.template(TemplateID(id))
        else {
            throw HTTPError(.notFound, message: "no template '\(id)'")
        }
        var values = FormQuery(request).all
        if let version = values.removeValue(forKey: "_catalog"), version != catalog.version {
            throw HTTPError(
                .conflict, message: "this generator serves catalog version \(catalog.version), not \(version)")
        }
        let title = values.removeValue(forKey: "_title") ?? template.title
        let format = values.removeValue(forKey: "_format")
        let hidden = Set(
            (values.removeValue(forKey: "_hidden") ?? "").split(separator: ",").compactMap { Int($0) })
        let bound = try template.bind(values)
        let key = TemplateRenderCache.Key(
            template: id, values: bound.mapValues(\.plainText), catalogVersion: catalog.version,
            asOf: configuration.asOf().description, hiddenPanels: hidden.sorted(), title: title)
        let render = try await renders.render(for: key) { [values] in
            try await source.renderTemplate(
                template, values: bound, raw: values, title: title, hiddenPanels: hidden, catalog: catalog)
        }
        // The portal asks for every file (its data twins); a person's browser gets the HTML.
        if format == "files" { return JSONResponse.make(RenderFiles(files: render.files)) }
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: render.html)))
    }

    let watcher = CatalogWatcher(
        store: environment.catalog, interval: environment.catalogPollInterval, clock: environment.clock,
        logger: environment.logger
    ) { _, _ in }
    var services: [any Service] = [watcher]
    if let generation = environment.scheduledGeneration {
        services.append(ScheduledServices(environment: environment, groups: [generation.group], worker: nil))
    }
    var app = Application(
        router: router, server: PortalHTTPServer.builder(),
        configuration: .init(address: .hostname(server.host, port: server.port), serverName: "Almanac generator"),
        services: services, onServerRunning: { await onServerRunning($0.localAddress?.port ?? 0) },
        logger: environment.logger)
    app.beforeServerStarts {
        try await environment.state.migrate()
        environment.stateReady.open()
        if token == nil, !["127.0.0.1", "::1", "localhost"].contains(server.host) {
            environment.logger.warning(
                "the generator listens beyond loopback without ALMANAC_GENERATOR_TOKEN: anyone who reaches it can render every template, with nothing hidden",
                metadata: ["host": "\(server.host)"])
        }
    }
    return app
}

/// Runs the generator service until SIGTERM/SIGINT.
public func runGenerator(_ environment: PortalEnvironment, server: ServerConfiguration, token: String?) async throws {
    try await buildGeneratorApplication(environment, server: server, token: token).runService()
}

struct GeneratedVersion: Encodable {
    var name: String
    var generatedAt: Date
    var files: [String]
}

/// The generator's errors in the portal's one shape, as JSON (its callers are programs).
struct GeneratorErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let model = EdgeMiddleware.errorModel(
                error, path: request.uri.path, requestID: "generator", logger: context.logger)
            return JSONResponse.make(GeneratorError(model: model), status: HTTPResponse.Status(code: model.status))
        }
    }
}

/// The portal's error shape, plus `message` as generators before 2026-12-05 sent it (what a
/// refused parameter's problem is), so that a portal not yet upgraded still reads the reason.
struct GeneratorError: Encodable {
    var model: ErrorModel

    private enum Key: String, CodingKey { case message }

    func encode(to encoder: any Encoder) throws {
        try model.encode(to: encoder)
        guard let parameter = model.parameter else { return }
        var container = encoder.container(keyedBy: Key.self)
        let prefix = "Parameter '\(parameter)': "
        try container.encode(
            model.error.hasPrefix(prefix) ? String(model.error.dropFirst(prefix.count)) : model.error, forKey: .message)
    }
}

/// Refuses requests without the shared token (when one is configured); `/healthz` is open.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String?

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        guard let token, request.uri.path != "/healthz" else { return try await next(request, context) }
        let given = request.headers[.authorization] ?? ""
        // Compared in constant time: the token is the generator's only protection.
        let expected = Array("Bearer \(token)".utf8)
        let actual = Array(given.utf8)
        var difference = UInt8(expected.count == actual.count ? 0 : 1)
        for (a, b) in zip(expected, actual) { difference |= a ^ b }
        guard difference == 0 else {
            throw HTTPError(.unauthorized, message: "a generator token is required (Authorization: Bearer …)")
        }
        return try await next(request, context)
    }
}

/// A template render's files as the portal asks a generator for them.
struct RenderFiles: Encodable {
    var files: [String: Data]
}
