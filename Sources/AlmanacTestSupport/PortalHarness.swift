import AlmanacCore
import AsyncHTTPClient
import Foundation
public import HTTPTypes
import Hummingbird
import HummingbirdCore
public import Logging
public import NIOCore
import NIOEmbedded
import NIOHTTP1
import Portal
public import ServiceLifecycle
import Synchronization

/// One response as a test reads it.
public struct PortalResponse: Sendable {
    public let head: HTTPResponse
    public let body: ByteBuffer

    public var status: HTTPResponse.Status { head.status }
    public var headers: HTTPFields { head.headerFields }
    /// The body as text.
    public var text: String { String(buffer: body) }
}

/// Sends requests to a portal under test, in this process or over a loopback socket.
public struct PortalClient: Sendable {
    let send:
        @Sendable (_ uri: String, _ method: HTTPRequest.Method, _ headers: HTTPFields, _ body: ByteBuffer?)
            async throws -> PortalResponse
    /// The port of a portal served on a socket; `nil` in process.
    public let port: Int?

    init(
        port: Int?,
        send:
            @escaping @Sendable (
                _ uri: String, _ method: HTTPRequest.Method, _ headers: HTTPFields, _ body: ByteBuffer?
            )
            async throws -> PortalResponse
    ) {
        self.port = port
        self.send = send
    }

    public func execute(
        uri: String, method: HTTPRequest.Method, headers: HTTPFields = [:], body: ByteBuffer? = nil
    ) async throws -> PortalResponse {
        try await send(uri, method, headers, body)
    }

