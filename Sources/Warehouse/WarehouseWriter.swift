public import AlmanacCore
public import Catalog
import Foundation
import GRDB
import Logging
import NIOCore
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

/// Writes into PostgreSQL with `COPY … FROM STDIN` inside one transaction.
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
                    // COPY FROM STDIN in text format: one round trip per megabyte instead of per row batch.
                    var count = 0
                    // NB: copyFrom quotes the names itself, and only takes an unqualified table;
                    // a schema-qualified source is reached through the transaction's search_path.
                    if source.table.parts.count == 2 {
                        try await connection.query(
                            PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \"\(source.table.parts[0])\""),
                            logger: logger)
                    }
                    try await connection.copyFrom(table: source.table.parts.last!, columns: columns, logger: logger) {
                        writer in
                        var buffer = ByteBuffer()
                        buffer.reserveCapacity(1 << 20)
                        for row in rows {
                            for (index, value) in row.enumerated() {
                                if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
                                Self.appendCopyField(value, to: &buffer)
                            }
                            buffer.writeInteger(UInt8(ascii: "\n"))
                            count += 1
                            if buffer.readableBytes >= 1 << 20 {
                                try await writer.write(buffer)
                                buffer.clear()
                            }
                        }
                        if buffer.readableBytes > 0 { try await writer.write(buffer) }
                    }
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

    /// One field in COPY's text format: `\N` for NULL, and backslash, tab, newline and carriage
    /// return escaped so that no value can end a field or a row.
    static func appendCopyField(_ value: SQLValue, to buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeString("\\N")
        case .integer(let v): buffer.writeString(String(v))
        case .double(let v):
            buffer.writeString(v.isFinite ? "\(v)" : (v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")))
        case .bool(let v): buffer.writeString(v ? "t" : "f")
        case .text(let text):
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.writeString("\\\\")
                case UInt8(ascii: "\t"): buffer.writeString("\\t")
                case UInt8(ascii: "\n"): buffer.writeString("\\n")
                case UInt8(ascii: "\r"): buffer.writeString("\\r")
                default: buffer.writeInteger(byte)
                }
            }
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
