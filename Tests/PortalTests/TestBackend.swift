import AlmanacCore
import AlmanacTestSupport
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A real report app on a loopback port, as a team would run one behind the portal: a page,
/// an echo of the request it got, one that hangs, one that fails, redirects and a huge body.
///
/// What hangs hangs until the test is over (it never answers in time, however slow the
/// machine), and says when a request reached it, so a test can wait for that.
enum TestBackend {
    /// A running backend.
    final class Instance: Sendable {
        let port: Int
        let events: Events
        init(port: Int, events: Events) {
            self.port = port
            self.events = events
        }
    }

    /// What the backend's hanging routes saw.
    final class Events: Sendable {
        /// Opened when the test is over: hanging answers end, so the backend can stop.
        let release = Gate()
        private struct State {
            var counts: [Kind: Int] = [:]
            var waiting: [(id: Int, kind: Kind, count: Int, continuation: CheckedContinuation<Void, Never>)] = []
        }
        private enum Kind { case hung, abandoned }
        private let state = Mutex(State())

        /// A request reached a route that hangs.
        func hung() { happened(.hung) }

        /// A hanging answer found its connection closed by the client.
        func abandon() { happened(.abandoned) }

        /// How many requests in all have reached routes that hang.
        var hungCount: Int { state.withLock { $0.counts[.hung] ?? 0 } }

        /// Returns once `count` requests in all have reached routes that hang.
        func hanging(atLeast count: Int) async { await wait(for: .hung, atLeast: count) }

        /// Returns once `count` hanging answers in all found their connection closed.
        func abandoned(atLeast count: Int) async { await wait(for: .abandoned, atLeast: count) }

        private func happened(_ kind: Kind) {
            let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.counts[kind, default: 0] += 1
                let count = state.counts[kind] ?? 0
                let ready = state.waiting.filter { $0.kind == kind && $0.count <= count }
                state.waiting.removeAll { $0.kind == kind && $0.count <= count }
                return ready.map(\.continuation)
            }
            for continuation in ready { continuation.resume() }
        }

        /// Waits for the event (or for the test's time limit, which cancels the wait).
        private func wait(for kind: Kind, atLeast count: Int) async {
            await suspendUntilResumed { id, continuation in
                state.withLock { state in
                    if (state.counts[kind] ?? 0) >= count || Task.isCancelled { return true }
                    state.waiting.append((id, kind, count, continuation))
                    return false
                }
            } dequeue: { id in
                state.withLock { state in
                    state.waiting.firstIndex { $0.id == id }.map { state.waiting.remove(at: $0).continuation }
                }
            }
        }

        /// Answers after the test is over.
        func hang() async -> String {
            hung()
            await release.wait()
            return "late"
        }
    }

    /// Runs the backend for the duration of `body`, passing its port; stops it gracefully.
    static func run<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        try await serve { backend in try await body(backend.port) }
    }

    /// Runs the backend for the duration of `body`; stops it gracefully.
    static func serve<T: Sendable>(_ body: @Sendable (Instance) async throws -> T) async throws -> T {
        let events = Events()
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
        router.get("/app/hang") { _, _ in await events.hang() }
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
                    // A body that never ends while the test runs.
                    events.hung()
                    do {
                        while !events.release.isOpen {
                            try await writer.write(ByteBuffer(string: "."))
                            try await Task.sleep(for: .milliseconds(100))
                        }
                    } catch {
                        events.abandon()
                        throw error
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
        router.get("/slow/**") { _, _ in await events.hang() }

        let port = BoundPort()
        var logger = Logger(label: "test-backend")
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.set(channel.localAddress?.port) }, logger: logger)
        return try await whileServing(app, port: port) { bound in
            defer { events.release.open() }
            return try await body(Instance(port: bound, events: events))
        }
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
