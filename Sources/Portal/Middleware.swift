import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Pages
import Proxy
import Rendering
import Storage
import Synchronization

/// The outermost layer: a request id for every request, security headers on every
/// response, and every error turned into the error page or the JSON error shape.
///
/// Unknown errors never reach people: they get "something went wrong" with the request
/// id, and the log gets the details under the same id.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let renderer: PageRenderer
    let catalog: CatalogStore
    private static let counter = Atomic<UInt64>(0)
    // Field names parsed once, not on every request.
    static let requestIDField = HTTPField.Name("X-Request-ID")!
    static let securityPolicyField = HTTPField.Name("Content-Security-Policy")!
    static let contentTypeOptionsField = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicyField = HTTPField.Name("Referrer-Policy")!
    static let frameOptionsField = HTTPField.Name("X-Frame-Options")!
    private static let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)

    /// `default-src 'self'` and no inline script or style: catalog text that slipped past
    /// escaping still could not run.
    static let contentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var context = context
        let requestID = Self.requestID(request)
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        var response: Response
        do {
            // Refused before any route reads it, whatever the route; bodies sent without a
            // length are cut off at the same size where they are read.
            let limit = Self.bodyLimit(path: request.uri.path)
            if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
                throw Self.bodyTooLarge(limit: limit)
            }
            response = try await next(request, context)
        } catch {
            response = errorResponse(error, request: request, context: context)
        }
        Self.addHeaders(to: &response.headers, requestID: requestID, path: request.uri.path)
        return response
    }

    /// The request's id: the one a proxy in front sent (when it is short and plain), else a new one.
    static func requestID(_ request: Request) -> String {
        if let sent = request.headers[requestIDField],
            sent.count <= 64, sent.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" })
        {
            return sent
        }
        return "\(prefix)-\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }

    /// The request id and the security headers every response carries.
    static func addHeaders(to headers: inout HTTPFields, requestID: String, path: String) {
        headers[requestIDField] = requestID
        // External report pages live in a sandboxed, opaque origin that only the portal may frame.
        // `///x/…` routes like `/x/…`: the check ignores leading slashes, so it cannot be dodged.
        let external = path.drop { $0 == "/" }.hasPrefix("x/")
        headers[securityPolicyField] = external ? BackendProxy.contentSecurityPolicy : contentSecurityPolicy
        headers[contentTypeOptionsField] = "nosniff"
        headers[referrerPolicyField] = "same-origin"
        headers[frameOptionsField] = external ? "SAMEORIGIN" : "DENY"
    }

    /// The largest request body the portal's own routes accept (lifecycle forms and API calls
    /// are small).
    static let maximumBodySize = 64 * 1024

    /// The largest body a route accepts: the portal's limit, or the proxy's for report apps.
    static func bodyLimit(path: String) -> Int {
        path.drop { $0 == "/" }.hasPrefix("x/") ? BackendProxy.maximumRequestBytes : maximumBodySize
    }

    static func bodyTooLarge(limit: Int) -> PortalError {
        PortalError(
            status: .contentTooLarge, title: "Request too large",
            message: "The request body is larger than \(limit / 1024) KiB, the most this route accepts.",
            hint: "Send a shorter reason or fewer fields.")
    }

    func errorResponse(_ error: any Error, request: Request, context: Context) -> Response {
        if let tombstone = error as? TombstoneError {
            return tombstoneResponse(tombstone, request: request)
        }
        // A body cut off where a route reads it is the same 413 as one refused by its length.
        let error =
            error is NIOTooManyBytesError ? Self.bodyTooLarge(limit: Self.bodyLimit(path: request.uri.path)) : error
        let model = Self.errorModel(error, path: request.uri.path, requestID: context.requestID, logger: context.logger)
        let status = HTTPResponse.Status(code: model.status)
        if request.uri.path.hasPrefix("/api/") || request.uri.path == "/readyz" {
            return JSONResponse.make(model, status: status)
        }
        let catalogNow = catalog.current
        let viewer = context.viewer ?? Viewer(user: nil)
        let builder = PageBuilder(view: CatalogView(catalogNow, viewer: viewer))
        let page = Page(
            layout: builder.layout(title: model.title, active: nil, apiURL: nil, catalogBroken: false), page: model)
        // A report app's page that fails inside its report's frame says so in the frame, not
        // with a second copy of the portal (header, search box, navigation) nested in the first.
        let inFrame =
            request.uri.path.hasPrefix("/x/") && request.headers[HTTPField.Name("Sec-Fetch-Dest")!] == "iframe"
        if let html = try? renderer.render(page, template: inFrame ? "pages/frame-error" : "pages/error") {
            return HTMLResponse.make(html, status: status)
        }
        return Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: "\(model.title): \(model.error)\n")))
    }
}

