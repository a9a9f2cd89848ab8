public import AlmanacCore
public import Catalog
import Foundation
import HTTPTypes
import Logging

/// Who may be trusted to say who a request is from, and how.
///
/// Almanac does no sign-in of its own: a company's SSO proxy (oauth2-proxy, an
/// identity-aware proxy, …) authenticates people and passes the user and their groups in
/// headers. Those headers are believed only when the request comes straight from a
/// configured proxy address; from anywhere else they are ignored, so a client cannot
/// claim to be someone else by sending them itself.
///
/// - Configuration keys:
///   - `trusted_proxies` (list, default empty): proxy addresses (`10.0.0.5`, `10.0.0.0/24`, `::1`)
///   - `user_header` (default `X-Forwarded-User`), `groups_header` (default `X-Forwarded-Groups`)
///   - `allow_anonymous_loopback` (default false; `almanac demo` turns it on): a request from
///     127.0.0.0/8 or ::1 without identity headers is the local developer, who sees everything
public struct AuthConfiguration: Sendable, Hashable {
    public var trustedProxies: [String]
    public var userHeader: String
    public var groupsHeader: String
    public var allowAnonymousLoopback: Bool

    public init(
        trustedProxies: [String] = [], userHeader: String = "X-Forwarded-User",
        groupsHeader: String = "X-Forwarded-Groups", allowAnonymousLoopback: Bool = false
    ) {
        self.trustedProxies = trustedProxies
        self.userHeader = userHeader
        self.groupsHeader = groupsHeader
        self.allowAnonymousLoopback = allowAnonymousLoopback
    }

    /// Checks the proxy list; returns the entries that are not addresses or networks.
    public func invalidProxies() -> [String] {
        trustedProxies.filter { AddressMatcher($0) == nil }
    }
}

/// Why a request has no viewer.
public enum AuthenticationFailure: Error, Equatable, Sendable {
    /// No trusted identity and not an allowed anonymous developer.
    case notSignedIn
}

/// Decides the viewer of one request from the peer address and the identity headers.
public struct Authenticator: Sendable {
    public let configuration: AuthConfiguration
    private let proxies: [AddressMatcher]

    public init(configuration: AuthConfiguration) {
        self.configuration = configuration
        self.proxies = configuration.trustedProxies.compactMap(AddressMatcher.init)
    }

    /// Whether `peer` is one of the configured proxies, whose identity and `X-Forwarded-*`
    /// headers are believed.
    public func isTrustedProxy(_ peer: String?) -> Bool {
        peer.map { address in proxies.contains { $0.matches(address) } } ?? false
    }

    /// - Parameters:
    ///   - peer: the IP address the TCP connection comes from, if known.
    ///   - user: the value of the user header, if sent.
    ///   - groups: the value of the groups header (comma-separated), if sent.
    ///   - settings: the catalog settings, whose `admin_groups` make a viewer an admin.
    public func viewer(
        peer: String?, user: String?, groups: String?, settings: CatalogSettings
    ) throws(AuthenticationFailure)
        -> Viewer
    {
        if isTrustedProxy(peer), let user = user?.trimmingWhitespace(), !user.isEmpty {
            let groupSet = Set(
                (groups ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty })
            let isAdmin = !groupSet.isDisjoint(with: settings.adminGroups)
            return Viewer(user: user, groups: groupSet, isAdmin: isAdmin)
        }
        if configuration.allowAnonymousLoopback, let peer, AddressMatcher.isLoopback(peer) {
            return .localDeveloper
        }
        throw .notSignedIn
    }
}

/// An IP address or an IPv4/IPv6 network in CIDR notation.
struct AddressMatcher: Sendable, Hashable {
    let network: [UInt8]
    let prefixLength: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = Self.parse(String(parts[0])) else { return nil }
        let maximum = bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        network = bytes
    }

    func matches(_ address: String) -> Bool {
        guard let bytes = Self.parse(address), bytes.count == network.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(bytes, network) where remaining > 0 {
            let bits = min(8, remaining)
            let mask: UInt8 = bits == 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if a & mask != b & mask { return false }
            remaining -= bits
        }
        return true
    }

    static func isLoopback(_ address: String) -> Bool {
        guard let bytes = parse(address) else { return false }
        if bytes.count == 4 { return bytes[0] == 127 }
        if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
        // IPv4-mapped ::ffff:127.x.x.x
        return bytes.prefix(10).allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }

    /// Parses dotted IPv4 or IPv6 (with `::` and an optional trailing IPv4 part).
    static func parse(_ text: String) -> [UInt8]? {
        if !text.contains(where: { $0 == ":" }) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 4 else { return nil }
            var bytes: [UInt8] = []
            for part in parts {
                guard !part.isEmpty, part.count <= 3, let value = UInt8(part) else { return nil }
                bytes.append(value)
            }
            return bytes
        }
        var address = text
        if let zone = address.firstIndex(of: "%") { address = String(address[..<zone]) }
        let halves = address.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var bytes: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(where: { $0 == "." }) {
                    guard let v4 = parse(String(piece)) else { return nil }
                    bytes += v4
                    continue
                }
                guard !piece.isEmpty, piece.count <= 4, let value = UInt16(piece, radix: 16) else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return bytes
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count < 16 else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}
