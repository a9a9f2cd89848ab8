import AlmanacCore
import Catalog
import Foundation
public import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
public import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Proxy
import Rendering
import Synchronization

/// The pages whose cached copy a connection may send without going through the router (the
/// report page, the search page and the catalog's cached pages), and the search and
/// type-ahead APIs, whose answers the in-memory index computes without waiting for anything.
///
/// Hummingbird hands every request to a Swift task and back, which costs more than a cached
/// page's own work (on this machine kind its floor, `/healthz`, answers less than half as many
/// requests per second as nginx sends a small file). ``CachedPageHandler`` asks here first, on
/// the connection's event loop, and answers a request at once when the page is in the
/// ``RenderedPageCache`` for the reader's audience. Everything else, a miss included, goes to the
/// router as before, so each route keeps one implementation of its access and its errors.
///
/// A route's early answer must be what the router would send for the same hit: each route
/// registers a closure that computes the same cache key, counts the same view and fills the same
/// gaps as its handler (they share the code); the headers here are those the middleware adds.
final class CachedPageRoutes: Sendable {
    /// The page's pieces for a signed-in request (its context holds the viewer and the path's
    /// parameters), or `nil` when the router must answer: a miss, an error, anything unusual.
    typealias Responder = @Sendable (Request, AppRequestContext) -> [ByteBuffer]?

    private struct Entry: Sendable {
        let answer: Responder
        let json: Bool
        /// The route as the metrics middleware labels it ("/reports/{id}").
        let counter: Counter
        let timer: Metrics.Timer
    }

    /// Mounts of one literal path, and mounts of one literal prefix and one parameter
    /// ("/reports/:id"): every page this serves has one of these two shapes.
    private struct Table: Sendable {
        var exact: [String: Entry] = [:]
        var prefixed: [String: (parameter: Substring, entry: Entry)] = [:]
    }

    private let table = Mutex(Table())
    let authentication: AuthMiddleware
    /// Requests answered here so far.
    let answered = Atomic<Int>(0)
    /// The security headers every early answer carries, whatever the page (see ``EdgeMiddleware``).
    private let securityFields: [HTTPField]
    /// The readers the sign-on proxy's headers name (`nil`: decided on every request).
    let audiences: Audiences?
    /// Serialized once: the status line with the page's headers, the security headers, the server's.
    private let htmlHeadStart: ByteBuffer
    private let jsonHeadStart: ByteBuffer
    private let securityLines: ByteBuffer
    private let serverLine: ByteBuffer

    init(authentication: AuthMiddleware, audiences: Audiences? = nil) {
        self.authentication = authentication
        self.audiences = audiences
        var fields = HTTPFields()
        EdgeMiddleware.addHeaders(to: &fields, requestID: "", path: "/")
        securityFields = fields.filter { $0.name != EdgeMiddleware.requestIDField }
        func start(_ contentType: HTTPField) -> ByteBuffer {
            var buffer = ByteBuffer(string: "HTTP/1.1 200 OK\r\n")
            var lines = Self.lines([contentType, Self.cacheControl])
            buffer.writeBuffer(&lines)
            return buffer
        }
        htmlHeadStart = start(Self.htmlContentType)
        jsonHeadStart = start(Self.jsonContentType)
        securityLines = Self.lines(securityFields)
        var server = Self.lines([HTTPField(name: .server, value: PortalHTTPServer.serverName)])
        server.writeStaticString("\r\n")
        serverLine = server
    }

    /// Answers `mount`'s GET requests (its JSON twin's, with `api`) early when `answer` can.
    /// Mounts of other shapes, a mount another mount could shadow in the router (a literal
    /// segment where this one has a parameter), and a JSON twin with a parameter are not taken.
    func register(_ mount: Route.Mount, api: Bool = false, answer: @escaping Responder) {
        guard let path = api ? mount.api : mount.rawValue else { return }
        guard !path.contains("*"), !Self.isShadowed(mount) else { return }
        let parameters = Self.segments(path).filter { $0.first == ":" }
        // A JSON twin is taken only at a literal path (shadowing is checked among the pages).
        guard !api || parameters.isEmpty else { return }
        guard parameters.count <= 1, parameters.first.map({ path.hasSuffix("/" + $0) }) ?? true else { return }
        PortalMetrics.bootstrap()
        // The series Hummingbird's metrics middleware writes for the route's successful GETs.
        let dimensions = [
            ("http.route", RouterPath(path).description), ("http.request.method", "GET"),
            ("http.response.status_code", "200"),
        ]
        let entry = Entry(
            answer: answer, json: api,
            counter: Counter(label: "hb.requests", dimensions: dimensions),
            timer: Metrics.Timer(
                label: "http.server.request.duration", dimensions: dimensions, preferredDisplayUnit: .seconds))
        table.withLock { table in
            if let parameter = parameters.first {
                table.prefixed[String(path.dropLast(parameter.count))] = (parameter.dropFirst(), entry)
            } else {
                table.exact[path] = entry
            }
        }
    }

