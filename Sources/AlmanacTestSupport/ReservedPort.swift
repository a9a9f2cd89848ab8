#if canImport(Glibc)
import Glibc
#endif
#if canImport(CNIOLinux)
// Where the Clang importer puts sockaddr_in once NIO is in the build.
import CNIOLinux
#endif

/// A loopback port bound but never listened on: connecting to it is refused, and no other
/// server (of this or another test) can take it while the value lives.
public final class ReservedPort: Sendable {
    public let port: Int
    private let socket: Int32

    public init() throws {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                bind(socket, generic, length) == 0 && getsockname(socket, generic, &length) == 0
            }
        }
        guard socket >= 0, bound else {
            if socket >= 0 { close(socket) }
            throw FixtureError("could not reserve a loopback port")
        }
        self.socket = socket
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socket) }
}