extension EdgeMiddleware {
    /// The one error shape of pages and API alike (and of the generator service): the mapped
    /// domain error, Hummingbird's own HTTP errors, or a 500 that names only the request id.
    static func errorModel(_ error: any Error, path: String, requestID: String, logger: Logger) -> ErrorModel {
        switch PortalError(mapping: error) ?? error {
        case let mapped as PortalError:
            if mapped.status.code >= 500 {
                logger.warning("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            return ErrorModel(
                status: Int(mapped.status.code), title: mapped.title, error: mapped.message, hint: mapped.hint,
                parameter: mapped.parameter, requestID: requestID)
        case let error as HTTPError:
            let status = error.status
            let message = error.body ?? (status == .notFound ? "There is no page at \(path)." : status.reasonPhrase)
            return ErrorModel(
                status: Int(status.code), title: status == .notFound ? "Page not found" : status.reasonPhrase,
                error: message, hint: status == .notFound ? "Check the address, or start from the home page." : nil,
                requestID: requestID)
        default:
            logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return ErrorModel(
                status: 500, title: "Something went wrong",
                error: "Something went wrong on our side (request id: \(requestID)).",
                hint: "Try again in a moment; if it keeps happening, tell the data platform team the request id.",
                requestID: requestID)
        }
    }

    /// 410 Gone with the tombstone: a page for people, the model as JSON under /api.
    func tombstoneResponse(_ tombstone: TombstoneError, request: Request) -> Response {
        let model = tombstone.model
        if request.uri.path.hasPrefix("/api/") { return JSONResponse.make(model, status: .gone) }
        let builder = PageBuilder(view: CatalogView(catalog.current, viewer: tombstone.viewer))
        let page = Page(
            layout: builder.layout(
                title: model.heading, active: nil, apiURL: tombstone.apiURL, catalogBroken: false),
            page: model)
        guard let html = try? renderer.render(page, template: "pages/tombstone") else {
            return Response(
                status: .gone, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "\(model.heading). \(model.reason ?? "")\n")))
        }
        return HTMLResponse.make(html, status: .gone)
    }
}

/// Decides the viewer of every request but the public ones (health checks, static files).
struct AuthMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let authenticator: Authenticator
    let catalog: CatalogStore
    let tokens: APITokenAuthority
    /// The configured identity headers' names, parsed once (nil: not a valid field name).
    let userHeader: HTTPField.Name?
    let groupsHeader: HTTPField.Name?
    static let publicPrefixes = ["/healthz", "/readyz", "/metrics", "/static/", "/favicon.ico"]

    init(authenticator: Authenticator, catalog: CatalogStore, tokens: APITokenAuthority) {
        self.authenticator = authenticator
        self.catalog = catalog
        self.tokens = tokens
        userHeader = HTTPField.Name(authenticator.configuration.userHeader)
        groupsHeader = HTTPField.Name(authenticator.configuration.groupsHeader)
    }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        let path = request.uri.path
        if Self.publicPrefixes.contains(where: { path == $0 || (path.hasPrefix($0) && $0.hasSuffix("/")) }) {
            return try await next(request, context)
        }
        switch try signIn(request, context: context) {
        case .person(let context):
            return try await next(request, context)
        case .token(let secret, var context):
            context.viewer = try await tokenViewer(secret: secret, request: request, context: context)
            context.logger[metadataKey: "user"] = .string(context.viewer?.user ?? "")
            return try await next(request, context)
        }
    }

    /// How a request signs in: as a person through the sign-on proxy's headers, decided at once,
    /// or with one of Almanac's API tokens, which the state store must check.
    enum SignIn {
        case person(Context)
        case token(secret: String, Context)
    }

    /// The request's context with its viewer when the sign-on proxy's headers decide it, or the
    /// API token the caller must check. Public routes are not asked; a repeated identity header
    /// (logged) and a request nobody signed in are errors.
    func signIn(_ request: Request, context: Context) throws -> SignIn {
        if let name = repeatedIdentityHeader(request) {
            context.logger.warning(
                "identity header repeated",
                metadata: [
                    "header": "\(name.rawName)", "peer": "\(context.remoteAddress?.ipAddress ?? "?")",
                ])
            throw PortalError(
                status: .badRequest, title: "Bad request",
                message: "The request carries the \(name.rawName) header more than once.",
                hint: "The sign-on proxy must replace identity headers a client sends, not add to them.")
        }
        return try signInAfterRepeatCheck(request, context: context)
    }

    /// A header sent twice is two claims: a proxy that appends instead of replacing would let a
    /// client add its own. HTTP field APIs join repeats with commas, so they are counted here,
    /// before anything reads them.
    func repeatedIdentityHeader(_ request: Request) -> HTTPField.Name? {
        [userHeader, groupsHeader].lazy.compactMap { $0 }.first { request.headers.count(of: $0) > 1 }
    }

    /// ``signIn(_:context:)`` of a request whose identity headers are not repeated (checked by
    /// the caller); an error here logs nothing. `naming` puts the user in the request's log
    /// metadata (an early answer logs nothing, so it does not).
    func signInAfterRepeatCheck(_ request: Request, context: Context, naming: Bool = true) throws -> SignIn {
        var context = context
        let address = context.remoteAddress.flatMap(IPAddress.init)
        context.fromTrustedProxy = authenticator.isTrustedProxy(address: address)
        // Only Almanac's own tokens: an SSO proxy may pass its own bearer token along with the
        // identity headers (oauth2-proxy's pass_authorization_header), which is not for us.
        if let first = request.headers.firstValue(of: .authorization), first.lowercased().hasPrefix("bearer "),
            first.dropFirst("bearer ".count).trimmingPrefix(while: \.isWhitespace).hasPrefix(APITokenAuthority.prefix)
        {
            guard request.headers.count(of: .authorization) == 1 else {
                throw PortalError(
                    status: .badRequest, title: "Bad request",
                    message: "The request carries the Authorization header more than once.")
            }
            return .token(secret: String(first.dropFirst("bearer ".count)).trimmingWhitespace(), context)
        }
        do {
            context.viewer = try authenticator.viewer(
                address: address, user: userHeader.flatMap { request.headers.firstValue(of: $0) },
                groups: groupsHeader.flatMap { request.headers.firstValue(of: $0) }, settings: catalog.settings)
        } catch {
            throw PortalError.notSignedIn
        }
        if naming, let user = context.viewer?.user { context.logger[metadataKey: "user"] = .string(user) }
        return .person(context)
    }
}

