import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real report app on a loopback port, as a team would run one behind the portal: a page,
/// an echo of the request it got, one that hangs, one that fails, redirects and a huge body.
enum TestBackend {
    /// Runs the backend for the duration of `body`, passing its port; stops it gracefully.
    static func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let router = Router()
        router.get("/app/") { _, _ in
            var headers: HTTPFields = [.contentType: "text/html; charset=utf-8"]
            headers[.setCookie] = "session=backend; Path=/"
            headers[.contentSecurityPolicy] = "default-src *"
            headers[HTTPField.Name("X-Frame-Options")!] = "ALLOWALL"
            headers[HTTPField.Name("Clear-Site-Data")!] = "\"*\""
            headers[HTTPField.Name("NEL")!] = "{\"report_to\":\"b\",\"max_age\":86400}"
            headers[HTTPField.Name("Report-To")!] =
                "{\"group\":\"b\",\"endpoints\":[{\"url\":\"http://evil.example\"}]}"
            headers[HTTPField.Name("Alt-Svc")!] = "h3=\":443\""
            headers[HTTPField.Name("Strict-Transport-Security")!] = "max-age=31536000"
            headers[.cacheControl] = "public, max-age=600"
            return Response(
                status: .ok, headers: headers,
                body: .init(
                    byteBuffer: ByteBuffer(
                        string:
                            "<html><body><h1>Ticket volume</h1><p id=cookie>cookie: ?</p><p id=api>portal api: ?</p>"
                            + "<script src=\"probe.js\"></script></body></html>"
                    )))
        }
        // What a hostile report app would try: read the portal's cookies, call its API as the viewer.
        router.get("/app/probe.js") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/javascript"],
                body: .init(
                    byteBuffer: ByteBuffer(
                        string: """
                            try { document.getElementById('cookie').textContent = 'cookie: read ' + document.cookie.length; }
                            catch (e) { document.getElementById('cookie').textContent = 'cookie: blocked (' + e.name + ')'; }
                            fetch('/api/home', {credentials: 'include'}).then(r => r.text())
                              .then(t => { document.getElementById('api').textContent = 'portal api: read ' + t.length; })
                              .catch(e => { document.getElementById('api').textContent = 'portal api: blocked (' + e.name + ')'; });
                            """)))
        }
        router.get("/app/style.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css"], body: .init(byteBuffer: ByteBuffer(string: "h1{}")))
        }
        router.on("/app/echo", method: .get) { request, _ in try echo(request) }
        router.on("/app/echo", method: .post) { request, _ in try echo(request) }
        router.get("/app/hang") { _, _ in
            try await Task.sleep(for: .seconds(12))
            return "late"
        }
        router.get("/app/boom") { _, _ in
            Response(
                status: .internalServerError, headers: [.contentType: "text/plain"],
                body: .init(byteBuffer: ByteBuffer(string: "backend exploded")))
        }
        router.get("/app/elsewhere") { _, _ in
            Response(status: .found, headers: [.location: "http://evil.example/steal"])
        }
        router.get("/app/trickle") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/html"],
                body: ResponseBody { writer in
                    for _ in 0..<120 {
                        try await writer.write(ByteBuffer(string: "."))
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await writer.finish(nil)
                })
        }
        router.get("/app/relative") { _, _ in Response(status: .found, headers: [.location: "page?t=12:00"]) }
        router.get("/app/backslash") { _, _ in Response(status: .found, headers: [.location: "\\/evil.example"]) }
        router.get("/app/inside") { _, _ in
            Response(status: .found, headers: [.location: "/app/echo?from=inside"])
        }
        router.get("/app/big") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/octet-stream"],
                body: .init(byteBuffer: ByteBuffer(repeating: 0x41, count: 17 << 20)))
        }
        router.get("/secret") { _, _ in "outside the base path" }
        // A generator that has stopped answering: every request under /slow/ hangs.
        router.get("/slow/**") { _, _ in
            try await Task.sleep(for: .seconds(12))
            return "late"
        }

        let port = BoundPort()
        var logger = Logger(label: "test-backend")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.set(channel.localAddress?.port) }, logger: logger)
        return try await whileServing(app, port: port, body)
    }

    /// The request's method, path, headers and body size, as JSON.
    static func echo(_ request: Request) throws -> Response {
        var headers: [String: String] = [:]
        for field in request.headers {
            headers[field.name.canonicalName] =
                (headers[field.name.canonicalName].map { $0 + ", " } ?? "") + field.value
        }
        headers["host"] = request.head.authority
        let object: [String: Any] = [
            "method": request.method.rawValue, "path": request.uri.path, "query": request.uri.query ?? "",
            "headers": headers,
        ]
        let data = try JSONSerialization.data(withJSONObject: object)
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The port a test server bound, once it has.
final class BoundPort: Sendable {
    private let value = Mutex<Int?>(nil)
    func set(_ port: Int?) { value.withLock { $0 = port } }
    var current: Int? { value.withLock { $0 } }
}

/// Runs `service` (a server that reports its port to `port`) for the duration of `body`, then
/// stops it through a graceful shutdown, as `almanac` stops.
func whileServing<T: Sendable>(
    _ service: some Service, port: BoundPort, _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let group = ServiceGroup(services: [service], gracefulShutdownSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        // Generous: the full suite keeps both cores busy while servers start.
        let deadline = ContinuousClock.now + .seconds(120)
        while port.current == nil, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        do {
            guard let bound = port.current else { throw CancellationError() }
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
