public import AlmanacCore
import Crypto
import Foundation
public import Logging
public import Storage
import Synchronization

/// API tokens: how programs (notebooks, exports, CI) call `/api` without the SSO proxy.
///
/// An admin issues a token for a person or a service account, with groups, scopes and an
/// expiry. The secret is shown once and only its SHA-256 is stored. Every request reads the
/// token from the shared state store, so a revocation holds at once on every instance.
/// Failed attempts are counted per client address and, past a limit, refused for a while.
public final class APITokenAuthority: Sendable {
    let state: any StateStore
    let clock: any WallClock
    let logger: Logger
    let limiter: FailedAttemptLimiter
    /// When this instance last wrote each token's last-used time: written at most once a
    /// second per token, so a busy program does not queue a write per request.
    private let lastWritten = Mutex([String: WallInstant]())

    /// What every secret starts with, so the portal (and secret scanners) can tell its tokens
    /// from other bearer tokens.
    public static let prefix = "almanac_"

    /// Longest lifetime a token may be given; the default when none is asked for.
    public static let maximumLifetime = Duration.seconds(366 * 86_400)
    public static let defaultLifetime = Duration.seconds(90 * 86_400)

    public init(state: any StateStore, clock: any WallClock = SystemClock(), logger: Logger) {
        self.state = state
        self.clock = clock
        self.logger = logger
        self.limiter = FailedAttemptLimiter(clock: clock)
    }

    /// The hex SHA-256 of a secret: what the store keeps and looks tokens up by.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// A new token; its secret is in the result and nowhere else.
    public func issue(
        name: String, subject: String, groups: [String], scopes: [APITokenRecord.Scope],
        lifetime: Duration = defaultLifetime, by actor: String
    ) async throws -> (record: APITokenRecord, secret: String) {
        let name = name.trimmingWhitespace()
        let subject = subject.trimmingWhitespace()
        guard !name.isEmpty, name.count <= 200 else {
            throw APITokenError.invalid("name", "give the token a name of 1 to 200 characters")
        }
        guard !subject.isEmpty, subject.count <= 200 else {
            throw APITokenError.invalid("subject", "name the person or service account, 1 to 200 characters")
        }
        let groups = Array(Set(groups.map { $0.trimmingWhitespace() }.filter { !$0.isEmpty })).sorted()
        if let bad = groups.first(where: { $0.count > 100 || $0.contains(",") }) {
            throw APITokenError.invalid("groups", "'\(bad)' is not a group name")
        }
        guard !scopes.isEmpty else {
            throw APITokenError.invalid(
                "scopes",
                "give at least one of \(APITokenRecord.Scope.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard lifetime > .zero, lifetime <= Self.maximumLifetime else {
            throw APITokenError.invalid("expires", "a token lives between a second and 366 days")
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let secret =
            "almanac_"
            + Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")
        let id = "tok_" + String((0..<12).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
        let now = clock.now
        let record = APITokenRecord(
            id: id, name: name, subject: subject, groups: groups, scopes: Array(Set(scopes)).sorted(),
            createdBy: actor, createdAt: now.date, expiresAt: now.advanced(by: lifetime).date)
        try await state.createAPIToken(record, secretHash: Self.hash(secret))
        logger.notice(
            "API token created",
            metadata: ["token": "\(id)", "name": "\(name)", "subject": "\(subject)", "by": "\(actor)"])
        return (record, secret)
    }

    /// The valid token `secret` names, for a request from `peer`.
    func authenticate(secret: String, peer: String?) async throws(APITokenError) -> APITokenRecord {
        let key = peer ?? "unknown"
        if let wait = limiter.refusal(for: key) {
            logger.warning("API token attempts refused", metadata: ["peer": "\(key)"])
            throw .rateLimited(retryAfter: wait)
        }
        let record: APITokenRecord?
        do {
            record = try await state.apiToken(secretHash: Self.hash(secret))
        } catch {
            logger.error("could not read API tokens", metadata: ["error": "\(error)"])
            throw .unavailable
        }
        let now = clock.now
        guard let record, record.isValid(at: now.date) else {
            limiter.recordFailure(for: key)
            let reason = record == nil ? "unknown" : record?.revokedAt != nil ? "revoked" : "expired"
            logger.warning(
                "API token refused",
                metadata: ["peer": "\(key)", "reason": "\(reason)", "token": "\(record?.id ?? "-")"])
            throw .invalidToken
        }
        let due = lastWritten.withLock { written -> Bool in
            if let last = written[record.id], last.isWithin(.seconds(1), of: now) { return false }
            written[record.id] = now
            return true
        }
        if due {
            do {
                try await state.recordAPITokenUse(id: record.id, at: now.date)
            } catch {
                logger.warning("could not record an API token's use", metadata: ["error": "\(error)"])
            }
        }
        return record
    }

    /// Revokes token `id`; `false` when there is none or it was already revoked.
    public func revoke(id: String, by actor: String) async throws -> Bool {
        let revoked = try await state.revokeAPIToken(id: id, by: actor, at: clock.date)
        if revoked { logger.notice("API token revoked", metadata: ["token": "\(id)", "by": "\(actor)"]) }
        return revoked
    }

    /// Every token, newest first (never their secrets).
    public func list() async throws -> [APITokenRecord] { try await state.apiTokens() }
}

/// Why a token was not accepted, or could not be made.
public enum APITokenError: Error, Equatable, CustomStringConvertible {
    /// Unknown, expired or revoked: the same answer for all three.
    case invalidToken
    case rateLimited(retryAfter: Duration)
    case unavailable
    case invalid(String, String)

    public var description: String {
        switch self {
        case .invalidToken: "the API token is unknown, expired or revoked"
        case .rateLimited: "too many failed token attempts from this address"
        case .unavailable: "tokens cannot be checked now"
        case .invalid(let field, let message): "\(field): \(message)"
        }
    }
}

/// Counts failed attempts per key (a client address) in fixed windows; past `limit` in one
/// window, attempts are refused until the window ends.
final class FailedAttemptLimiter: Sendable {
    let limit: Int
    let window: Duration
    let clock: any WallClock
    private let windows = Mutex([String: (start: WallInstant, failures: Int)]())

    init(limit: Int = 10, window: Duration = .seconds(60), clock: any WallClock) {
        self.limit = limit
        self.window = window
        self.clock = clock
    }

    /// How long `key` must wait, when it has failed too often.
    func refusal(for key: String) -> Duration? {
        let now = clock.now
        return windows.withLock { windows in
            guard let entry = windows[key], entry.start.isWithin(window, of: now), entry.failures >= limit else {
                return nil
            }
            return window - entry.start.duration(to: now)
        }
    }

    func recordFailure(for key: String) {
        let now = clock.now
        windows.withLock { windows in
            if windows.count > 10_000 { windows = windows.filter { $0.value.start.isWithin(window, of: now) } }
            if let entry = windows[key], entry.start.isWithin(window, of: now) {
                windows[key]?.failures = entry.failures + 1
            } else {
                windows[key] = (now, 1)
            }
        }
    }
}
