import AlmanacCore
import NIOCore
import Proxy
import Testing

@testable import Portal

/// The peer of a connection is read from the socket address's bytes: the same address as its
/// text form gives, IPv4-mapped IPv6 peers as their IPv4 address, and none for a Unix socket.
@Suite struct PeerAddressTests {
    @Test func aSocketAddressIsTheAddressItsTextNames() throws {
        for text in ["127.0.0.1", "10.0.0.9", "::1", "fe80::1", "2001:db8::42"] {
            let socket = try SocketAddress(ipAddress: text, port: 443)
            #expect(IPAddress(socket) == IPAddress(text), "\(text)")
        }
        let mapped = try SocketAddress(ipAddress: "::ffff:10.0.0.9", port: 443)
        #expect(IPAddress(mapped) == IPAddress("10.0.0.9"))
        #expect(IPAddress(try SocketAddress(unixDomainSocketPath: "/tmp/almanac.sock")) == nil)
    }

    @Test func trustComesFromTheAddressHowEverItIsGiven() throws {
        let authenticator = Authenticator(configuration: AuthConfiguration(trustedProxies: ["10.0.0.0/24"]))
        let proxy = IPAddress(try SocketAddress(ipAddress: "::ffff:10.0.0.9", port: 50_000))
        #expect(authenticator.isTrustedProxy(address: proxy) && authenticator.isTrustedProxy("10.0.0.9"))
        let viewer = try authenticator.viewer(
            address: proxy, user: " ann ", groups: "growth, sales", settings: portalSettings())
        #expect(viewer.user == "ann" && viewer.groups == ["growth", "sales"])
        let outsider = IPAddress(try SocketAddress(ipAddress: "10.0.1.9", port: 50_000))
        #expect(!authenticator.isTrustedProxy(address: outsider))
        #expect(throws: AuthenticationFailure.notSignedIn) {
            try authenticator.viewer(address: outsider, user: "ann", groups: nil, settings: portalSettings())
        }
    }
}
