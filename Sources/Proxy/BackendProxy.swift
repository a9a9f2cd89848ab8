import AlmanacCore
import AsyncHTTPClient
public import Catalog
import Foundation
public import HTTPTypes
public import NIOCore
import NIOHTTP1
import Synchronization

/// Why a request to a backend was not forwarded or not answered, with the HTTP status the
/// portal answers with and a message that names the problem.
public enum ProxyError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The path tries to leave the backend's base path, or is malformed.
    case pathRejected(String)
    /// The host or the address connected to is not on the allow-list.
    case notAllowed(String)
    /// The backend answered with a redirect to another origin.
    case redirectElsewhere(String)
    /// The backend took longer than its timeout.
    case timeout(String)
    /// The backend could not be reached.
    case unreachable(String)
    /// The request or the response is larger than the limit.
    case requestTooLarge(String)
    case responseTooLarge(String)

    public var status: HTTPResponse.Status {
        switch self {
        case .pathRejected: .badRequest
        case .notAllowed, .redirectElsewhere, .unreachable, .responseTooLarge: .badGateway
        case .timeout: .gatewayTimeout
        case .requestTooLarge: .contentTooLarge
        }
    }

    /// The full account, for logs (it may name internal addresses).
    public var description: String {
        switch self {
        case .pathRejected(let text), .notAllowed(let text), .redirectElsewhere(let text), .timeout(let text),
            .unreachable(let text), .requestTooLarge(let text), .responseTooLarge(let text):
            text
        }
    }

    /// What the viewer is told: the problem, without internal addresses or library errors.
    public var publicDescription: String {
        switch self {
        case .pathRejected(let text), .timeout(let text), .requestTooLarge(let text): text
        case .notAllowed: "the report app's address is not allowed by backends.allowed_hosts"
        case .redirectElsewhere: "the report app redirected to another site, which the portal does not follow"
        case .unreachable: "the report app could not be reached"
        case .responseTooLarge:
            "the report app's answer is larger than the \(BackendProxy.maximumResponseBytes >> 20) MiB the portal passes on"
        }
    }
}

/// A viewer's request to `/x/{report}/{path}`, as the portal received it.
public struct ProxyRequest: Sendable {
    public var method: HTTPRequest.Method
    /// The raw (still percent-encoded) path after `/x/{report}/`, without the query.
    public var path: String
    /// The raw query string, without `?`.
    public var query: String?
    public var headers: HTTPFields
    public var body: ByteBuffer?
    /// The signed-in viewer, forwarded in ``BackendProxy/viewerHeader``.
    public var viewer: String

    public init(
        method: HTTPRequest.Method, path: String, query: String?, headers: HTTPFields, body: ByteBuffer?,
        viewer: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.viewer = viewer
    }
}

/// The backend's answer, with headers already filtered for the viewer.
public struct ProxyResponse: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: ByteBuffer
}

/// Forwards requests to the report apps teams already run (catalog backends), as a closed
/// proxy:
///
/// - only a catalog backend's own base URL is reached, never a URL from the request;
/// - the path may not climb out of the base path (`..`, encoded slashes or backslashes);
/// - the host must be allow-listed by name, and the address actually connected to must be
///   allow-listed too (plain `http` connects to the checked address itself, so a name
///   re-pointed between check and connection changes nothing);
/// - redirects are not followed: one within the backend is rewritten to stay under
///   `/x/{report}/`, one to another origin is refused;
/// - hop-by-hop headers and the viewer's identity headers (cookies, authorization, the SSO
///   proxy's headers) are dropped; the viewer is named in one header, ``viewerHeader``;
/// - bodies are limited in both directions and the backend's timeout bounds the whole exchange;
/// - every response carries a CSP that sandboxes it into an opaque origin, so a backend's
///   script cannot act as the portal, and the backend cannot set cookies on the portal.
public struct BackendProxy: Sendable {
    /// The one header that tells a backend who is looking: the viewer's user name.
    public static let viewerHeader = HTTPField.Name("X-Almanac-User")!
    /// The path prefix the backend is served under, so it can build its own links.
    public static let prefixHeader = HTTPField.Name("X-Forwarded-Prefix")!
    /// Largest request body forwarded.
    public static let maximumRequestBytes = 1 << 20
    /// Largest response body returned.
    public static let maximumResponseBytes = 16 << 20
    /// The policy every proxied response carries: an opaque, sandboxed origin.
    public static let contentSecurityPolicy =
        "sandbox allow-scripts allow-forms allow-popups allow-downloads; frame-ancestors 'self'; base-uri 'none'"

