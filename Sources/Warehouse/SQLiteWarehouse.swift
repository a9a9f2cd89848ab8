public import AlmanacCore
public import Catalog
import Foundation
import GRDB

/// A SQLite warehouse file, opened read-only: SQLite itself refuses every write.
public final class SQLiteWarehouse: Warehouse {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let pool: DatabasePool

    /// - Throws: ``WarehouseError`` when the file does not exist or is not a SQLite database.
    public init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw WarehouseError(
                .invalidLocation, "no warehouse file at '\(path)'",
                hint: "run 'almanac demo --no-serve' to write the demo warehouse, or pass the path of yours")
        }
        self.path = path
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
        let pool = self.pool
        // NB: SQLite has no statement timeout; interrupting the pool stops the running
        // statement with SQLITE_INTERRUPT, which is reported as a timeout below.
        let watchdog = Task {
            try await Task.sleep(for: timeout)
            pool.interrupt()
        }
        defer { watchdog.cancel() }
        do {
            return try await pool.read { db in
                let rows = try Row.fetchCursor(db, sql: statement.sql, arguments: arguments)
                var result: [[SQLValue]] = []
                while let row = try rows.next() {
                    result.append(row.databaseValues.map(Self.sqlValue))
                }
                return result
            }
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
            return WarehouseError(
                .timeout, "the query took longer than \(timeout) and was stopped",
                hint: "narrow the date range, or raise the query timeout")
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

    static func message(_ error: any Error) -> String {
        (error as? DatabaseError)?.message ?? "\(error)"
    }
}
