public import AlmanacCore
public import Catalog
import Foundation
import HTTPTypes
import Logging
import NIOCore
public import Proxy

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
        trustedProxies.filter { IPNetwork($0) == nil }
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
    private let proxies: [IPNetwork]

    public init(configuration: AuthConfiguration) {
        self.configuration = configuration
        self.proxies = configuration.trustedProxies.compactMap(IPNetwork.init)
    }

    /// Whether `peer` is one of the configured proxies, whose identity and `X-Forwarded-*`
    /// headers are believed.
    public func isTrustedProxy(_ peer: String?) -> Bool {
        isTrustedProxy(address: peer.flatMap(IPAddress.init))
    }

    /// Whether the peer at `address` is one of the configured proxies.
    public func isTrustedProxy(address: IPAddress?) -> Bool {
        address.map { address in proxies.contains { $0.contains(address) } } ?? false
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
        try viewer(address: peer.flatMap(IPAddress.init), user: user, groups: groups, settings: settings)
    }

    /// ``viewer(peer:user:groups:settings:)`` for a peer address already parsed.
    public func viewer(
        address: IPAddress?, user: String?, groups: String?, settings: CatalogSettings
    ) throws(AuthenticationFailure)
        -> Viewer
    {
        if isTrustedProxy(address: address), let user = user?.trimmingWhitespace(), !user.isEmpty {
            let groupSet = Set(
                (groups ?? "").split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty })
            let isAdmin = !groupSet.isDisjoint(with: settings.adminGroups)
            return Viewer(user: user, groups: groupSet, isAdmin: isAdmin)
        }
        if configuration.allowAnonymousLoopback, address?.isLoopback == true {
            return .localDeveloper
        }
        throw .notSignedIn
    }
}

extension String {
    func trimmingWhitespace() -> String {
        // Names and groups nearly always start and end with a visible ASCII character: nothing
        // to trim, and no need to look at Unicode whitespace.
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return self
        }
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice.removeFirst() }
        while let last = slice.last, last.isWhitespace { slice.removeLast() }
        return String(slice)
    }
}

extension IPAddress {
    /// The address of a socket's peer, read from its bytes (nil for a Unix domain socket):
    /// what the request path asks of every connection, without formatting the address as text
    /// and parsing it back.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            var bytes = v4.address.sin_addr
            self.init(bytes: withUnsafeBytes(of: &bytes) { Array($0) })
        case .v6(let v6):
            var bytes = v6.address.sin6_addr
            self.init(bytes: withUnsafeBytes(of: &bytes) { Array($0) })
        case .unixDomainSocket:
            return nil
        }
    }
}
