public import AlmanacCore
public import Catalog
import Foundation
import GRDB
import Synchronization

/// A SQLite warehouse file, opened read-only: SQLite itself refuses every write.
///
/// Each query runs on one of the pool's reader connections under its own time limit: when
/// the limit passes, that query alone is interrupted (the other panels of a dashboard keep
/// running on their connections) and reported as a timeout.
public final class SQLiteWarehouse: Warehouse {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let pool: DatabasePool
    /// Measures the queries' time limits.
    let clock: any WallClock
    private let running = Atomic<Int>(0)

    /// How many queries are executing on the warehouse's connections right now (not waiting
    /// for one).
    public var queriesRunning: Int { running.load(ordering: .relaxed) }

    /// - Parameter clock: measures each query's time limit (a test passes a manual one).
    /// - Throws: ``WarehouseError`` when the file does not exist or is not a SQLite database.
    public init(path: String, clock: any WallClock = SystemClock()) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw WarehouseError(
                .invalidLocation, "no warehouse file at '\(path)'",
                hint: "run 'almanac demo --no-serve' to write the demo warehouse, or pass the path of yours")
        }
        self.path = path
        self.clock = clock
        var configuration = Configuration()
        configuration.readonly = true
        configuration.maximumReaderCount = 4
        configuration.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            _ = try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM sqlite_master") }
        } catch {
            throw WarehouseError(
                .invalidLocation, "cannot open '\(path)' as a SQLite warehouse: \(Self.message(error))")
        }
    }

    public var displayLocation: String { path }

    public func run(_ statement: CompiledStatement, timeout: Duration) async throws -> [[SQLValue]] {
        let arguments = StatementArguments(statement.parameters.map(Self.databaseValue))
        // NB: SQLite has no statement timeout. GRDB interrupts the connection of a cancelled
        // read (and only that one), so the deadline cancels the read's task; a cancellation
        // that reaches GRDB before or during the statement ends it with CancellationError.
        do {
            return try await measuredQuery(engine: "sqlite") {
                try await withDeadline(timeout, clock: clock) { [self] in
                    try await pool.read { db in
                        running.add(1, ordering: .relaxed)
                        defer { running.subtract(1, ordering: .relaxed) }
                        let rows = try Row.fetchCursor(db, sql: statement.sql, arguments: arguments)
                        var result: [[SQLValue]] = []
                        while let row = try rows.next() {
                            result.append(row.databaseValues.map(Self.sqlValue))
                        }
                        return result
                    }
                }
            }
        } catch is DeadlineExceeded {
            throw Self.timeoutError(timeout)
        } catch let error as DatabaseError {
            throw Self.translate(error, timeout: timeout)
        }
    }

    public func columns(of table: SQLIdentifier) async throws -> [String: String]? {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT name, type FROM pragma_table_info(?)", arguments: [table.parts.last!])
            if rows.isEmpty { return nil }
            var columns: [String: String] = [:]
            for row in rows { columns[row["name"]] = row["type"] }
            return columns
        }
    }

    public func newest(_ column: SQLIdentifier, in table: SQLIdentifier, timeout: Duration) async throws -> String? {
        let statement = CompiledStatement(
            role: .value, sql: "SELECT MAX(\(column.quoted)) FROM \(table.quoted)", parameters: [], columns: ["newest"])
        return try await run(statement, timeout: timeout).first?.first?.textValue
    }

    public func close() async {
        try? pool.close()
    }

    static func databaseValue(_ value: SQLValue) -> DatabaseValue {
        switch value {
        case .null: .null
        case .integer(let v): v.databaseValue
        case .double(let v): v.databaseValue
        case .text(let v): v.databaseValue
        case .bool(let v): (v ? 1 : 0).databaseValue  // SQLite stores booleans as 0/1
        }
    }

    static func sqlValue(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let v): .integer(v)
        case .double(let v): .double(v)
        case .string(let v): .text(v)
        case .blob: .null
        }
    }

    static func translate(_ error: DatabaseError, timeout: Duration) -> WarehouseError {
        let message = error.message ?? "\(error)"
        switch error.resultCode {
        case .SQLITE_INTERRUPT:
            return timeoutError(timeout)
        case .SQLITE_READONLY:
            return WarehouseError(.readOnly, "the warehouse is read-only to Almanac: \(message)")
        default:
            if message.hasPrefix("no such table") {
                return WarehouseError(
                    .missingTable, "the warehouse has \(message)",
                    hint: "check the source's 'table' in the catalog, or run 'almanac catalog check --warehouse'")
            }
            if message.hasPrefix("no such column") {
                return WarehouseError(
                    .missingColumn, "the warehouse has \(message)",
                    hint: "check the source's columns in the catalog, or run 'almanac catalog check --warehouse'")
            }
            return WarehouseError(.query, "the warehouse query failed: \(message)")
        }
    }

    static func timeoutError(_ timeout: Duration) -> WarehouseError {
        WarehouseError(
            .timeout, "the query took longer than \(timeout) and was stopped",
            hint: "narrow the date range, or raise the query timeout")
    }

    static func message(_ error: any Error) -> String {
        (error as? DatabaseError)?.message ?? "\(error)"
    }
}
