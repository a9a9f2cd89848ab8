public import AlmanacCore
public import Catalog
import Foundation
import Metrics
import PostgresConnection

/// The stats database Almanac reads metrics from: read-only, enforced by the connection.
///
/// Two implementations: ``SQLiteWarehouse`` (a file opened read-only) and
/// ``PostgresWarehouse`` (every statement in a `READ ONLY` transaction). Neither looks at
/// SQL text to decide what is allowed.
public protocol Warehouse: Sendable {
    var dialect: SQLDialect { get }
    /// Where the warehouse is, with any password removed, for logs and pages.
    var displayLocation: String { get }
    /// Runs one statement and returns its rows.
    /// - Throws: ``WarehouseError`` (unreachable, timeout, missing table or column, …).
    func run(_ statement: CompiledStatement, timeout: Duration) async throws -> [[SQLValue]]
    /// The columns of `table` with their database types, or `nil` when the table does not exist.
    func columns(of table: SQLIdentifier) async throws -> [String: String]?
    /// The newest value of `column` in `table` as text, for freshness.
    func newest(_ column: SQLIdentifier, in table: SQLIdentifier, timeout: Duration) async throws -> String?
    /// Releases connections.
    func close() async
}

/// A warehouse problem, phrased for the people who will read it on a page or in a log.
public struct WarehouseError: AlmanacError, Sendable {
    public enum Kind: String, Sendable {
        case unreachable, timeout, missingTable, missingColumn, readOnly, invalidLocation, query
    }
    public var kind: Kind
    public var userMessage: String
    public var hint: String?

    public init(_ kind: Kind, _ message: String, hint: String? = nil) {
        self.kind = kind
        userMessage = message
        self.hint = hint
    }
}

/// Opens warehouses from a `--warehouse` value.
public enum WarehouseLocation {
    /// `postgres://user:password@host:port/db` (or `postgresql://`), or a SQLite file path
    /// (optionally `sqlite://PATH`).
    public static func open(_ location: String, poolSize: Int = 4) throws -> any Warehouse {
        if StoreLocation.isPostgres(location) {
            return try PostgresWarehouse(url: location, poolSize: poolSize)
        }
        let path = StoreLocation.sqlitePath(location)
        return try SQLiteWarehouse(path: path)
    }

    /// `location` with any password replaced by `***`.
    public static func redacted(_ location: String) -> String {
        PostgresURL.redacted(location)
    }
}

/// Each warehouse query's time, per engine, for the portal's `/metrics`.
func measuredQuery<T: Sendable>(
    engine: String, _ query: () async throws -> T
) async throws -> T {
    let started = ContinuousClock.now
    defer {
        Metrics.Timer(label: "almanac_warehouse_query_duration_seconds", dimensions: [("engine", engine)])
            .record(duration: ContinuousClock.now - started)
    }
    return try await query()
}
