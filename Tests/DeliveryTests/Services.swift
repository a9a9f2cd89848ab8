import AlmanacTestSupport
import Delivery
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs a helper script from `Support/` for the length of `body` (see `withHelperScript`).
func withHelper<T>(
    _ script: String, _ arguments: [String], what: String, _ body: (Int) async throws -> T
) async throws -> T {
    try await withHelperScript(
        Repository.root + "/Tests/DeliveryTests/Support/" + script, arguments, what: what, body)
}

/// A real SMTP sink (aiosmtpd, `Support/smtp_sink.py`) for the length of a test.
struct SMTPSink {
    let port: Int
    let maildir: String

    static func run<T>(_ body: (SMTPSink) async throws -> T) async throws -> T {
        let directory = try TemporaryDirectory(prefix: "almanac-smtp")
        defer { withExtendedLifetime(directory) {} }
        let maildir = directory.file("Maildir")
        return try await withHelper(
            "smtp_sink.py", [maildir],
            what: "the SMTP sink (is aiosmtpd installed? scripts/install-prerequisites --tests)"
        ) { port in try await body(SMTPSink(port: port, maildir: maildir)) }
    }

    /// The base64 bodies of a raw message, decoded.
    static func decodedBodies(_ raw: String) -> [String] {
        var decoded: [String] = []
        var run = ""
        let base64 = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        for line in raw.split(separator: "\n", omittingEmptySubsequences: false).map({
            $0.trimmingCharacters(in: .whitespaces)
        }) {
            if !line.isEmpty, line.count <= 76, line.allSatisfy(base64.contains) {
                run += line
            } else {
                if let data = Data(base64Encoded: run), !run.isEmpty {
                    decoded.append(String(decoding: data, as: UTF8.self))
                }
                run = ""
            }
        }
        return decoded
    }

    /// The messages delivered so far, as raw text. The sink writes each one before it accepts
    /// it, so what a finished send delivered is there.
    func delivered() throws -> [String] {
        let new = maildir + "/new"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: new)) ?? []
        return try names.sorted().map { try String(contentsOfFile: new + "/" + $0, encoding: .utf8) }
    }
}

/// A real HTTP receiver (`Support/http_receiver.py`) that fails its first `failures` requests.
struct HTTPReceiver {
    struct Request: Decodable {
        var path: String
        var status: Int
        var headers: [String: String]
        var body: JSONValue?
    }
    let port: Int
    let log: String

    var url: String { "http://127.0.0.1:\(port)" }

    static func run<T>(
        failures: Int = 0, failingStatus: Int = 503, _ body: (HTTPReceiver) async throws -> T
    ) async throws -> T {
        let directory = try TemporaryDirectory(prefix: "almanac-receiver")
        defer { withExtendedLifetime(directory) {} }
        let log = directory.file("requests.jsonl")
        return try await withHelper(
            "http_receiver.py", [log, String(failures), String(failingStatus)], what: "the HTTP receiver"
        ) { port in try await body(HTTPReceiver(port: port, log: log)) }
    }

    /// Every request received so far, oldest first.
    func requests() throws -> [Request] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }
}

extension JSONValue {
    var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }
    var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }
}
