import Foundation
import Portal
import Proxy
import Testing

/// One parser for addresses and networks, shared by the trusted-proxy list and the report
/// apps' allow-list: an IPv4 peer is the same address whether it came through an IPv4 or a
/// dual-stack socket (`::ffff:127.0.0.1`), and a typo never widens a list.
@Suite struct AddressTests {
    @Test func anIPv4MappedAddressIsItsIPv4Address() throws {
        let mapped = try #require(IPAddress("::ffff:127.0.0.1"))
        #expect(mapped == IPAddress("127.0.0.1") && mapped.isLoopback && !mapped.isIPv6)
        #expect(IPAddress("::1")?.isLoopback == true && IPAddress("::2")?.isLoopback == false)
        #expect(IPAddress("[fe80::1%eth0]") == IPAddress("fe80::1"), "brackets and a zone are left off")
        for bad in ["", "127.0.0", "127.0.0.256", "1:2:3", "::ffff:999.0.0.1", "localhost"] {
            #expect(IPAddress(bad) == nil, "\(bad)")
        }
    }

    @Test func networksMatchWhicheverSocketTheAddressCameThrough() throws {
        let private10 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(private10.contains(try #require(IPAddress("10.20.30.40"))))
        #expect(private10.contains(try #require(IPAddress("::ffff:10.20.30.40"))))
        #expect(!private10.contains(try #require(IPAddress("11.0.0.1"))))
        let ula = try #require(IPNetwork("fd00::/8"))
        let (inside, outside) = (try #require(IPAddress("fd12::1")), try #require(IPAddress("fe80::1")))
        #expect(ula.contains(inside) && !ula.contains(outside))
        #expect(IPNetwork("192.0.2.7")?.prefix == 32 && IPNetwork("::1")?.prefix == 128)
        // An IPv4 network written as mapped IPv6 keeps its meaning; a prefix inside the mapped
        // bits is no IPv4 network.
        #expect(IPNetwork("::ffff:10.0.0.0/104") == IPNetwork("10.0.0.0/8"))
        #expect(IPNetwork("::ffff:0:0/96")?.prefix == 0 && IPNetwork("::ffff:10.0.0.0/8") == nil)
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/8/8", "fd00::/129", "10.0.0.0/٨", "name/8"] {
            #expect(IPNetwork(bad) == nil, "\(bad) is refused, not clamped")
        }
    }

    @Test func theTrustedProxyListAndTheLoopbackDeveloperAgree() {
        let configuration = AuthConfiguration(
            trustedProxies: ["127.0.0.1", "10.0.0.0/24", "10.0.0.0/99"], allowAnonymousLoopback: true)
        #expect(configuration.invalidProxies() == ["10.0.0.0/99"])
        let authenticator = Authenticator(configuration: configuration)
        #expect(authenticator.isTrustedProxy("127.0.0.1") && authenticator.isTrustedProxy("::ffff:127.0.0.1"))
        #expect(authenticator.isTrustedProxy("::ffff:10.0.0.9") && !authenticator.isTrustedProxy("10.0.1.9"))
        #expect(!authenticator.isTrustedProxy("::1"), "IPv6 loopback is another address than 127.0.0.1")
        #expect(!authenticator.isTrustedProxy(nil) && !authenticator.isTrustedProxy("not an address"))
    }

    @Test func theAllowListTakesNetworksAndRefusesWhatIsNeither() throws {
        let list = AllowList(["reports.internal", "10.1.0.0/16", "192.0.2.9", "10.9.0.0/99"])
        #expect(list.permits(address: try #require(IPAddress("10.1.2.3")), for: "anything"))
        #expect(list.permits(address: try #require(IPAddress("::ffff:10.1.2.3")), for: "anything"))
        #expect(list.permits(host: "192.0.2.9") && list.permits(host: "reports.internal"))
        #expect(
            !list.permits(address: try #require(IPAddress("10.9.0.1")), for: "anything"), "a bad prefix widens nothing")
    }

    /// A name whose DNS answer is written as IPv4-mapped IPv6: judged as the IPv4 address it is,
    /// so cloud metadata and loopback stay out however the answer is spelled.
    @Test func aMappedAnswerForMetadataOrLoopbackIsNotPinned() async throws {
        struct Answers: AddressResolver {
            func addresses(of host: String) async throws -> [IPAddress] {
                // As getaddrinfo hands them over: 16 bytes each.
                let mapped: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]
                return [[169, 254, 169, 254], [127, 0, 0, 1], [10, 1, 2, 3]].map { IPAddress(bytes: mapped + $0) }
            }
        }
        let list = await AllowList(["reports.internal"]).pin(using: Answers())
        let metadata = try #require(IPAddress("169.254.169.254"))
        #expect(!list.permits(address: metadata, for: "reports.internal"))
        #expect(!list.permits(address: try #require(IPAddress("127.0.0.1")), for: "reports.internal"))
        #expect(list.permits(address: try #require(IPAddress("10.1.2.3")), for: "reports.internal"))
    }
}
