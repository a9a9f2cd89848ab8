import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Pages
import Rendering
import Storage

/// Admins issue, list and revoke API tokens: `/admin/tokens` for people, `/api/admin/tokens`
/// for programs (with an admin-scoped token, or through the sign-on).
struct TokenController {
    let environment: PortalEnvironment

    /// What a request to create a token says (JSON, or the page's form).
    struct CreateBody: Decodable {
        var name: String
        var subject: String
        var groups: [String]?
        var scopes: [String]
        var expiresInDays: Int?

        enum CodingKeys: String, CodingKey {
            case name, subject, groups, scopes
            case expiresInDays = "expires_in_days"
        }
    }

    struct Created: Encodable {
        var ok = true
        var token: APITokenRecord
        /// Shown once: only its hash is kept.
        var secret: String
    }

    struct Revoked: Encodable {
        var ok = true
        var id: String
        var revoked: Bool
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get(Route.Mount.adminTokens.routerPath) { request, context in
            let viewer = try requireAdmin(context)
            return try await page(viewer: viewer, created: nil)
        }
        router.get(Route.Mount.adminTokens.apiRouterPath) { request, context in
            let viewer = try requireAdmin(context)
            return JSONResponse.make(try await model(viewer: viewer))
        }
        router.post(Route.Mount.adminTokens.routerPath) { request, context in
            let viewer = try requireAdmin(context)
            try LifecycleController.requireSameOrigin(request, context: context)
            let created = try await create(try await body(request), by: viewer)
            // The secret is on this response only (no redirect: a reload must not show it again).
            return try await page(viewer: viewer, created: created)
        }
        router.post(Route.Mount.adminTokens.apiRouterPath) { request, context in
            let viewer = try requireAdmin(context)
            try LifecycleController.requireSameOrigin(request, context: context)
            let created = try await create(try await body(request), by: viewer)
            return JSONResponse.make(Created(token: created.record, secret: created.secret), status: .created)
        }
        router.post(Route.Mount.adminTokenRevoke.routerPath) { request, context in
            let viewer = try requireAdmin(context)
            try LifecycleController.requireSameOrigin(request, context: context)
            _ = try await revoke(try context.parameters.require("id"), by: viewer)
            return Response(status: .seeOther, headers: [.location: Route.adminTokens.path, .cacheControl: "no-store"])
        }
        for method in [HTTPRequest.Method.post, .delete] {
            let path =
                method == .post ? Route.Mount.adminTokenRevoke.apiRouterPath : Route.Mount.adminToken.apiRouterPath
            router.on(path, method: method) { request, context in
                let viewer = try requireAdmin(context)
                try LifecycleController.requireSameOrigin(request, context: context)
                let id = try context.parameters.require("id")
                return JSONResponse.make(Revoked(id: id, revoked: try await revoke(id, by: viewer)))
            }
        }
    }

    private func requireAdmin(_ context: AppRequestContext) throws -> Viewer {
        let viewer = try context.requireViewer()
        guard viewer.isAdmin else { throw PortalError.adminOnly }
        return viewer
    }

    private func view(_ viewer: Viewer) -> CatalogView { CatalogView(environment.catalog.current, viewer: viewer) }

    /// Revokes token `id`: `true`, or `false` when it was already revoked; 404 when there is none.
    private func revoke(_ id: String, by viewer: Viewer) async throws -> Bool {
        if try await environment.tokens.revoke(id: id, by: viewer.displayName) { return true }
        guard try await environment.tokens.list().contains(where: { $0.id == id }) else {
            throw PortalError.notFound("API token", id)
        }
        return false
    }

