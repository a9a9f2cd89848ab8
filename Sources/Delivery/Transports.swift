import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// What an attempt to hand a message over ended with.
public enum TransportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Worth trying again later: a refused connection, a timeout, a 5xx, a 429.
    case temporary(String)
    /// Trying again will not help: a 4xx, a message the server refuses.
    case permanent(String)

    public var description: String {
        switch self {
        case .temporary(let text), .permanent(let text): text
        }
    }
}

/// Where e-mail goes: an SMTP server, or (when none is configured, as in the demo) a folder
/// of `.eml` files that any mail client opens.
public enum MailTransport: Sendable {
    case smtp(SMTPMailer)
    case folder(String)

    public var displayName: String {
        switch self {
        case .smtp(let mailer): SMTPMailer.redacted(mailer.configuration.url)
        case .folder(let path): "folder \(path)"
        }
    }

    public func send(_ message: MailMessage) async throws(TransportError) {
        switch self {
        case .smtp(let mailer):
            do {
                try await mailer.send(message)
            } catch let error as MailError {
                throw error.isPermanent ? .permanent(error.description) : .temporary(error.description)
            } catch {
                throw .temporary("\(error)")
            }
        case .folder(let path):
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
                let name = message.messageID.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }
                let file = (path as NSString).appendingPathComponent(String(name) + ".eml")
                try Data(message.rendered().utf8).write(to: URL(fileURLWithPath: file), options: .atomic)
            } catch {
                throw .temporary("cannot write to \(path): \(error)")
            }
        }
    }
}

/// POSTs JSON to webhooks and task trackers, with the delivery's idempotency key.
public struct WebhookSender: Sendable {
    /// The whole exchange; a receiver that has not answered by then is retried later.
    public let timeout: Duration

    public init(timeout: Duration = .seconds(15)) { self.timeout = timeout }

    // Short connect timeout: an address where nothing listens must not hold a worker for
    // the whole request timeout.
    static let client = HTTPClient(
        eventLoopGroup: HTTPClient.defaultEventLoopGroup,
        configuration: HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2)), decompression: .disabled))

    /// Sends `body`; a refusal's error quotes the start of the receiver's answer.
    public func post(
        _ body: String, to url: String, idempotencyKey: String, bearer: String? = nil
    ) async throws(TransportError) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.headers.add(name: "User-Agent", value: "Almanac-Delivery/1")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        request.body = .bytes(ByteBuffer(string: body))
        let status: UInt
        let answer: String
        do {
            let response = try await Self.client.execute(
                request, timeout: .seconds(Int64(timeout.components.seconds)))
            status = response.status.code
            answer = String(buffer: try await response.body.collect(upTo: 64 << 10))
        } catch {
            throw .temporary("\(url): \(Self.describe(error))")
        }
        switch status {
        case 200..<300: return
        case 408, 425, 429, 500...: throw .temporary("\(url) answered \(status)\(Self.excerpt(answer))")
        default: throw .permanent("\(url) answered \(status)\(Self.excerpt(answer))")
        }
    }

    static func excerpt(_ body: String) -> String {
        let trimmed = body.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? "" : ": " + String(trimmed.prefix(200))
    }

    static func describe(_ error: any Error) -> String {
        if let client = error as? HTTPClientError {
            switch client {
            case .connectTimeout: return "no connection within 2 s"
            case .deadlineExceeded, .readTimeout: return "no answer in time"
            default: return "\(client)"
            }
        }
        let text = "\(error)"
        if text.contains("connection refused") || text.contains("Connection refused") { return "connection refused" }
        return text
    }
}