    public func get(_ uri: String, headers: HTTPFields = [:]) async throws -> PortalResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension TestPortal {
    /// The peer address requests come from in process: loopback, as a browser on the same
    /// machine or an SSO proxy configured as `127.0.0.1` would be.
    public static let loopbackPeer = try! SocketAddress(ipAddress: "127.0.0.1", port: 41_000)

    /// Runs the portal in this process for the length of `body`: its start-up steps, its
    /// background services (on the portal's ``clock``) and its routes, called directly with no
    /// socket and no client timeout in between. Requests come from ``loopbackPeer``.
    ///
    /// This is Hummingbird's `.router` test mode with one difference: the portal decides who
    /// is asking from the peer address (a trusted proxy, or a developer on loopback), which
    /// `.router` leaves empty.
    public func test<T: Sendable>(_ body: @Sendable (PortalClient) async throws -> T) async throws -> T {
        let app = application()
        let responder = try await app.responder
        for step in app.processesRunBeforeServerStart { try await step() }
        let logger = environment.logger
        let environment = environment
        let client = PortalClient(port: nil) { uri, method, headers, body in
            try await Self.respond(
                responder, uri: uri, method: method, headers: headers, body: body, logger: logger,
                early: environment.earlyResponse)
        }
        return try await whileRunning(app.services, logger: logger) { try await body(client) }
    }

    /// Runs the portal on a loopback port for the length of `body`, as `almanac serve` runs it,
    /// for what needs a real socket (a browser, another process). The client's timeouts are
    /// minutes: far above any the portal applies itself, so a slow machine cannot cut a request.
    public func serve<T: Sendable>(_ body: @Sendable (PortalClient) async throws -> T) async throws -> T {
        let port = BoundPort()
        let app = PortReportingApplication(base: application(), port: port)
        return try await whileServing(app, port: port) { bound in
            let client = HTTPClient(
                eventLoopGroupProvider: .singleton,
                configuration: HTTPClient.Configuration(
                    redirectConfiguration: .disallow,
                    timeout: .init(connect: .seconds(120), read: .seconds(600)), decompression: .disabled))
            do {
                let portalClient = PortalClient(port: bound) { uri, method, headers, body in
                    try await Self.send(client, port: bound, uri: uri, method: method, headers: headers, body: body)
                }
                let value = try await body(portalClient)
                try await client.shutdown()
                return value
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }

    /// Calls `responder` as the server would, after asking `early` (the server's connections
    /// answer cached pages before the router).
    static func respond<Responder: HTTPResponder>(
        _ responder: Responder, uri: String, method: HTTPRequest.Method, headers: HTTPFields, body: ByteBuffer?,
        logger: Logger, early: (@Sendable (HTTPRequest, any Channel) -> (HTTPResponse, [ByteBuffer])?)? = nil
    ) async throws -> PortalResponse where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let channel = NIOAsyncTestingChannel()
        channel.remoteAddress = loopbackPeer
        var headers = headers
        if let body { headers[.contentLength] = String(body.readableBytes) }
        let head = HTTPRequest(method: method, scheme: "http", authority: "localhost", path: uri, headerFields: headers)
        if let (response, pieces) = early?(head, channel) {
            var collected = ByteBuffer()
            for var piece in pieces { collected.writeBuffer(&piece) }
            return PortalResponse(head: response, body: collected)
        }
        let request = Request(head: head, body: RequestBody(buffer: body ?? ByteBuffer()))
        let source = ApplicationRequestContextSource(channel: channel, logger: logger)
        let context = Responder.Context(source: source)
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch let error as any HTTPResponseError {
            // What the server does with an error that no middleware turned into a page.
            response = try error.response(from: request, context: BasicRequestContext(source: source))
        } catch {
            response = Response(status: .internalServerError)
        }
        let writer = CollectingWriter()
        try await response.body.write(writer)
        return PortalResponse(head: response.head, body: writer.collected)
    }

    static func send(
        _ client: HTTPClient, port: Int, uri: String, method: HTTPRequest.Method, headers: HTTPFields,
        body: ByteBuffer?
    ) async throws -> PortalResponse {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(uri)")
        request.method = NIOHTTP1.HTTPMethod(rawValue: method.rawValue)
        for field in headers { request.headers.add(name: field.name.rawName, value: field.value) }
        if request.headers["Host"].isEmpty { request.headers.add(name: "Host", value: "localhost") }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .seconds(600))
        var fields = HTTPFields()
        for (name, value) in response.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        let collected = try await response.body.collect(upTo: 256 << 20)
        return PortalResponse(
            head: HTTPResponse(status: .init(code: Int(response.status.code)), headerFields: fields), body: collected)
    }
}

/// Runs `services` in a service group for the length of `body`, then stops them through a
/// graceful shutdown and waits until they have ended (so what they do on the way out, such as a
/// last flush, has happened when this returns).
public func whileRunning<T: Sendable>(
    _ services: [any Service], logger: Logger = Logger(label: "test-services"), _ body: () async throws -> T
) async throws -> T {
    let started = StartSignal()
    let group = ServiceGroup(
        configuration: .init(services: services + [started], gracefulShutdownSignals: [], logger: logger))
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        // NB: a graceful shutdown asked for before the group runs would be lost.
        await started.gate.wait()
        do {
            let value = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Opens a gate once the service group runs its services, then waits for the shutdown.
private struct StartSignal: Service {
    let gate = Gate()
    func run() async throws {
        gate.open()
        try? await gracefulShutdown()
    }
}

/// Collects what a response writes.
private final class CollectingWriter: ResponseBodyWriter, Sendable {
    private let buffer = Mutex(ByteBuffer())
    var collected: ByteBuffer { buffer.withLock { $0 } }
    func write(_ part: ByteBuffer) async throws { _ = buffer.withLock { $0.writeImmutableBuffer(part) } }
    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}

/// The port a test server bound, once it has.
public final class BoundPort: Sendable {
    private let gate = Gate()
    private let value = Mutex<Int?>(nil)

    public init() {}

    /// Records the bound port (the first report wins) and lets waiting tasks go.
    public func set(_ port: Int?) {
        let first = value.withLock { value -> Bool in
            guard !gate.isOpen else { return false }
            value = port
            return true
        }
        if first { gate.open() }
    }

    /// The port, once the server reported one (`nil` when it stopped without).
    public func wait() async -> Int? {
        await gate.wait()
        return value.withLock { $0 }
    }
}

/// An application that reports the port its server bound (the portal binds port 0 in tests).
struct PortReportingApplication<Base: ApplicationProtocol>: ApplicationProtocol, Service {
    typealias Responder = Base.Responder
    let base: Base
    let port: BoundPort

    var responder: Responder { get async throws { try await base.responder } }
    var server: HTTPServerBuilder { base.server }
    var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    var configuration: ApplicationConfiguration { base.configuration }
    var logger: Logger { base.logger }
    var services: [any Service] { base.services }
    var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }

    @Sendable func onServerRunning(_ channel: any Channel) async {
        await base.onServerRunning(channel)
        port.set(channel.localAddress?.port)
    }
}

/// Runs `service` (a server that reports its port to `port`) for the length of `body`, then
/// stops it through a graceful shutdown, as `almanac` stops. Waits for the port as an event:
/// however long the machine takes to start the server.
public func whileServing<T: Sendable>(
    _ service: some Service, port: BoundPort, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
    let failure = FailureNote()
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask {
            do {
                try await group.run()
            } catch {
                failure.text.withLock { $0 = "\(error)" }
                port.set(nil)  // a server that failed to start reports no port
                throw error
            }
            port.set(nil)  // nor does one that stopped before it listened
        }
        do {
            guard let bound = await port.wait() else {
                throw FixtureError("the test server did not start: \(failure.text.withLock { $0 } ?? "it stopped")")
            }
            let result = try await body(bound)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// Why a test server stopped, for the error that says it did not start.
private final class FailureNote: Sendable {
    let text = Mutex<String?>(nil)
}
