public import AlmanacCore
import AsyncHTTPClient
public import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// What a remote generator said instead of a result.
public enum GeneratorClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A template parameter was refused (HTTP 400 from the generator).
    case parameter(name: String, message: String, hint: String?)
    /// The generator does not know the report or template (HTTP 404).
    case notFound(String)
    /// No generator answered in time, or every one failed.
    case unavailable(String)

    public var description: String {
        switch self {
        case .parameter(let name, let message, _): "parameter '\(name)': \(message)"
        case .notFound(let text), .unavailable(let text): text
        }
    }
}

/// The latest artifact version of a report on a generator.
public struct RemoteArtifactVersion: Codable, Hashable, Sendable {
    public var name: String
    public var generatedAt: Date
    public var files: [String]

    public init(name: String, generatedAt: Date, files: [String]) {
        self.name = name
        self.generatedAt = generatedAt
        self.files = files
    }
}

/// Talks to one or more `almanac generator` services over HTTP.
///
/// Requests go to the generators in turn (a simple rotation spreads the load); one that is
/// down or too slow is skipped for the next, and the error names every one tried. Connect
/// timeouts are short, so a generator that is down costs a second, not the whole deadline.
public final class GeneratorClient: Sendable {
    public let baseURLs: [String]
    /// How long a template render may take (it runs its queries on the generator).
    public let renderTimeout: Duration
    /// How long artifact calls may take.
    public let artifactTimeout: Duration
    /// How often the portal asks for a report's newest version.
    public let checkInterval: Duration
    /// Measures the time limits (a test passes a manual clock and lets them pass).
    let clock: any WallClock
    let token: String?
    /// Where the next request starts in `baseURLs`.
    private let next = Atomic<Int>(0)

    static let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: .failingFast)

    public init(
        baseURLs: [String], token: String? = nil, renderTimeout: Duration = .seconds(60),
        artifactTimeout: Duration = .seconds(15), checkInterval: Duration = .seconds(30),
        clock: any WallClock = SystemClock()
    ) {
        self.checkInterval = checkInterval
        self.clock = clock
        self.baseURLs = baseURLs.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.token = token
        self.renderTimeout = renderTimeout
        self.artifactTimeout = artifactTimeout
    }

    struct Reply {
        var status: Int
        var body: ByteBuffer
    }

    /// GETs `path` (with its query) from the first generator that answers: one that refuses
    /// the connection, fails (5xx) or is slower than `timeout` is skipped for the next, so the
    /// worst case is one `timeout` per generator.
    func get(_ path: String, timeout: Duration) async throws(GeneratorClientError) -> Reply {
        guard !baseURLs.isEmpty else { throw .unavailable("no generator URL is configured") }
        let start = next.wrappingAdd(1, ordering: .relaxed).oldValue
        var failures: [String] = []
        for offset in 0..<baseURLs.count {
            let base = baseURLs[(start + offset) % baseURLs.count]
            var request = HTTPClientRequest(url: base + path)
            if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
            do {
                // One deadline over the head and the body, on the injected clock (the client's
                // own would stop at the head, and only on the real clock).
                let reply = try await withDeadline(timeout, clock: clock) { [request] in
                    let response = try await Self.client.execute(request, deadline: .distantFuture)
                    let body = try await response.body.collect(upTo: 64 << 20)
                    return Reply(status: Int(response.status.code), body: body)
                }
                if reply.status >= 500 {
                    failures.append("\(base) answered \(reply.status)")
                    continue
                }
                return reply
            } catch is DeadlineExceeded {
                failures.append("\(base) did not answer within \(timeout)")
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                failures.append("\(base) did not answer within \(timeout)")
            } catch {
                failures.append("\(base) is unreachable (\(error))")
            }
        }
        throw .unavailable("no generator answered: " + failures.joined(separator: "; "))
    }

    /// The latest version of `report` (generated on demand by the generator if it has none).
    public func latest(report: String) async throws(GeneratorClientError) -> RemoteArtifactVersion {
        let reply = try await get("/reports/\(Self.segment(report))/latest", timeout: artifactTimeout)
        try Self.check(reply, what: "report '\(report)'")
        do {
            return try JSONDecoder.generator.decode(
                RemoteArtifactVersion.self, from: Data(reply.body.readableBytesView))
        } catch {
            throw .unavailable("the generator's answer for report '\(report)' is not a version: \(error)")
        }
    }

    /// One file of a version of `report`.
    public func file(report: String, version: String, name: String) async throws(GeneratorClientError) -> Data {
        let reply = try await get(
            "/reports/\(Self.segment(report))/versions/\(Self.segment(version))/\(Self.segment(name))",
            timeout: artifactTimeout)
        try Self.check(reply, what: "file '\(name)' of report '\(report)'")
        return Data(reply.body.readableBytesView)
    }

    /// The files of `template`'s render for `values` (`dashboard.html`, `dashboard.json`, each
    /// panel's CSV and SVG), leaving out `hiddenPanels` (1-based, in the catalog of
    /// `catalogVersion`: a generator on another version refuses, so a panel moved between
    /// versions can never be shown by position to the wrong viewer).
    public func renderTemplate(
        _ template: String, values: [String: String], title: String, hiddenPanels: Set<Int>, catalogVersion: String
    ) async throws(GeneratorClientError) -> [String: Data] {
        var items = values.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        items.append(URLQueryItem(name: "_format", value: "files"))
        items.append(URLQueryItem(name: "_title", value: title))
        items.append(URLQueryItem(name: "_catalog", value: catalogVersion))
        if !hiddenPanels.isEmpty {
            items.append(
                URLQueryItem(name: "_hidden", value: hiddenPanels.sorted().map(String.init).joined(separator: ",")))
        }
        var components = URLComponents()
        components.queryItems = items
        // `+` would read as a space on the other side; encode it like every other reserved character.
        let query = (components.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        let reply = try await get("/templates/\(Self.segment(template))?\(query)", timeout: renderTimeout)
        if reply.status == 400,
            let object = try? JSONSerialization.jsonObject(with: Data(reply.body.readableBytesView)) as? [String: Any],
            let parameter = object["parameter"] as? String
        {
            // The portal's error shape names the parameter and says why in `error`, after "Parameter 'x': ".
            let text = object["error"] as? String ?? object["message"] as? String ?? "refused"
            let prefix = "Parameter '\(parameter)': "
            throw .parameter(
                name: parameter, message: text.hasPrefix(prefix) ? String(text.dropFirst(prefix.count)) : text,
                hint: object["hint"] as? String)
        }
        if reply.status == 409 {
            throw .unavailable(
                "the generator serves another catalog version than this portal; it reloads within seconds")
        }
        try Self.check(reply, what: "template '\(template)'")
        struct Files: Decodable { var files: [String: Data] }
        guard let decoded = try? JSONDecoder().decode(Files.self, from: Data(reply.body.readableBytesView)) else {
            throw .unavailable("the generator's answer for template '\(template)' is not a render")
        }
        return decoded.files
    }

    static func check(_ reply: Reply, what: String) throws(GeneratorClientError) {
        switch reply.status {
        case 200..<300: return
        case 404: throw .notFound("the generator does not know \(what)")
        default:
            throw .unavailable(
                "the generator answered \(reply.status) for \(what): \(String(buffer: reply.body).prefix(200))")
        }
    }

    /// A path segment with everything but unreserved characters percent-encoded.
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~")))
            ?? ""
    }
}

extension JSONDecoder {
    static let generator: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }()
}