    /// An early answer: what ``CachedPageHandler`` writes (its head serialized by ``writeHead(_:into:)``).
    struct Answer {
        let json: Bool
        let requestID: String
        let pieces: [ByteBuffer]
        let length: Int
    }

    /// The complete response to `head` when a registered route has it cached for the reader.
    func response(to head: HTTPRequest, channel: any Channel, logger: Logger) -> (HTTPResponse, [ByteBuffer])? {
        answer(to: head, channel: channel, logger: logger, trusted: nil).map { (response($0), $0.pieces) }
    }

    /// ``response(to:channel:logger:)``'s answer; `trusted` is whether the connection's peer is a
    /// trusted proxy, when its connection already asked (`nil`: ask now).
    func answer(to head: HTTPRequest, channel: any Channel, logger: Logger, trusted: Bool?) -> Answer? {
        let started = ContinuousClock.now
        guard head.method == .get, let target = head.path, target.utf8.first == UInt8(ascii: "/"),
            let fields = headerFields(head.headerFields)
        else { return nil }
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        let path = request.uri.path
        // Paths the router might read differently (escapes, dot segments) are left to it.
        guard !path.utf8.contains(UInt8(ascii: "%")), let (entry, parameters) = match(path) else { return nil }
        var context = AppRequestContext(source: ApplicationRequestContextSource(channel: channel, logger: logger))
        context.coreContext.parameters = parameters
        guard signIn(request, fields, &context, trusted: trusted ?? isTrusted(channel)),
            let pieces = entry.answer(request, context)
        else { return nil }
        entry.counter.increment()
        entry.timer.record(duration: ContinuousClock.now - started)
        answered.add(1, ordering: .relaxed)
        return Answer(
            json: entry.json, requestID: EdgeMiddleware.requestID(request), pieces: pieces,
            length: pieces.reduce(0) { $0 + $1.readableBytes })
    }

    /// The request's fields an early answer reads, from one pass over them.
    private struct Fields {
        var user: String?
        var groups: String?
        var authorization = false
    }

    /// `fields`' identity headers, or `nil` when the router must answer: an identity header
    /// sent twice (a 400 there), a request that closes the connection or has a body.
    private func headerFields(_ fields: HTTPFields) -> Fields? {
        var found = Fields()
        var users = 0
        var groups = 0
        for field in fields {
            switch field.name {
            case .connection, .transferEncoding: return nil
            case .contentLength where field.value != "0": return nil
            case .authorization: found.authorization = true
            case authentication.userHeader:
                users += 1
                found.user = found.user ?? field.value
            case authentication.groupsHeader:
                groups += 1
                found.groups = found.groups ?? field.value
            default: break
            }
        }
        return users > 1 || groups > 1 ? nil : found
    }

    /// Whether `channel`'s peer is one of the trusted proxies (asked once per connection).
    func isTrusted(_ channel: any Channel) -> Bool {
        authentication.authenticator.isTrustedProxy(address: channel.remoteAddress.flatMap(IPAddress.init))
    }

