import AlmanacCore
import Foundation

/// An IPv4 or IPv6 address, as bytes and in its canonical text form.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    /// Dotted IPv4, or IPv6 in any form `inet_pton` reads (in brackets too, with a `%zone`
    /// left off). An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, how a dual-stack socket
    /// reports an IPv4 peer) is its IPv4 address: the same peer is the same address whichever
    /// socket it came through.
    public init?(_ text: String) {
        var trimmed = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        if trimmed.utf8.contains(UInt8(ascii: ":")), let zone = trimmed.firstIndex(of: "%") {
            trimmed = String(trimmed[..<zone])
        }
        var v4 = in_addr()
        if inet_pton(AF_INET, trimmed, &v4) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, trimmed, &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        return nil
    }

    /// From 4 or 16 bytes (a resolver's answer); an IPv4-mapped IPv6 address becomes its IPv4
    /// address here too, so `::ffff:169.254.169.254` in a DNS answer is judged as 169.254.169.254.
    public init(bytes: [UInt8]) {
        self.bytes = Self.isMapped(bytes) ? Array(bytes[12...]) : bytes
    }

    /// `::ffff:a.b.c.d`.
    static func isMapped(_ bytes: [UInt8]) -> Bool {
        bytes.count == 16 && bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
    }

    public var isIPv6: Bool { bytes.count == 16 }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        let text = copy.withUnsafeMutableBytes { raw in
            inet_ntop(isIPv6 ? AF_INET6 : AF_INET, raw.baseAddress, &buffer, socklen_t(buffer.count))
        }
        return text == nil
            ? "?" : String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var isLoopback: Bool {
        isIPv6 ? bytes == [UInt8](repeating: 0, count: 15) + [1] : bytes[0] == 127
    }

    /// Unspecified, loopback, link-local or multicast (an IPv4-mapped address is judged as the
    /// IPv4 address it is).
    var isSpecial: Bool {
        if isLoopback { return true }
        if isIPv6 {
            return bytes.allSatisfy { $0 == 0 } || (bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80) || bytes[0] == 0xFF
        }
        return bytes[0] == 0 || (bytes[0] == 169 && bytes[1] == 254) || bytes[0] >= 224
    }

    /// How the address appears in a URL's authority (`[::1]` for IPv6).
    public var urlHost: String { isIPv6 ? "[\(description)]" : description }

    /// Whether the first `prefix` bits equal `network`'s.
    func matches(_ network: IPAddress, prefix: Int) -> Bool {
        guard bytes.count == network.bytes.count else { return false }
        var remaining = prefix
        for (mine, theirs) in zip(bytes, network.bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if mine & mask != theirs & mask { return false }
            remaining -= bits
        }
        return true
    }
}

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `fd00::/8`), or one address.
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefix: Int

    /// `nil` for anything but an address with an optional prefix that fits it (`/0` to `/32`
    /// for IPv4, `/128` for IPv6): a typo in a trusted-proxy list must not widen it.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = IPAddress(parts[0]) else { return nil }
        // An IPv4 network written as IPv4-mapped IPv6 (`::ffff:10.0.0.0/104`) has a 96–128 bit
        // prefix: the IPv4 part's prefix is what is left after the 96 mapped bits.
        let mapped = !address.isIPv6 && parts[0].contains(":")
        let full = address.isIPv6 || mapped ? 128 : 32
        if parts.count == 2 {
            guard parts[1].allSatisfy(\.isASCII), let prefix = Int(parts[1]), (0...full).contains(prefix) else {
                return nil
            }
            if mapped {
                guard prefix >= 96 else { return nil }
                self.prefix = prefix - 96
            } else {
                self.prefix = prefix
            }
        } else {
            self.prefix = address.isIPv6 ? 128 : 32
        }
        self.address = address
    }

    public func contains(_ other: IPAddress) -> Bool { other.matches(address, prefix: prefix) }

    public var description: String { "\(address)/\(prefix)" }
}

/// Finds the addresses a host name stands for.
public protocol AddressResolver: Sendable {
    func addresses(of host: String) async throws -> [IPAddress]
}

