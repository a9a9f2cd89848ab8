import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The HTTP server of `almanac serve`, `almanac demo` and `almanac generator`: HTTP/1.1 with
/// ``ResponseHeadFlushCoalescer`` in each connection's pipeline and, with cached pages, the
/// portal's ``CachedPageHandler`` before the HTTP types codec (see ``PortalHTTP1Channel``).
enum PortalHTTPServer {
    /// The `Server` header.
    static let serverName = "Almanac"

    /// The handlers the portal adds to HummingbirdCore's HTTP/1.1 pipeline after the HTTP types
    /// codec, new for each connection.
    static func channelHandlers() -> [any RemovableChannelHandler] {
        [ResponseHeadFlushCoalescer()]
    }

    static func builder(
        cachedPages: CachedPageRoutes? = nil, logger: Logger = Logger(label: "almanac")
    )
        -> HTTPServerBuilder
    {
        HTTPServerBuilder { responder in
            PortalHTTP1Channel(
                inner: HTTP1Channel(
                    responder: responder, configuration: .init(additionalChannelHandlers: channelHandlers())),
                cachedPages: cachedPages, logger: logger)
        }
    }
}

/// HummingbirdCore's HTTP/1.1 channel, with ``CachedPageHandler`` put before its HTTP types
/// codec (`HTTP1ToHTTPServerCodec`), where it reads NIO's request head: the handlers Hummingbird
/// takes as additional ones all stand after the codec, which converts every request.
struct PortalHTTP1Channel: HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let inner: HTTP1Channel
    let cachedPages: CachedPageRoutes?
    let logger: Logger

    var responder: Responder { inner.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            if let cachedPages {
                let operations = channel.pipeline.syncOperations
                let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
                try operations.addHandler(
                    CachedPageHandler(routes: cachedPages, logger: self.logger), position: .before(codec))
            }
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
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
