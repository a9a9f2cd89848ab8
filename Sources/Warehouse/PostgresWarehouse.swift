public import AlmanacCore
public import Catalog
import Foundation
import Logging
import NIOCore
import PostgresConnection
import PostgresNIO
import Synchronization

/// A PostgreSQL (or Redshift-compatible) warehouse through a pool of postgres-nio
/// connections. Every statement runs in a `READ ONLY` transaction with a
/// `statement_timeout`, so the server itself refuses writes and stops slow queries.
public final class PostgresWarehouse: Warehouse {
    public let dialect = SQLDialect.postgres
    public let displayLocation: String
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    /// How long to wait for a connection before calling the server unreachable.
    let connectTimeout: Duration
    /// Connections in use by queries right now: while any is, waiting for one is queueing
    /// behind other queries (a busy pool), not a server that cannot be reached.
    private let inUse = Atomic<Int>(0)
    /// Measures the connect timeout and the client-side backstop of each query's time limit
    /// (the server's `statement_timeout` is the limit itself).
    let clock: any WallClock

    /// - Parameters:
    ///   - url: `postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`.
    ///   - clock: measures the waits for a connection (a test passes a manual one).
    public init(
        url: String, poolSize: Int = 4, connectTimeout: Duration = .seconds(5), clock: any WallClock = SystemClock()
    ) throws {
        self.connectTimeout = connectTimeout
        self.clock = clock
        (client, runner, logger) = try Self.makeClient(
            url, label: "almanac.warehouse.postgres", connections: poolSize, connectTimeout: connectTimeout)
        displayLocation = WarehouseLocation.redacted(url)
    }

    deinit {
        runner.cancel()
    }

