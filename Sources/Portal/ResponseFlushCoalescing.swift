import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

/// The HTTP server of `almanac serve`, `almanac demo` and `almanac generator`: HTTP/1.1 with
/// ``ResponseHeadFlushCoalescer`` in each connection's pipeline, and the portal's
/// ``CachedPageHandler`` after it.
enum PortalHTTPServer {
    /// The `Server` header.
    static let serverName = "Almanac"

    /// The handlers the portal adds to HummingbirdCore's HTTP/1.1 pipeline, new for each connection.
    static func channelHandlers(
        cachedPages: CachedPageRoutes? = nil, logger: Logger = Logger(label: "almanac")
    ) -> [any RemovableChannelHandler] {
        [ResponseHeadFlushCoalescer()] + (cachedPages.map { [CachedPageHandler(routes: $0, logger: logger)] } ?? [])
    }

    static func builder(
        cachedPages: CachedPageRoutes? = nil, logger: Logger = Logger(label: "almanac")
    )
        -> HTTPServerBuilder
    {
        .http1(
            configuration: .init(additionalChannelHandlers: channelHandlers(cachedPages: cachedPages, logger: logger)))
    }
}

/// Sends a response's head in the same system call as the first bytes of its body.
///
/// HummingbirdCore writes a response in one flush only when its body is a single buffer and
/// nothing wrapped it. Every other response (a page written from its cached pieces, a proxied
/// stream, and every response behind the metrics middleware, which wraps the body to time its
/// write) goes out as head, body and end, each flushed on its own: two `writev` calls and two
/// TCP segments where one does, and a second wake-up for the client.
///
/// This handler holds back the flush that follows a final head until the next part is
/// written, so the head leaves with the body's first bytes. Nothing else is held: each body
/// write is flushed as before, so a long or streamed body never piles up in memory.
/// Informational heads (`100 Continue`) are flushed at once, since the client waits for them.
final class ResponseHeadFlushCoalescer: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A final head was written and its flush held back.
    private var holdingHead = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head(let head) = unwrapOutboundIn(data) {
            holdingHead = head.status.kind != .informational
        } else {
            holdingHead = false
        }
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {
        guard !holdingHead else { return }
        context.flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Removed between a head and its body: what was held goes out now.
        if holdingHead {
            holdingHead = false
            context.flush()
        }
    }
}
