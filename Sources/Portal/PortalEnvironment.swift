import AlmanacCore
public import Catalog
public import Foundation
import HTTPTypes
public import Logging
public import Pages
public import Storage

/// Everything the portal needs, already built: the composition root shared by
/// `almanac serve`, `almanac demo` and the tests, so they run the same application.
public struct PortalEnvironment: Sendable {
    public var catalog: CatalogStore
    public var state: any StateStore
    public var renderer: PageRenderer
    public var auth: AuthConfiguration
    public var logger: Logger
    /// The current time; tests pass a fixed one.
    public var now: @Sendable () -> Date
    /// How often the catalog folder is checked for edits.
    public var catalogPollInterval: Duration

    public init(
        catalog: CatalogStore, state: any StateStore, renderer: PageRenderer, auth: AuthConfiguration, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }, catalogPollInterval: Duration = .seconds(2)
    ) {
        self.catalog = catalog
        self.state = state
        self.renderer = renderer
        self.auth = auth
        self.logger = logger
        self.now = now
        self.catalogPollInterval = catalogPollInterval
    }
}

/// Where the HTTP server listens.
public struct ServerConfiguration: Sendable, Hashable {
    public var host: String
    public var port: Int
    public init(host: String = "127.0.0.1", port: Int = 8080) {
        self.host = host
        self.port = port
    }
}
