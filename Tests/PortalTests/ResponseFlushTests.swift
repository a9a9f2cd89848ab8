import HTTPTypes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import Testing

@testable import Portal

/// The portal's HTTP pipeline sends a response's head with its body, not on its own.
@Suite struct ResponseFlushTests {
    /// The pipeline of `almanac serve` as HummingbirdCore builds it, the coalescer where
    /// the portal adds it.
    func pipeline() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(
            withPipeliningAssistance: false, withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
        try channel.pipeline.syncOperations.addHandlers(PortalHTTPServer.channelHandlers())
        return channel
    }

    /// What reached the socket, one element per flushed write.
    func sent(_ channel: EmbeddedChannel) throws -> [String] {
        var writes: [String] = []
        while let data = try channel.readOutbound(as: IOData.self) {
            guard case .byteBuffer(let buffer) = data else { continue }
            writes.append(String(buffer: buffer))
        }
        return writes
    }

    /// A write and a flush, as NIOAsyncChannel sends each part (no promise: a held flush
    /// leaves a write's promise pending, and `writeOutbound` would wait for it).
    func send(_ channel: EmbeddedChannel, _ part: HTTPResponsePart) {
        channel.write(part, promise: nil)
        channel.flush()
    }

    func head(_ status: HTTPResponse.Status, length: Int? = nil) -> HTTPResponsePart {
        var fields = HTTPFields()
        if let length { fields[.contentLength] = String(length) }
        return .head(HTTPResponse(status: status, headerFields: fields))
    }

    @Test func aHeadWaitsForTheFirstBodyBytesAndLeavesWithThem() throws {
        let channel = try pipeline()
        defer { _ = try? channel.finish() }
        send(channel, head(.ok, length: 10))
        #expect(try sent(channel).isEmpty, "the head went out alone")
        send(channel, HTTPResponsePart.body(ByteBuffer(string: "hello")))
        let first = try sent(channel)
        #expect(first.count == 2)
        #expect(first.first?.hasPrefix("HTTP/1.1 200 OK\r\n") == true)
        #expect(first.last == "hello")
        // Later body parts are flushed one by one, as written: a stream never piles up.
        send(channel, HTTPResponsePart.body(ByteBuffer(string: "world")))
        #expect(try sent(channel) == ["world"])
        send(channel, HTTPResponsePart.end(nil))
        #expect(try sent(channel).isEmpty)
    }

    @Test func aResponseWithoutBodyLeavesAtItsEnd() throws {
        let channel = try pipeline()
        defer { _ = try? channel.finish() }
        send(channel, head(.noContent))
        #expect(try sent(channel).isEmpty)
        send(channel, HTTPResponsePart.end(nil))
        let written = try sent(channel)
        #expect(written.count == 1)
        #expect(written.first?.hasPrefix("HTTP/1.1 204 No Content\r\n") == true)
    }

    @Test func anInformationalHeadLeavesAtOnce() throws {
        // A client that sent `Expect: 100-continue` waits for it before sending the body.
        let channel = try pipeline()
        defer { _ = try? channel.finish() }
        send(channel, head(.continue))
        let written = try sent(channel)
        #expect(written.count == 1)
        #expect(written.first?.hasPrefix("HTTP/1.1 100 Continue\r\n") == true)
    }

    @Test func removingTheHandlerSendsAHeldHead() throws {
        let channel = try pipeline()
        defer { _ = try? channel.finish() }
        send(channel, head(.ok, length: 3))
        #expect(try sent(channel).isEmpty)
        let coalescer = try channel.pipeline.syncOperations.handler(type: ResponseHeadFlushCoalescer.self)
        channel.pipeline.syncOperations.removeHandler(coalescer, promise: nil)
        channel.embeddedEventLoop.run()
        #expect(try sent(channel).first?.hasPrefix("HTTP/1.1 200 OK\r\n") == true)
    }
}
