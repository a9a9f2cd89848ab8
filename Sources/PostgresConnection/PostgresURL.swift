public import AlmanacCore
import Foundation
public import Logging
import NIOCore
public import PostgresNIO

/// `postgres://` URLs as Almanac reads them, for every store kept in PostgreSQL (the warehouse,
/// the state store): the URL's connection settings, a running client pool, and the URL as logs
/// and error messages may show it.
public enum PostgresURL {
    /// `location` with any password replaced by `***` (`postgres://user:***@host/db`).
    public static func redacted(_ location: String) -> String { StoreLocation.redacted(location) }

    /// The connection settings of
    /// `postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require]`; a host
    /// that starts with `/` is the directory of a unix socket.
    ///
    /// - Throws: ``PostgresURLError`` when `url` has no host or user.
    public static func configuration(_ url: String) throws(PostgresURLError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let host = components.host, !host.isEmpty,
            let user = components.user, !user.isEmpty
        else { throw PostgresURLError(location: redacted(url)) }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS =
            switch sslMode {
            case "require", "verify-full", "verify-ca": .require(.makeClientConfiguration())
            case "prefer": .prefer(.makeClientConfiguration())
            default: .disable
            }
        if host.hasPrefix("/") {
            return PostgresClient.Configuration(
                unixSocketPath: host + "/.s.PGSQL.\(components.port ?? 5432)", username: user,
                password: components.password, database: database.isEmpty ? nil : database)
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: database.isEmpty ? nil : database, tls: tls)
    }

    /// A running client pool of up to `connections` connections to `url`, its logger (quiet but
    /// for critical messages) and the task that runs it: the pool lives as long as the task, so
    /// the owner cancels it when it closes.
    ///
    /// - Throws: ``PostgresURLError`` when `url` is not a PostgreSQL URL.
    public static func makeClient(
        _ url: String, label: String, connections: Int, connectTimeout: Duration
    ) throws(PostgresURLError) -> (PostgresClient, Task<Void, Never>, Logger) {
        var configuration = try configuration(url)
        configuration.options.maximumConnections = max(1, connections)
        configuration.options.connectTimeout = connectTimeout
        var logger = Logger(label: label)
        logger.logLevel = .critical
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return (client, Task { await client.run() }, logger)
    }
}

/// A location that is not a PostgreSQL URL; the message names it with its password redacted.
public struct PostgresURLError: AlmanacError, Sendable {
    /// The location, password redacted.
    public var location: String
    public var userMessage: String { "'\(location)' is not a PostgreSQL URL" }
    public var hint: String? { "write postgres://user:password@host:5432/database" }
    public init(location: String) { self.location = location }
}
