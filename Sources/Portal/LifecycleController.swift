import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Lifecycle
import Logging
import Pages
import Rendering
import Storage

/// A retired or removed object's page: answered with 410 Gone, as a page or as JSON.
struct TombstoneError: Error, Sendable {
    var model: TombstoneModel
    /// Who asked: the page around the tombstone is theirs (navigation, admin links).
    var viewer: Viewer
    var apiURL: String?
}

/// Lifecycle actions (`POST /lifecycle/{kind}/{id}`, JSON under `/api`) and "My reports".
struct LifecycleController {
    let environment: PortalEnvironment

    /// What a lifecycle form or JSON body carries.
    struct ActionBody: Decodable {
        var action: String
        var reason: String?
        var replacement: String?
        var team: String?
    }

    /// The JSON answer to an action.
    struct ActionResult: Encodable {
        var ok = true
        var action: String
        var item: String
        var status: String?
        var owner: String?
        var certified: Bool?
        var event: EventJSON
    }

    struct EventJSON: Encodable {
        var id: Int64?
        var action: String
        var actor: String?
        var reason: String?
        var replacement: String?
        var value: String?
        var at: Date
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post(Route.Mount.lifecycle.routerPath) { request, context in
            let (event, key) = try await act(request, context)
            // Back to the page the form was on, which now shows the new state.
            let page =
                key.kind == .report && event.action == .kept
                ? Route.myReports(nil).path : (Route.item(key)?.path ?? "/")
            return Response(status: .seeOther, headers: [.location: page, .cacheControl: "no-store"])
        }
        router.post(Route.Mount.lifecycle.apiRouterPath) { request, context in
            let (event, key) = try await act(request, context)
            let catalog = environment.catalog.current
            var result = ActionResult(
                action: event.action.rawValue, item: "\(key.kind.rawValue)/\(key.id)",
                event: EventJSON(
                    id: event.id, action: event.action.rawValue, actor: event.actor, reason: event.detail,
                    replacement: event.replacement, value: event.value, at: event.at))
            switch key.kind {
            case .report:
                let report = catalog.report(ReportID(key.id))
                (result.status, result.owner) = (report?.status.rawValue, report?.owner.rawValue)
            case .metric:
                let metric = catalog.metric(MetricID(key.id))
                (result.status, result.owner, result.certified) = (
                    metric?.status.rawValue, metric?.owner.rawValue, metric?.certified
                )
            default:
                result.owner = catalog.template(TemplateID(key.id))?.owner.rawValue
            }
            return JSONResponse.make(result)
        }
        router.get(Route.Mount.myReports.routerPath) { request, context in
            let viewer = try context.requireViewer()
            let (model, builder) = try await myReports(request, viewer: viewer)
            let page = Page(
                layout: builder.layout(
                    title: model.heading, active: .myReports(nil), apiURL: Route.myReports(nil).apiPath,
                    catalogBroken: !environment.catalog.status.rejectedDiagnostics.isEmpty),
                page: model)
            return HTMLResponse.make(try environment.renderer.render(page, template: "pages/my-reports"))
        }
        router.get(Route.Mount.myReports.apiRouterPath) { request, context in
            let viewer = try context.requireViewer()
            return JSONResponse.make(try await myReports(request, viewer: viewer).0)
        }
    }

    private func myReports(_ request: Request, viewer: Viewer) async throws -> (MyReportsModel, PageBuilder) {
        let catalog = environment.catalog.current
        let view = CatalogView(catalog, viewer: viewer)
        let mine = view.teams.filter { $0.includes(viewer) }
        var teams = mine
        var selected: TeamID?
        if let team = FormQuery(request).get("team"), !team.isEmpty {
            guard let chosen = view.team(TeamID(team)) else {
                throw PortalError.badParameter("team", "there is no team '\(team)' that you can see")
            }
            guard viewer.isAdmin || chosen.includes(viewer) else {
                throw PortalError(
                    status: .forbidden, title: "Not your team",
                    message: "Retirement candidates are shown to each team's members and to admins.",
                    hint: "Ask a member of \(chosen.name), or an admin.")
            }
            (teams, selected) = ([chosen], chosen.id)
        } else if mine.isEmpty && viewer.isAdmin {
            teams = view.teams  // an admin in no team sees every team
        }
        let review = try await RetirementReviewer(lifecycle: environment.lifecycle).report()
        let builder = PageBuilder(
            view: view, now: environment.now(), viewCounts: [:], usage: try await environment.usage.totals())
        let choices = viewer.isAdmin ? view.teams : mine
        let model = builder.myReports(
            teams: teams, review: review, choices: choices.count > 1 ? choices : [], selected: selected)
        return (model, builder)
    }