/// The system's resolver (`getaddrinfo`: `/etc/hosts`, then DNS), run off the event loops.
public struct SystemResolver: AddressResolver {
    public init() {}

    public func addresses(of host: String) async throws -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        let result: Result<[IPAddress], ProxyError> = await offloaded {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            let status = getaddrinfo(host, nil, &hints, &list)
            guard status == 0, let first = list else {
                return .failure(.unreachable("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))"))
            }
            defer { freeaddrinfo(first) }
            var found: [IPAddress] = []
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let current = node {
                if let address = current.pointee.ai_addr {
                    switch Int32(current.pointee.ai_family) {
                    case AF_INET:
                        var v4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                        found.append(IPAddress(bytes: withUnsafeBytes(of: &v4) { Array($0) }))
                    case AF_INET6:
                        var v6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                        found.append(IPAddress(bytes: withUnsafeBytes(of: &v6) { Array($0) }))
                    default: break
                    }
                }
                node = current.pointee.ai_next
            }
            var seen = Set<IPAddress>()
            return .success(found.filter { seen.insert($0).inserted })
        }
        return try result.get()
    }
}

/// `backends.allowed_hosts` from `almanac.yaml`: host names, IP addresses and CIDR networks.
///
/// A backend's host must be listed by name, and the address the portal connects to must be
/// listed too: either as an address or network, or as one of the addresses a listed name
/// had when the list was built (``pin(using:)``). So a name that is later re-pointed at
/// another address (DNS rebinding) is refused at connection time.
public struct AllowList: Sendable {
    public let hosts: Set<String>
    let networks: [IPNetwork]
    /// Addresses of the listed names, resolved when they were pinned.
    var pinned: [String: Set<IPAddress>] = [:]
    /// Names whose lookup failed when pinning (they are retried, never cached as empty).
    public private(set) var unresolved: Set<String> = []

    public init(_ entries: [String]) {
        var hosts = Set<String>()
        var networks: [IPNetwork] = []
        for entry in entries.map({ $0.lowercased() }) {
            if let network = IPNetwork(entry) {
                networks.append(network)
                if !entry.contains("/") { hosts.insert(entry.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) }
            } else {
                // A name, or an entry that is neither name nor network ("10.0.0.0/99"): it only
                // ever matches a host spelled the same, so it widens nothing.
                hosts.insert(entry)
            }
        }
        self.hosts = hosts
        self.networks = networks
    }

    /// The list with the current addresses of every listed name recorded.
    public func pin(using resolver: any AddressResolver) async -> AllowList {
        var copy = self
        for host in hosts where IPAddress(host) == nil { await copy.pin(host, using: resolver) }
        return copy
    }

    /// Records the current addresses of `host` (a listed name). Addresses no backend has any
    /// business at (unspecified, link-local such as cloud metadata, multicast, and loopback
    /// unless the name is `localhost`) are left out even when the name points there: list them
    /// as addresses if a backend really lives there.
    public mutating func pin(_ host: String, using resolver: any AddressResolver) async {
        let name = host.lowercased()
        guard hosts.contains(name), IPAddress(name) == nil else { return }
        guard let addresses = try? await resolver.addresses(of: name) else {
            unresolved.insert(name)
            pinned[name] = nil
            return
        }
        unresolved.remove(name)
        pinned[name] = Set(addresses.filter { !$0.isSpecial || (name == "localhost" && $0.isLoopback) })
    }

    /// Whether `host` is pinned (or needs no pinning: an address, or not listed at all).
    public func isPinned(_ host: String) -> Bool {
        let name = host.lowercased()
        return IPAddress(name) != nil || !hosts.contains(name) || pinned[name] != nil
    }

    /// Whether `host` is listed by name (or as an address literal).
    public func permits(host: String) -> Bool {
        let lower = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return hosts.contains(lower) || IPAddress(lower).map { permits(address: $0, for: lower) } == true
    }

    /// Whether connecting to `address` for `host` is allowed: the address is a listed address
    /// or network, or one `host` had when it was pinned.
    public func permits(address: IPAddress, for host: String) -> Bool {
        pinned[host.lowercased()]?.contains(address) == true
            || networks.contains { $0.contains(address) }
    }
}