    /// Identity headers of the viewer's request that never reach a backend, besides the SSO
    /// proxy's own (passed in as `identityHeaders`).
    static let strippedRequestHeaders: Set<String> = [
        "cookie", "authorization", "proxy-authorization", "host", "content-length", "forwarded", "x-forwarded-for",
        "x-forwarded-host", "x-forwarded-proto", "x-real-ip", "x-forwarded-prefix", "x-almanac-user",
    ]
    /// The only response headers passed on: what a page needs to be shown and cached by the
    /// viewer's browser. Anything that acts on the whole origin (cookies, CSP, reporting,
    /// `Clear-Site-Data`, `Alt-Svc`, HSTS, client hints, CORS) stays behind.
    static let passedResponseHeaders: Set<String> = [
        "content-type", "content-encoding", "content-language", "content-disposition", "content-range",
        "accept-ranges", "etag", "last-modified", "expires", "vary", "retry-after",
    ]
    /// RFC 9110 §7.6.1, plus the old `proxy-connection`.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate",
    ]

    /// No redirects followed, a short connect timeout and no retried connects: a backend that
    /// is down fails fast (AsyncHTTPClient would otherwise wait out the whole deadline), and a
    /// refused connection is reported as refused at once, not as a connect timeout later.
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .failingFast)

    public let resolver: any AddressResolver
    /// The SSO proxy's identity headers (user, groups), dropped before forwarding.
    let identityHeaders: Set<String>

    public init(resolver: any AddressResolver = SystemResolver(), identityHeaders: [String] = []) {
        self.resolver = resolver
        self.identityHeaders = Set(identityHeaders.map { $0.lowercased() })
    }

    /// The backend's base URL split into parts.
    struct Base {
        var scheme: String
        var host: String
        var port: Int
        /// Without a trailing slash ("" for the root).
        var path: String

        init?(_ url: String) {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
                components.user == nil, components.password == nil
            else { return nil }
            self.scheme = scheme
            self.host = host.lowercased()
            port = components.port ?? (scheme == "https" ? 443 : 80)
            path =
                components.percentEncodedPath.hasSuffix("/")
                ? String(components.percentEncodedPath.dropLast()) : components.percentEncodedPath
        }

        var authority: String {
            let defaultPort = scheme == "https" ? 443 : 80
            let name = host.contains(":") ? "[\(host)]" : host
            return port == defaultPort ? name : "\(name):\(port)"
        }
    }

    /// Checks a path tail: no segment that is `.` or `..` (also percent-encoded, or before a
    /// `;` as some servers read it), no encoded slash, backslash or percent sign (double
    /// encoding), no malformed encoding, no NUL or control characters, no empty leading segment.
    public static func checkedPath(_ raw: String) throws(ProxyError) -> String {
        if raw.hasPrefix("/") { throw .pathRejected("the path may not start with '//'") }
        let lower = raw.lowercased()
        for bad in ["%2f", "%5c", "\\", "%00", "%25", ";"] where lower.contains(bad) {
            throw .pathRejected("the path contains '\(bad)', which could escape the backend's base path")
        }
        if raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw .pathRejected("the path contains control characters")
        }
        for segment in raw.split(separator: "/", omittingEmptySubsequences: false) {
            guard let decoded = String(segment).removingPercentEncoding else {
                throw .pathRejected("the path segment '\(segment)' is not valid percent-encoding")
            }
            if decoded == "." || decoded == ".." {
                throw .pathRejected("the path contains '\(segment)', which would leave the backend's base path")
            }
        }
        return raw
    }

    /// Sends `request` to `backend` and returns its filtered answer.
    public func forward(
        _ request: ProxyRequest, to backend: Backend, reportID: String, allowList: AllowList
    ) async throws(ProxyError) -> ProxyResponse {
        try await forward(request, to: backend, reportID: reportID, allowList: { _ in allowList })
    }

    /// As above, with the allow-list given per backend host (so that only that host's name is
    /// looked up when its addresses are pinned).
    public func forward(
        _ request: ProxyRequest, to backend: Backend, reportID: String,
        allowList listFor: @Sendable (String) async -> AllowList
    ) async throws(ProxyError) -> ProxyResponse {
        guard let base = Base(backend.url) else { throw .notAllowed("backend '\(backend.id)' has no usable URL") }
        let allowList = await listFor(base.host)
        guard allowList.permits(host: base.host) else {
            throw .notAllowed("backend host '\(base.host)' is not in backends.allowed_hosts")
        }
        let path = try Self.checkedPath(request.path)
        if let body = request.body, body.readableBytes > Self.maximumRequestBytes {
            throw .requestTooLarge("the request body is larger than \(Self.maximumRequestBytes) bytes")
        }

        // Resolve once, check the address, and connect to that very address (plain http);
        // https keeps the name, whose certificate a re-pointed name could not present.
        let addresses: [IPAddress]
        do {
            addresses = try await resolver.addresses(of: base.host)
        } catch {
            throw .unreachable("cannot resolve backend host '\(base.host)': \(error)")
        }
        // Every address the name has must be allowed: for https the client resolves it again.
        guard let address = addresses.first, addresses.allSatisfy({ allowList.permits(address: $0, for: base.host) })
        else {
            throw .notAllowed(
                "backend host '\(base.host)' resolved to \(addresses.map(\.description).joined(separator: ", ")), "
                    + "which is not an allow-listed address")
        }
        let connectHost =
            base.scheme == "http" ? address.urlHost : (base.host.contains(":") ? "[\(base.host)]" : base.host)
        var url = "\(base.scheme)://\(connectHost):\(base.port)\(base.path)/\(path)"
        if let query = request.query, !query.isEmpty { url += "?" + query }

        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        outgoing.headers = forwardedHeaders(request.headers)
        outgoing.headers.replaceOrAdd(name: "Host", value: base.authority)
        outgoing.headers.replaceOrAdd(name: Self.viewerHeader.rawName, value: request.viewer)
        outgoing.headers.replaceOrAdd(name: Self.prefixHeader.rawName, value: "/x/\(reportID)")
        if let body = request.body { outgoing.body = .bytes(body) }

        // One deadline over the whole exchange: the client's own stops at the response head,
        // and a backend that trickles its body would otherwise hold the request forever.
        let limit = Duration.seconds(max(1, backend.timeout.seconds))
        let exchange: (response: HTTPClientResponse, body: ByteBuffer)
        do {
            exchange = try await withEventLoopDeadline(limit) { [outgoing] in
                let response = try await Self.client.execute(
                    outgoing, timeout: .seconds(Int64(limit.components.seconds)))
                return (response, try await response.body.collect(upTo: Self.maximumResponseBytes))
            }
        } catch is DeadlineExceeded {
            throw .timeout("backend '\(backend.id)' did not answer within \(backend.timeout)")
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw .timeout("backend '\(backend.id)' did not answer within \(backend.timeout)")
        } catch is NIOTooManyBytesError {
            throw .responseTooLarge(
                "backend '\(backend.id)' answered with more than \(Self.maximumResponseBytes) bytes")
        } catch {
            throw .unreachable("cannot reach backend '\(backend.id)' at \(base.authority): \(error)")
        }
        let response = exchange.response
        let body = exchange.body

        var headers = HTTPFields()
        for (name, value) in response.headers where Self.passedResponseHeaders.contains(name.lowercased()) {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        // Pages are per viewer (the backend knows who asks): no shared cache may keep them.
        let cacheControl = response.headers[canonicalForm: "cache-control"].map { String($0).lowercased() }
        headers[.cacheControl] =
            cacheControl.contains("no-store")
            ? "no-store"
            : (["private"] + cacheControl.filter { $0 != "public" && $0 != "private" }).joined(separator: ", ")
        if (300..<400).contains(Int(response.status.code)), let location = response.headers.first(name: "location") {
            headers[.location] = try rewrittenLocation(
                location, base: base, requestPath: path, reportID: reportID)
        }
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        // No Cross-Origin-Resource-Policy: the sandboxed pages have an opaque origin, so their
        // own scripts and styles count as cross-origin to them and must stay loadable.
        return ProxyResponse(
            status: HTTPResponse.Status(code: Int(response.status.code), reasonPhrase: response.status.reasonPhrase),
            headers: headers, body: body)
    }

    func forwardedHeaders(_ fields: HTTPFields) -> HTTPHeaders {
        let connectionListed = Set(
            fields[values: .connection].flatMap { $0.split(separator: ",") }.map {
                $0.trimmingCharacters(in: .whitespaces).lowercased()
            })
        var headers = HTTPHeaders()
        for field in fields {
            let lower = field.name.canonicalName
            // `X_Almanac_User` reads as `X-Almanac-User` to CGI-style servers: names with `_` are
            // dropped rather than trusted to be harmless.
            if lower.contains("_") || Self.hopByHop.contains(lower) || connectionListed.contains(lower)
                || Self.strippedRequestHeaders.contains(lower) || identityHeaders.contains(lower)
            {
                continue
            }
            headers.add(name: field.name.rawName, value: field.value)
        }
        return headers
    }

    /// A redirect that stays within the backend (same origin, under its base path, after
    /// resolving it against the page asked for and removing dot segments) becomes a path under
    /// `/x/{report}/`; any other is refused rather than followed or passed on.
    func rewrittenLocation(
        _ location: String, base: Base, requestPath: String, reportID: String
    ) throws(ProxyError) -> String {
        let prefix = "/x/\(reportID)"
        if location.contains("\\") || location.unicodeScalars.contains(where: { $0.value < 0x20 }) {
            throw .redirectElsewhere("the backend redirected to '\(location)', which the portal does not follow")
        }
        // A backend that honours X-Forwarded-Prefix already answers with the portal's path.
        if location == prefix || location.hasPrefix(prefix + "/") { return location }
        let current = "\(base.scheme)://\(base.authority)\(base.path)/\(requestPath)"
        guard let resolved = URL(string: location, relativeTo: URL(string: current))?.absoluteURL.standardized,
            let components = URLComponents(url: resolved, resolvingAgainstBaseURL: false),
            let target = Base(resolved.absoluteString)
        else {
            throw .redirectElsewhere("the backend redirected to '\(location)', which the portal does not follow")
        }
        guard target.scheme == base.scheme, target.host == base.host, target.port == base.port else {
            throw .redirectElsewhere(
                "the backend redirected to \(target.scheme)://\(target.authority), another origin, which the portal does not follow"
            )
        }
        let path = components.percentEncodedPath
        guard path == base.path || path.hasPrefix(base.path + "/") else {
            throw .redirectElsewhere("the backend redirected outside its base path, to '\(path)'")
        }
        var rewritten = prefix + "/" + path.dropFirst(base.path.count).drop { $0 == "/" }
        if let query = components.percentEncodedQuery { rewritten += "?" + query }
        return rewritten
    }
}