    private func create(_ body: CreateBody, by viewer: Viewer) async throws -> (record: APITokenRecord, secret: String)
    {
        var scopes: [APITokenRecord.Scope] = []
        for text in body.scopes {
            guard let scope = APITokenRecord.Scope(rawValue: text) else {
                throw PortalError.badParameter(
                    "scopes",
                    "'\(text)' is not a scope; use \(APITokenRecord.Scope.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            scopes.append(scope)
        }
        let days = body.expiresInDays ?? Int(APITokenAuthority.defaultLifetime.components.seconds / 86_400)
        guard (1...366).contains(days) else {
            throw PortalError.badParameter("expires_in_days", "\(days) is not between 1 and 366")
        }
        return try await environment.tokens.issue(
            name: body.name, subject: body.subject, groups: body.groups ?? [], scopes: scopes,
            lifetime: .seconds(days * 86_400), by: viewer.displayName)
    }

    private func body(_ request: Request) async throws -> CreateBody {
        let buffer = try await request.body.collect(upTo: EdgeMiddleware.maximumBodySize)
        let data = Data(buffer.readableBytesView)
        if request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true {
            do {
                return try JSONDecoder().decode(CreateBody.self, from: data)
            } catch {
                throw PortalError(
                    status: .badRequest, title: "Bad request",
                    message:
                        "The body is not a JSON object with 'name', 'subject', 'scopes' (and optional 'groups', 'expires_in_days')."
                )
            }
        }
        let form = FormQuery(encoded: String(decoding: data, as: UTF8.self))
        var days: Int?
        if let text = form.get("expires_in_days"), !text.isEmpty {
            guard let value = Int(text) else {
                throw PortalError.badParameter("expires_in_days", "'\(text)' is not a whole number of days")
            }
            days = value
        }
        return CreateBody(
            name: form.get("name") ?? "", subject: form.get("subject") ?? "",
            groups: (form.get("groups") ?? "").split(separator: ",").map { String($0).trimmingWhitespace() },
            scopes: form.values("scopes"), expiresInDays: days)
    }

    private func model(
        viewer: Viewer, created: (record: APITokenRecord, secret: String)? = nil
    ) async throws
        -> AdminTokensModel
    {
        let formatter = PageBuilder(view: view(viewer)).formatter
        let now = environment.now()
        return AdminTokensModel(
            tokens: try await environment.tokens.list().map { Self.row($0, formatter: formatter, now: now) },
            createdSecret: created?.secret,
            created: created.map { Self.row($0.record, formatter: formatter, now: now) },
            scopes: APITokenRecord.Scope.allCases.map { scope in
                AdminTokensModel.ScopeOption(
                    name: scope.rawValue, hint: Self.hints[scope] ?? "", checked: scope == .read)
            },
            defaultDays: Int(APITokenAuthority.defaultLifetime.components.seconds / 86_400), maximumDays: 366)
    }

    private func page(viewer: Viewer, created: (record: APITokenRecord, secret: String)?) async throws -> Response {
        let model = try await model(viewer: viewer, created: created)
        let builder = PageBuilder(view: view(viewer), now: environment.now())
        let page = Page(
            layout: builder.layout(
                title: "API tokens", active: .adminTokens, apiURL: Route.adminTokens.apiPath,
                catalogBroken: !environment.catalog.status.rejectedDiagnostics.isEmpty),
            page: model)
        return HTMLResponse.make(try environment.renderer.render(page, template: "pages/admin-tokens"))
    }

    static let hints: [APITokenRecord.Scope: String] = [
        .read: "every GET under /api", .lifecycle: "POST /api/lifecycle/…, as its subject",
        .admin: "/api/admin/… (with an admin group)",
    ]

    static func row(_ token: APITokenRecord, formatter: Rendering.Formatter, now: Date) -> AdminTokensModel.Row {
        let state =
            token.revokedAt != nil ? "revoked" : token.expiresAt.map { $0 <= now } == true ? "expired" : "active"
        return AdminTokensModel.Row(
            token: token, state: state, createdText: formatter.dateTime(token.createdAt),
            expiresText: token.expiresAt.map { formatter.dateTime($0) },
            lastUsedText: token.lastUsedAt.map { formatter.dateTime($0) },
            revokedText: token.revokedAt.map { formatter.dateTime($0) })
    }
}
