public import AlmanacCore
public import Catalog
import Foundation
import GRDB
import Logging
import PostgresNIO

/// Writes rows into warehouse tables: the one place Almanac writes to a warehouse, used by
/// `almanac ingest` (exports from a CRM or an ad platform) and by `almanac demo --warehouse
/// postgres://…`. The portal and the generators never get one; they read through
/// ``Warehouse``, whose connections are read-only.
///
/// Each load runs in one transaction: a bad row leaves the table as it was.
public protocol WarehouseWriter: Sendable {
    var dialect: SQLDialect { get }
    /// Creates the source's table with its declared columns when it does not exist
    /// (or drops and creates it when `replace` is true), then inserts `rows` in one
    /// transaction. Values must already match the declared column types.
    func load(
        _ source: Source, columns: [String], rows: some Sequence<[SQLValue]> & Sendable, replace: Bool
    ) async throws
        -> Int
    func close() async
}

public enum WarehouseWriters {
    /// A writer for a `--warehouse` value: a SQLite file (created if missing) or a PostgreSQL URL.
    public static func open(_ location: String) throws -> any WarehouseWriter {
        if StoreLocation.isPostgres(location) {
            return try PostgresWriter(url: location)
        }
        let path = StoreLocation.sqlitePath(location)
        return try SQLiteWriter(path: path)
    }

    /// `CREATE TABLE` for a source, in a dialect, from its declared columns.
    static func createTable(_ source: Source, dialect: SQLDialect, ifNotExists: Bool) -> String {
        let columns = source.columns.map { column -> String in
            let type: String =
                switch (dialect, column.type) {
                case (.sqlite, .integer), (.sqlite, .boolean): "INTEGER"
                case (.sqlite, .number): "REAL"
                case (.sqlite, _): "TEXT"
                case (.postgres, .integer): "BIGINT"
                case (.postgres, .number): "DOUBLE PRECISION"
                case (.postgres, .string): "VARCHAR"
                case (.postgres, .boolean): "BOOLEAN"
                case (.postgres, .date): "DATE"
                case (.postgres, .timestamp): "TIMESTAMP"
                }
            return "\(column.name.quoted) \(type)"
        }
        return
            "CREATE TABLE \(ifNotExists ? "IF NOT EXISTS " : "")\(source.table.quoted) (\(columns.joined(separator: ", ")))"
    }

    /// Indexes worth having for metric queries: the time and freshness columns and join keys.
    static func indexes(_ source: Source) -> [(name: String, column: SQLIdentifier)] {
        var columns: [SQLIdentifier] = []
        for column in [source.timeColumn, source.freshness?.column].compactMap({ $0 })
            + source.columns.map(\.name).filter({ ["user_id", "workspace_id"].contains($0.name) })
        where !columns.contains(column) {
            columns.append(column)
        }
        let table = source.table.parts.last!
        return columns.map { ("\(table)_\($0.name)_idx", $0) }
    }
}

/// Writes into a SQLite warehouse file.
final class SQLiteWriter: WarehouseWriter {
    let dialect = SQLDialect.sqlite
    private let queue: DatabaseQueue

    init(path: String) throws {
        queue = try DatabaseQueue(path: path)
    }

    func load(
        _ source: Source, columns: [String], rows: some Sequence<[SQLValue]> & Sendable, replace: Bool
    ) async throws
        -> Int
    {
        let names = columns.map { "\"\($0)\"" }.joined(separator: ", ")
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        return try await queue.write { db in
            if replace { try db.execute(sql: "DROP TABLE IF EXISTS \(source.table.quoted)") }
            try db.execute(sql: WarehouseWriters.createTable(source, dialect: .sqlite, ifNotExists: true))
            let statement = try db.makeStatement(
                sql: "INSERT INTO \(source.table.quoted) (\(names)) VALUES (\(placeholders))")
            var count = 0
            for row in rows {
                try statement.execute(arguments: StatementArguments(row.map(SQLiteWarehouse.databaseValue)))
                count += 1
            }
            for index in WarehouseWriters.indexes(source) {
                try db.execute(
                    sql:
                        "CREATE INDEX IF NOT EXISTS \"\(index.name)\" ON \(source.table.quoted) (\(index.column.quoted))"
                )
            }
            return count
        }
    }

    func close() async {
        try? queue.close()
    }
}

/// Writes into PostgreSQL in batches of multi-row `INSERT`s inside one transaction.
final class PostgresWriter: WarehouseWriter {
    let dialect = SQLDialect.postgres
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger

    init(url: String) throws {
        (client, runner, logger) = try PostgresWarehouse.makeClient(
            url, label: "almanac.warehouse.writer", connections: 1, connectTimeout: .seconds(10))
    }

    deinit {
        runner.cancel()
    }