extension AuthMiddleware {
    /// The viewer an API token stands for: its subject with exactly its groups (an admin when
    /// they include an admin group), after the route's scope is checked.
    func tokenViewer(secret: String, request: Request, context: Context) async throws -> Viewer {
        let path = request.uri.path
        guard path.hasPrefix("/api/") else {
            throw PortalError(
                status: .badRequest, title: "Bad request",
                message: "API tokens are accepted on /api routes only; pages are for people, through the sign-on.")
        }
        let record: APITokenRecord
        do throws(APITokenError) {
            record = try await tokens.authenticate(secret: secret, peer: Self.client(request, context: context))
        } catch .invalid {
            // Signing in, a malformed token is as unknown as a revoked one.
            throw APITokenError.invalidToken
        }
        let needed = Self.scope(method: request.method, path: path)
        guard record.scopes.contains(needed) else {
            throw PortalError(
                status: .forbidden, title: "Not allowed",
                message: "This API token does not have the '\(needed.rawValue)' scope this route needs.")
        }
        let groups = Set(record.groups)
        return Viewer(
            user: record.subject, groups: groups,
            isAdmin: !groups.isDisjoint(with: catalog.current.settings.adminGroups))
    }

    /// The address failed attempts are counted against: behind a trusted proxy, the client
    /// address it reports (the last entry of `X-Forwarded-For`, the one it added), so that one
    /// client's failures do not lock out everyone behind the same proxy; else the peer.
    static func client(_ request: Request, context: Context) -> String? {
        if context.fromTrustedProxy,
            let forwarded = request.headers[values: HTTPField.Name("X-Forwarded-For")!].last?
                .split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
            !forwarded.isEmpty
        {
            return forwarded
        }
        return context.remoteAddress?.ipAddress
    }

    /// The scope a token needs for a route: `admin` under /api/admin, `lifecycle` to act
    /// through /api/lifecycle, `read` to read anything else.
    static func scope(method: HTTPRequest.Method, path: String) -> APITokenRecord.Scope {
        if path.hasPrefix("/api/admin/") || path == "/api/admin" { return .admin }
        if path.hasPrefix("/api/lifecycle/") { return .lifecycle }
        return method == .get || method == .head ? .read : .admin
    }
}

enum HTMLResponse {
    static func make(_ html: String, status: HTTPResponse.Status = .ok) -> Response {
        make(ByteBuffer(string: html), status: status)
    }

    static func make(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: body))
    }

    /// A page written from several buffers in turn (a cached page and its gaps), none copied.
    static func make(pieces: [ByteBuffer], status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(contentsOf: pieces))
    }
}

enum JSONResponse {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()

    /// JSON written from several buffers in turn (a cached answer and its gap), none copied.
    static func make(pieces: [ByteBuffer]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(contentsOf: pieces))
    }

    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: body(value)))
    }

    /// `value` as JSON, or an error object when it cannot be encoded.
    static func body(_ value: some Encodable) -> ByteBuffer {
        let data =
            (try? encoder.encode(value))
            ?? Data(#"{"ok":false,"error":"could not encode the response","status":500}"#.utf8)
        return ByteBuffer(bytes: data)
    }
}

extension HTTPFields {
    /// How many times `name` was sent, counted without collecting the values (the `values:`
    /// subscript builds an array on every call).
    func count(of name: HTTPField.Name) -> Int {
        var count = 0
        for field in self where field.name == name { count += 1 }
        return count
    }

    /// The first value sent for `name`. The `String` subscript joins repeats with commas,
    /// building an array and a string for every read; identity headers are read here after
    /// their repeats were refused, so the first value is the only one.
    func firstValue(of name: HTTPField.Name) -> String? {
        first { $0.name == name }?.value
    }
}