    /// Signs `context` in as ``AuthMiddleware`` would, or says the router must answer (an API
    /// token, no identity). From a trusted proxy the reader is looked up by its identity headers'
    /// values (``Audiences/signedIn(user:groups:in:make:)``), decided by the middleware the first
    /// time.
    private func signIn(
        _ request: Request, _ fields: Fields, _ context: inout AppRequestContext, trusted: Bool
    ) -> Bool {
        func decide(_ context: inout AppRequestContext) -> Bool {
            guard
                case .person(let signedIn)? = try? authentication.signInAfterRepeatCheck(
                    request, context: context, naming: false)
            else { return false }
            context = signedIn
            return true
        }
        guard trusted, !fields.authorization, let user = fields.user, let audiences,
            // The memo's keys are bounded too: longer headers than any real name and groups are
            // decided each time.
            user.utf8.count + (fields.groups?.utf8.count ?? 0) <= Self.longestRememberedIdentity
        else { return decide(&context) }
        var decided = false
        guard
            let reader = audiences.signedIn(
                user: user, groups: fields.groups ?? "", in: authentication.catalog.snapshot,
                make: {
                    decided = decide(&context)
                    return decided ? context.viewer : nil
                })
        else { return false }
        context.fromTrustedProxy = true
        context.viewer = reader.viewer
        context.reader = reader
        return true
    }

    /// The response head of `answer`, as the router would send it.
    func response(_ answer: Answer) -> HTTPResponse {
        // The router's headers, in its order: the page's, the edge's, then the server's.
        var fields = HTTPFields()
        fields.reserveCapacity(securityFields.count + 6)
        fields.append(answer.json ? Self.jsonContentType : Self.htmlContentType)
        fields.append(Self.cacheControl)
        fields.append(HTTPField(name: .contentLength, value: String(answer.length)))
        fields.append(HTTPField(name: EdgeMiddleware.requestIDField, value: answer.requestID))
        fields.append(contentsOf: securityFields)
        fields.append(HTTPField(name: .date, value: HTTPDate.now()))
        fields.append(HTTPField(name: .server, value: PortalHTTPServer.serverName))
        return HTTPResponse(status: .ok, headerFields: fields)
    }

    /// ``response(_:)`` serialized as HTTP/1.1 (as NIO's encoder writes it) into `buffer`, from
    /// lines made once: the status line and the page's headers, the edge's security headers.
    func writeHead(_ answer: Answer, into buffer: inout ByteBuffer) {
        buffer.writeImmutableBuffer(answer.json ? jsonHeadStart : htmlHeadStart)
        buffer.writeStaticString("Content-Length: ")
        buffer.writeString(String(answer.length))
        buffer.writeStaticString("\r\n")
        buffer.writeString(EdgeMiddleware.requestIDField.rawName)
        buffer.writeStaticString(": ")
        buffer.writeString(answer.requestID)
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(securityLines)
        buffer.writeStaticString("Date: ")
        buffer.writeString(HTTPDate.now())
        buffer.writeStaticString("\r\n")
        buffer.writeImmutableBuffer(serverLine)
    }

    /// HTTP/1.1 lines of `fields`, as NIO's encoder writes them.
    static func lines(_ fields: [HTTPField]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for field in fields {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        return buffer
    }

    /// The longest identity headers (user and groups, in bytes) whose reader is remembered.
    static let longestRememberedIdentity = 1_024

    static let htmlContentType = HTTPField(name: .contentType, value: "text/html; charset=utf-8")
    static let jsonContentType = HTTPField(name: .contentType, value: "application/json; charset=utf-8")
    static let cacheControl = HTTPField(name: .cacheControl, value: "no-store")

    private func match(_ path: String) -> (Entry, Parameters)? {
        table.withLock { table in
            if let entry = table.exact[path] { return (entry, Parameters()) }
            // "/reports/" and the id after it: one segment, not empty, not a dot segment (the
            // prefix is a registered literal, so it has none either).
            guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return nil }
            let value = path[path.utf8.index(after: slash)...]
            guard !value.isEmpty, value != ".", value != "..",
                let (name, entry) = table.prefixed[String(path[...slash])]
            else { return nil }
            var parameters = Parameters()
            parameters.append(key: name, value: value)
            return (entry, parameters)
        }
    }

    /// A path's segments after its first slash ("/" has one empty segment).
    static func segments(_ path: String) -> [Substring] {
        path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
    }

    /// Whether another mount with as many segments has a literal where `mount` has a parameter
    /// and agrees elsewhere: the router could send some of `mount`'s paths there.
    static func isShadowed(_ mount: Route.Mount) -> Bool {
        let mine = segments(mount.rawValue)
        return Route.Mount.allCases.contains { other in
            let theirs = segments(other.rawValue)
            guard other != mount, theirs.count == mine.count else { return false }
            return zip(mine, theirs).allSatisfy { mine, theirs in
                mine.first == ":" || theirs.first == ":" || theirs == "**" || mine == theirs
            }
        }
    }
}