    func load(
        _ source: Source, columns: [String], rows: some Sequence<[SQLValue]> & Sendable, replace: Bool
    ) async throws
        -> Int
    {
        let types = columns.map { name in source.column(named: name)?.type ?? .string }
        let names = columns.map { "\"\($0)\"" }.joined(separator: ", ")
        // PostgreSQL allows 65,535 parameters per statement.
        let batchSize = max(1, min(1000, 60_000 / max(columns.count, 1)))
        let logger = self.logger
        do {
            return try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: logger)
                do {
                    if replace {
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(source.table.quoted)"), logger: logger)
                    }
                    try await connection.query(
                        PostgresQuery(
                            unsafeSQL: WarehouseWriters.createTable(source, dialect: .postgres, ifNotExists: true)),
                        logger: logger)
                    var count = 0
                    var batch: [[SQLValue]] = []
                    func flush() async throws {
                        guard !batch.isEmpty else { return }
                        var bindings = PostgresBindings()
                        var tuples: [String] = []
                        for row in batch {
                            var placeholders: [String] = []
                            for (value, type) in zip(row, types) {
                                Self.append(value, to: &bindings)
                                let placeholder = "$\(bindings.count)"
                                placeholders.append(
                                    type == .date
                                        ? "CAST(\(placeholder) AS DATE)"
                                        : type == .timestamp ? "CAST(\(placeholder) AS TIMESTAMP)" : placeholder)
                            }
                            tuples.append("(" + placeholders.joined(separator: ", ") + ")")
                        }
                        try await connection.query(
                            PostgresQuery(
                                unsafeSQL:
                                    "INSERT INTO \(source.table.quoted) (\(names)) VALUES \(tuples.joined(separator: ", "))",
                                binds: bindings), logger: logger)
                        count += batch.count
                        batch.removeAll(keepingCapacity: true)
                    }
                    for row in rows {
                        batch.append(row)
                        if batch.count == batchSize { try await flush() }
                    }
                    try await flush()
                    for index in WarehouseWriters.indexes(source) {
                        try await connection.query(
                            PostgresQuery(
                                unsafeSQL:
                                    "CREATE INDEX IF NOT EXISTS \"\(index.name)\" ON \(source.table.quoted) (\(index.column.quoted))"
                            ),
                            logger: logger)
                    }
                    try await connection.query(
                        PostgresQuery(unsafeSQL: "ANALYZE \(source.table.quoted)"), logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    return count
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: logger)
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw PostgresWarehouse.translate(error, location: "the PostgreSQL warehouse", timeout: .seconds(0))
        }
    }

    static func append(_ value: SQLValue, to bindings: inout PostgresBindings) {
        switch value {
        case .null: bindings.appendNull()
        case .integer(let v): bindings.append(Int(v))
        case .double(let v): bindings.append(v)
        case .text(let v): bindings.append(v)
        case .bool(let v): bindings.append(v)
        }
    }

    func close() async {
        runner.cancel()
    }
}

/// Copies tables from a SQLite warehouse (the demo company's) into another warehouse, typed
/// by the catalog's source declarations.
public enum WarehouseCopier {
    /// Copies every source's table; returns rows per table.
    public static func copy(
        fromSQLite path: String, to writer: any WarehouseWriter, sources: [Source], progress: any ProgressSink
    ) async throws -> [String: Int] {
        var configuration = Configuration()
        configuration.readonly = true
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        defer { try? reader.close() }
        var counts: [String: Int] = [:]
        for source in sources {
            let columns = source.columns.map(\.name.name)
            let select =
                "SELECT \(source.columns.map(\.name.quoted).joined(separator: ", ")) FROM \(source.table.quoted)"
            // NB: tables are read whole per source; the largest demo table (events) is a few
            // hundred MB at scale 1, which this machine holds comfortably.
            let rows: [[SQLValue]] = try await reader.read { db in
                let cursor = try Row.fetchCursor(db, sql: select)
                var result: [[SQLValue]] = []
                while let row = try cursor.next() {
                    result.append(
                        zip(row.databaseValues, source.columns).map { value, column in
                            let sqlValue = SQLiteWarehouse.sqlValue(value)
                            if column.type == .boolean, case .integer(let flag) = sqlValue { return .bool(flag != 0) }
                            if column.type == .number, case .integer(let number) = sqlValue {
                                return .double(Double(number))
                            }
                            return sqlValue
                        })
                }
                return result
            }
            progress.update("copy \(source.table.name)", completed: 0, total: rows.count)
            counts[source.table.name] = try await writer.load(source, columns: columns, rows: rows, replace: true)
            progress.update("copy \(source.table.name)", completed: rows.count, total: rows.count)
            progress.finish("copy \(source.table.name)")
        }
        return counts
    }
}
