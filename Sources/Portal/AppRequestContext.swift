public import AlmanacCore
import Catalog
import Foundation
import HTTPTypes
public import Hummingbird
import Logging
public import NIOCore

/// Request-scoped data: who is looking, the request id, where the request came from.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// Set by ``AuthMiddleware``; `nil` only on public routes (health checks, static files).
    public var viewer: Viewer?
    /// Whether the request came straight from a trusted proxy, whose `X-Forwarded-*` headers
    /// are believed (set by ``AuthMiddleware``).
    public var fromTrustedProxy = false
    /// The reader as remembered by the values of its identity headers, with its audience and
    /// escaped name: set for the answers a connection sends before the router (see
    /// ``CachedPageRoutes``), `nil` elsewhere.
    var reader: Audiences.SignedIn?
    /// Set by ``EdgeMiddleware``; shown on error pages and logged with errors.
    public var requestID: String = ""

    /// Bodies are collected up to the portal's one limit (413 above it).
    public var maxUploadSize: Int { EdgeMiddleware.maximumBodySize }

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The viewer of a route that requires one.
    public func requireViewer() throws -> Viewer {
        guard let viewer else { throw PortalError.notSignedIn }
        return viewer
    }
}