/// The `Date` header, formatted once a second as Hummingbird formats it.
enum HTTPDate {
    private static let cached = Mutex<(second: Int, text: String)>((-1, ""))

    static func now() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let second = now.tv_sec
        if let text = cached.withLock({ $0.second == second ? $0.text : nil }) { return text }
        let text = format(second)
        cached.withLock { $0 = (second, text) }
        return text
    }

    /// "Sun, 06 Dec 2026 09:50:07 GMT" (RFC 9110's IMF-fixdate).
    static func format(_ second: Int) -> String {
        var time = time_t(second)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

/// Sends cached pages on the connection's event loop (see ``CachedPageRoutes``) and passes
/// every other request on to Hummingbird.
///
/// It stands before the codec that turns NIO's HTTP/1 parts into HTTP types (see
/// ``PortalHTTP1Channel``), so a request answered here is converted once, by
/// ``EarlyRequestHead``, and a request the router answers is converted by the codec as before.
///
/// Responses leave in the order their requests came: a request is answered here only while
/// no earlier request of the connection waits for the router's answer, so a pipelining client
/// never gets a later answer first. A page is answered here only while the connection can take
/// its bytes; otherwise the router, which waits for the client to read, sends it. When the
/// server shuts down, Hummingbird closes idle connections: the notice is held until the pages
/// written here are sent, so none is cut off.
final class CachedPageHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: CachedPageRoutes
    private let logger: Logger
    /// Requests passed to the router whose response has not ended.
    private var routed = 0
    /// The rest of a request answered here (a body, its end) is dropped, as the router drops
    /// what a route does not read.
    private var droppingRequest = false
    /// Pages written here not yet sent.
    private var sending = 0
    private var shuttingDown = false
    private var heldShutdownNotice: ChannelShouldQuiesceEvent?
    /// Whether the peer is a trusted proxy, asked at the connection's first request.
    private var trusted: Bool?
    /// The header names this connection sent so far, made once.
    private var names = EarlyRequestHead.Names()

    init(routes: CachedPageRoutes, logger: Logger) {
        self.routes = routes
        self.logger = logger
    }

    /// A whole report page (200 KB and more) fits under the connection's write-buffer mark, so
    /// sending one does not make the connection unwritable and writable again (each change
    /// goes through the pipeline and the router's writer). The router's own backpressure works
    /// as before, at the higher mark.
    static let writeBufferMarks = ChannelOptions.Types.WriteBufferWaterMark(low: 256 * 1024, high: 1024 * 1024)

    /// A handler at the front of the pipeline, whose context writes bytes past the HTTP encoder
    /// (without it in the pipeline, every request goes to the router).
    private let socketWriter = SocketWriter()

    func handlerAdded(context: ChannelHandlerContext) {
        try? context.channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: Self.writeBufferMarks)
        try? context.pipeline.syncOperations.addHandler(socketWriter, position: .first)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            if routed == 0, !shuttingDown, context.channel.isWritable, let socket = socketWriter.context,
                let request = EarlyRequestHead.request(head, names: &names)
            {
                let trusted = self.trusted ?? routes.isTrusted(context.channel)
                self.trusted = trusted
                if let answer = routes.answer(to: request, channel: context.channel, logger: logger, trusted: trusted) {
                    droppingRequest = true
                    send(answer, to: socket, context: context)
                    return
                }
            }
            droppingRequest = false
            routed += 1
        case .body, .end:
            if droppingRequest { return }
        }
        context.fireChannelRead(data)
    }

    /// Writes a whole response as bytes, straight to the socket: the head serialized here as
    /// HTTP/1.1 (as NIO's encoder writes it), then the pieces. Small pieces (the page around its
    /// gaps) are copied after the head into one buffer, since a write costs more than copying a
    /// few kilobytes; a large one (a dashboard) is written as it is, not copied.
    private func send(
        _ answer: CachedPageRoutes.Answer, to socket: ChannelHandlerContext, context: ChannelHandlerContext
    ) {
        let pieces = answer.pieces
        let allocator = context.channel.allocator
        var buffer = allocator.buffer(capacity: 1_024 + pieces.reduce(0) { $0 + min($1.readableBytes, 16_384) })
        routes.writeHead(answer, into: &buffer)
        var buffers: [ByteBuffer] = []
        var pending: ByteBuffer? = buffer
        for var piece in pieces {
            if piece.readableBytes < 16_384 {
                if pending == nil { pending = allocator.buffer(capacity: piece.readableBytes) }
                pending?.writeBuffer(&piece)
                continue
            }
            if let part = pending {
                buffers.append(part)
                pending = nil
            }
            buffers.append(piece)
        }
        if let part = pending { buffers.append(part) }
        sending += 1
        let sent = context.eventLoop.makePromise(of: Void.self)
        for (index, part) in buffers.enumerated() {
            socket.write(NIOAny(part), promise: index == buffers.count - 1 ? sent : nil)
        }
        socket.flush()
        sent.futureResult.assumeIsolated().whenComplete { _ in
            self.sending -= 1
            if self.sending == 0, let notice = self.heldShutdownNotice {
                self.heldShutdownNotice = nil
                context.fireUserInboundEventTriggered(notice)
            }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { routed -= 1 }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let notice = event as? ChannelShouldQuiesceEvent {
            shuttingDown = true
            if sending > 0 {
                heldShutdownNotice = notice
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// NIO's HTTP/1 request head as the HTTP types request the router would get from
/// `HTTP1ToHTTPServerCodec(secure: false)`, for the requests an early answer may take: an
/// HTTP/1.1 GET of a path (origin form).
///
/// The codec builds every field name anew (checking and lower-casing it) and parses the target
/// with `URLComponents` (to take the path out of an absolute form); on the search page's early
/// answers that was 9% of the portal's CPU. Here the names a connection repeats are made once,
/// and a target that starts with "/" is already the path (a scheme cannot start with "/").
/// Anything else is left to the codec (`nil`).
enum EarlyRequestHead {
    /// Field names made from a connection's raw names, by exact spelling (so each keeps the
    /// raw name the codec would give it); `nil` for a name the codec leaves out.
    struct Names {
        private var known: [(raw: String, name: HTTPField.Name?)] = []
        /// Names remembered per connection; a client's requests repeat a handful.
        static let limit = 32

        mutating func name(_ raw: String) -> HTTPField.Name? {
            for entry in known where entry.raw == raw { return entry.name }
            let name = HTTPField.Name(raw)
            if known.count < Self.limit { known.append((raw, name)) }
            return name
        }
    }

    static func request(_ head: HTTPRequestHead, names: inout Names) -> HTTPRequest? {
        guard head.method == .GET, head.version == .http1_1, head.uri.utf8.first == UInt8(ascii: "/") else {
            return nil
        }
        var fields = HTTPFields()
        fields.reserveCapacity(head.headers.count)
        var authority: String?
        for (raw, value) in head.headers {
            // The first Host field is the authority, not a field (as the codec does).
            if authority == nil && isHost(raw) {
                authority = value
                continue
            }
            guard let name = names.name(raw) else { continue }
            fields.append(HTTPField(name: name, value: value))
        }
        return HTTPRequest(method: .get, scheme: "http", authority: authority, path: head.uri, headerFields: fields)
    }

    /// "Host" in any case, without making a lower-cased copy.
    private static func isHost(_ name: String) -> Bool {
        var utf8 = name.utf8.makeIterator()
        for expected in "host".utf8 {
            guard let byte = utf8.next(), byte | 0x20 == expected else { return false }
        }
        return utf8.next() == nil
    }
}

/// Stands first in a connection's pipeline (next to the socket) so that ``CachedPageHandler``
/// can write a response it serialized itself through this handler's context, past the HTTP
/// encoder. It passes every event on unchanged (NIO takes only inbound or outbound handlers).
final class SocketWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    private(set) var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
}

extension PortalEnvironment {
    /// The response a connection sends for `head` before the router sees it (a cached page,
    /// see ``CachedPageRoutes``), or `nil` when the router answers. In-process tests ask it
    /// first, as each connection of the server does.
    public func earlyResponse(to head: HTTPRequest, channel: any Channel) -> (HTTPResponse, [ByteBuffer])? {
        guard answersCachedPagesEarly else { return nil }
        return cachedRoutes.response(to: head, channel: channel, logger: logger)
    }

    /// Requests answered before the router so far (see ``earlyResponse(to:channel:)``).
    public var earlyResponses: Int { cachedRoutes.answered.load(ordering: .relaxed) }
}