extension HTTPClient.Configuration {
    /// The proxy's and the generator client's: no redirects, no decompression, a one-second
    /// connect timeout and a refused connection failing the request at once.
    static var failingFast: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(1)), decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }
}

/// Runs `work` in a task that an event-loop timer cancels when `limit` passes first, and
/// then throws `DeadlineExceeded`. One task and one timer per call: this sits on the path of
/// every proxied page. (A network deadline is real time; AlmanacCore's clock-driven
/// `withDeadline` is for what tests time with a manual clock.)
func withEventLoopDeadline<T: Sendable>(
    _ limit: Duration, _ work: @escaping @Sendable () async throws -> T
) async throws -> T {
    let task = Task(operation: work)
    let fired = TimerFlag()
    let timer = HTTPClient.defaultEventLoopGroup.any().scheduleTask(in: .nanoseconds(Int64(limit / .nanoseconds(1)))) {
        fired.value.store(true, ordering: .releasing)
        task.cancel()
    }
    defer { timer.cancel() }
    do {
        let value = try await withTaskCancellationHandler {
            try await task.value
        } onCancel: {
            task.cancel()
        }
        if fired.value.load(ordering: .acquiring) { throw DeadlineExceeded() }
        return value
    } catch {
        if fired.value.load(ordering: .acquiring) { throw DeadlineExceeded() }
        throw error
    }
}

/// Set when a deadline's timer has fired.
private final class TimerFlag: Sendable {
    let value = Atomic<Bool>(false)
}