    /// Parses, checks the origin and performs one action.
    private func act(_ request: Request, _ context: AppRequestContext) async throws -> (LifecycleEvent, ItemKey) {
        let viewer = try context.requireViewer()
        try Self.requireSameOrigin(request, context: context)
        let kindText = try context.parameters.require("kind")
        let id = try context.parameters.require("id")
        guard let kind = ItemKind(rawValue: kindText), [.report, .metric, .template].contains(kind) else {
            throw PortalError.notFound("kind of item with a lifecycle", kindText)
        }
        let body = try await Self.body(request)
        guard let action = LifecycleAction(rawValue: body.action) else {
            throw PortalError.badParameter(
                "action",
                "'\(body.action)' is not an action; use one of \(LifecycleAction.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        let lifecycleRequest = LifecycleRequest(
            action: action, kind: kind, id: id, reason: body.reason, replacement: body.replacement, team: body.team)
        let event = try await environment.lifecycle.perform(lifecycleRequest, by: viewer)
        return (event, ItemKey(kind, id))
    }

    static func body(_ request: Request) async throws -> ActionBody {
        let buffer = try await request.body.collect(upTo: EdgeMiddleware.maximumBodySize)
        let data = Data(buffer.readableBytesView)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        if type.hasPrefix("application/json") {
            do {
                return try JSONDecoder().decode(ActionBody.self, from: data)
            } catch {
                throw PortalError(
                    status: .badRequest, title: "Bad request",
                    message:
                        "The body is not a JSON object with a string 'action' (and optional 'reason', 'replacement', 'team')."
                )
            }
        }
        let form = FormQuery(encoded: String(decoding: data, as: UTF8.self))
        guard let action = form.get("action"), !action.isEmpty else {
            throw PortalError.badParameter("action", "missing; say what to do (deprecate, retire, restore, …)")
        }
        return ActionBody(
            action: action, reason: form.get("reason"), replacement: form.get("replacement"), team: form.get("team"))
    }

    /// Refuses requests a browser sent from another site (or from a sandboxed report page,
    /// whose origin is opaque): the SSO cookie would ride along, so the origin must be the
    /// portal's, scheme, host and port. Behind a trusted proxy the address the browser used is
    /// `X-Forwarded-Proto` and `X-Forwarded-Host`; from anyone else those headers are ignored.
    /// Programs that send neither `Origin` nor `Sec-Fetch-Site` (curl, scripts) act with their
    /// own credentials.
    static func requireSameOrigin(_ request: Request, context: AppRequestContext) throws {
        let refuse = PortalError(
            status: .forbidden, title: "Cross-site request refused",
            message: "Lifecycle actions are only accepted from the portal's own pages.",
            hint: "Use the forms on the report's page, or the API without a browser.")
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!] {
            guard site == "same-origin" || site == "none" else { throw refuse }
        }
        guard let origin = request.headers[.origin] else { return }
        guard origin != "null", let sent = WebOrigin(origin) else { throw refuse }
        func first(_ name: String) -> String? {
            guard context.fromTrustedProxy, let value = request.headers[HTTPField.Name(name)!] else { return nil }
            return value.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        // The portal itself speaks plain HTTP; TLS ends at the proxy, which says so.
        let scheme = first("X-Forwarded-Proto") ?? "http"
        guard let authority = first("X-Forwarded-Host") ?? request.head.authority,
            let expected = WebOrigin(scheme + "://" + authority), sent == expected
        else { throw refuse }
    }
}

/// The scheme, host and port of a web origin, with the scheme's default port filled in.
struct WebOrigin: Equatable {
    var scheme: String
    var host: String
    var port: Int

    init?(_ text: String) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host?.lowercased(),
            !host.isEmpty, ["http", "https"].contains(scheme)
        else { return nil }
        self.scheme = scheme
        self.host = host
        let port = url.port ?? (scheme == "https" ? 443 : 80)
        guard (1...65535).contains(port) else { return nil }
        self.port = port
    }
}