    /// A running client pool for `url`; the pool lives as long as the returned task.
    static func makeClient(
        _ url: String, label: String, connections: Int, connectTimeout: Duration
    ) throws -> (
        PostgresClient, Task<Void, Never>, Logger
    ) {
        do throws(PostgresURLError) {
            return try PostgresURL.makeClient(
                url, label: label, connections: connections, connectTimeout: connectTimeout)
        } catch {
            throw invalidLocation(error)
        }
    }

    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        do throws(PostgresURLError) {
            return try PostgresURL.configuration(url)
        } catch {
            throw invalidLocation(error)
        }
    }

    /// The warehouse's wording of a location that is not a PostgreSQL URL.
    private static func invalidLocation(_ error: PostgresURLError) -> WarehouseError {
        WarehouseError(.invalidLocation, error.userMessage, hint: error.hint)
    }

    public func run(_ statement: CompiledStatement, timeout: Duration) async throws -> [[SQLValue]] {
        var bindings = PostgresBindings()
        for value in statement.parameters {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(Int(v))
            case .double(let v): bindings.append(v)
            case .text(let v): bindings.append(v)
            case .bool(let v): bindings.append(v)
            }
        }
        let query = PostgresQuery(unsafeSQL: statement.sql, binds: bindings)
        let milliseconds = max(1, Int(timeout / .milliseconds(1)))
        let leased = Flag()
        do {
            return try await withThrowingTaskGroup(of: [[SQLValue]].self) { group in
                group.addTask {
                    try await measuredQuery(engine: "postgres") {
                        try await self.execute(query, milliseconds: milliseconds, leased: leased)
                    }
                }
                // NB: the pool keeps retrying a server that is down for about a minute; give up
                // on the lease after the connect timeout so pages fail fast with a clear error.
                // While other queries hold connections, the wait is a busy pool instead, and
                // only the query's own time limit applies.
                group.addTask { [self] in
                    try await clock.sleep(for: connectTimeout)
                    if !leased.isSet, inUse.load(ordering: .relaxed) == 0 {
                        throw WarehouseError(
                            .unreachable, "cannot reach the warehouse at \(displayLocation) within \(connectTimeout)",
                            hint: "check that PostgreSQL is running and the URL, user and password are right")
                    }
                    try await clock.sleep(for: timeout + .seconds(5))
                    throw WarehouseError(.timeout, "the query took longer than \(timeout) and was stopped")
                }
                let result = try await group.next()!
                group.cancelAll()
                return result
            }
        } catch let error as PSQLError {
            throw Self.translate(error, location: displayLocation, timeout: timeout)
        } catch let error as WarehouseError {
            throw error
        } catch {
            throw WarehouseError(
                .unreachable, "cannot reach the warehouse at \(displayLocation): \(error)",
                hint: "check that PostgreSQL is running and the URL, user and password are right")
        }
    }

    private func execute(_ query: PostgresQuery, milliseconds: Int, leased: Flag) async throws -> [[SQLValue]] {
        let logger = self.logger
        return try await client.withConnection { [self] connection in
            leased.set()
            inUse.add(1, ordering: .relaxed)
            defer { inUse.subtract(1, ordering: .relaxed) }
            // NB: the transaction, not the SQL text, is what makes this read-only.
            try await connection.query("BEGIN TRANSACTION READ ONLY", logger: logger)
            do {
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(milliseconds)"), logger: logger)
                var result: [[SQLValue]] = []
                for try await row in try await connection.query(query, logger: logger) {
                    result.append(try row.makeRandomAccess().map(Self.value))
                }
                try await connection.query("COMMIT", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    public func columns(of table: SQLIdentifier) async throws -> [String: String]? {
        let schema = table.parts.count == 2 ? table.parts[0] : "public"
        let statement = CompiledStatement(
            role: .value,
            sql: """
                SELECT column_name, data_type FROM information_schema.columns
                WHERE table_schema = $1 AND table_name = $2
                """,
            parameters: [.text(schema), .text(table.parts.last!)], columns: ["name", "type"])
        let rows = try await run(statement, timeout: .seconds(30))
        if rows.isEmpty { return nil }
        var columns: [String: String] = [:]
        for row in rows { columns[row[0].textValue ?? ""] = row[1].textValue }
        return columns
    }

    public func newest(_ column: SQLIdentifier, in table: SQLIdentifier, timeout: Duration) async throws -> String? {
        let statement = CompiledStatement(
            role: .value, sql: "SELECT CAST(MAX(\(column.quoted)) AS VARCHAR) FROM \(table.quoted)", parameters: [],
            columns: ["newest"])
        return try await run(statement, timeout: timeout).first?.first?.textValue
    }

    public func close() async {
        runner.cancel()
    }

    /// Decodes a cell by its PostgreSQL type into the few kinds of value Almanac uses.
    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(Int64(try cell.decode(Int.self)))
        case .float4, .float8: return .double(try cell.decode(Double.self))
        case .numeric: return .double(Double(try cell.decode(String.self)) ?? .nan)
        case .bool: return .bool(try cell.decode(Bool.self))
        default: return .text(try cell.decode(String.self))
        }
    }

    static func translate(_ error: PSQLError, location: String, timeout: Duration) -> WarehouseError {
        let state = error.serverInfo?[.sqlState]
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        switch state {
        case "57014"?:
            return WarehouseError(
                .timeout, "the query took longer than \(timeout) and was stopped",
                hint: "narrow the date range, or raise the query timeout")
        case "25006"?:
            return WarehouseError(.readOnly, "the warehouse is read-only to Almanac: \(message)")
        case "42P01"?:
            return WarehouseError(
                .missingTable, "the warehouse has no such table: \(message)",
                hint: "check the source's 'table' in the catalog, or run 'almanac catalog check --warehouse'")
        case "42703"?:
            return WarehouseError(
                .missingColumn, "the warehouse has no such column: \(message)",
                hint: "check the source's columns in the catalog, or run 'almanac catalog check --warehouse'")
        case .some:
            return WarehouseError(.query, "the warehouse query failed: \(message)")
        case nil:
            return WarehouseError(
                .unreachable, "cannot reach the warehouse at \(location) (\(error.code))",
                hint: "check that PostgreSQL is running and the URL, user and password are right")
        }
    }
}

/// A one-way flag shared between a query and its watchdog.
final class Flag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
