import AlmanacCore
public import Foundation
public import Hummingbird
public import Logging
public import NIOCore

/// The demo's stand-in for the on-call tool and the task tracker: it accepts the webhooks and
/// tasks the demo's triggers and subscriptions send, logs each one, and lists what it received
/// on its own page, so every demo delivery succeeds and can be seen.
///
/// - `POST /hooks/{name}`: a webhook (the catalog's `http://127.0.0.1:9000/hooks/…`), answered 200.
/// - `POST /tasks`: a task in the shape of Asana's "create a task" (`{"data": {…}}`), answered
///   201 with the new task's `gid`.
/// - `GET /`: what arrived, newest first; `GET /received.json` the same as JSON.
public enum DemoReceiver {
    /// One request the receiver accepted.
    public struct Received: Sendable, Codable, Equatable {
        public var number: Int
        public var at: Date
        public var kind: String
        public var path: String
        public var title: String
        public var body: String
    }

    /// What arrived, newest last; the oldest are dropped beyond `limit`.
    public actor Log {
        public let limit: Int
        private var entries: [Received] = []
        private var count = 0

        public init(limit: Int = 500) { self.limit = limit }

        func add(kind: String, path: String, body: String, at date: Date) -> Received {
            count += 1
            let entry = Received(
                number: count, at: date, kind: kind, path: path, title: DemoReceiver.title(of: body), body: body)
            entries.append(entry)
            if entries.count > limit { entries.removeFirst(entries.count - limit) }
            return entry
        }

        /// What arrived, newest first.
        public var received: [Received] { entries.reversed() }
    }

    /// The receiver's HTTP server on `host:port`, recording into `log`.
    /// `onServerRunning` is told the channel once it listens (a test learns its port there).
    public static func application(
        host: String = "127.0.0.1", port: Int = 9000, log: Log = Log(), logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        router.post("/hooks/{name}") { request, context -> Response in
            let entry = try await record(request, kind: "webhook", log: log, logger: logger)
            return json(.ok, #"{"ok":true,"received":\#(entry.number)}"#)
        }
        router.post("/tasks") { request, context -> Response in
            let entry = try await record(request, kind: "task", log: log, logger: logger)
            return json(.created, #"{"data":{"gid":"demo-\#(entry.number)","resource_type":"task"}}"#)
        }
        router.get("/received.json") { _, _ -> Response in
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let data = try encoder.encode(await log.received)
            return json(.ok, String(decoding: data, as: UTF8.self))
        }
        router.get("/") { _, _ -> Response in
            html(page(await log.received))
        }
        return Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "demo-receiver"),
            onServerRunning: onServerRunning, logger: logger)
    }

    static func record(_ request: Request, kind: String, log: Log, logger: Logger) async throws -> Received {
        let bytes = try await request.body.collect(upTo: 1 << 20)
        let body = String(buffer: bytes)
        let entry = await log.add(kind: kind, path: request.uri.path, body: body, at: Date())
        logger.info(
            "demo receiver got a \(kind)",
            metadata: ["path": "\(entry.path)", "title": "\(entry.title)", "bytes": "\(bytes.readableBytes)"])
        return entry
    }

    /// A line to show for a JSON body: its `title`, `text`, `name` or `summary`, at the top level
    /// or under `data` (Asana's shape); else the start of the body.
    static func title(of body: String) -> String {
        let object = (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
        for candidate in [object, object?["data"] as? [String: Any]] {
            for key in ["title", "name", "text", "summary"] {
                if let text = candidate?[key] as? String, !text.isEmpty { return String(text.prefix(200)) }
            }
        }
        return String(body.prefix(120))
    }

    /// The receiver's page: what arrived, every text escaped.
    public static func page(_ received: [Received]) -> String {
        let formatter = ISO8601DateFormatter()
        var rows = ""
        for entry in received {
            rows += """
                <tr><td>\(entry.number)</td><td>\(formatter.string(from: entry.at))</td>\
                <td>\(Markup.escape(entry.kind))</td><td><code>\(Markup.escape(entry.path))</code></td>\
                <td>\(Markup.escape(entry.title))<details><summary>body</summary><pre>\
                \(Markup.escape(entry.body))</pre></details></td></tr>

                """
        }
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>Demo receiver</title>
            <style>body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%}\
            td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}\
            pre{white-space:pre-wrap;max-width:60rem;background:#f6f6f6;padding:.5rem}</style></head>
            <body><h1>Demo receiver</h1>
            <p>The on-call webhook and the task tracker of Almanac's demo. \(received.count) received since it \
            started (newest first).</p>
            <table><thead><tr><th>#</th><th>received</th><th>kind</th><th>path</th><th>what</th></tr></thead>
            <tbody>
            \(rows)</tbody></table></body></html>
            """
    }
}

func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
}

func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
    Response(
        status: status, headers: [.contentType: "text/html; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(string: text)))
}
