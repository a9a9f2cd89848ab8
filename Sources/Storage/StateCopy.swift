import Foundation
import GRDB
import Logging
import PostgresNIO

/// Copies a SQLite state store into an empty PostgreSQL one (`almanac state migrate --to`), so
/// that a portal that ran on one file can go on as several instances sharing one database.
///
/// Every table the migrations made is copied row for row. The numbered tables' next numbers
/// continue after the copied rows. The whole copy is one transaction, so a failed copy leaves
/// the target as empty as it was, and it ends only when each table's row count in the target
/// equals the source's.
public enum StateCopy {
    /// The state tables, in an order that respects their references (attempts after deliveries).
    static let tables = [
        "views", "view_days", "view_viewers", "view_items", "catalog_items", "lifecycle_events", "runs",
        "job_runs", "deliveries", "delivery_attempts", "trigger_firings", "api_tokens", "search_queries",
        "search_clicks",
    ]
    /// The tables whose `id` PostgreSQL numbers (identity columns).
    static let numbered: Set<String> = ["views", "lifecycle_events", "runs", "deliveries"]
    /// Rows per `INSERT` (PostgreSQL takes at most 65,535 bound values in one statement).
    static let batch = 2_000

    /// One table's rows: in the source, and in the target once copied.
    public struct Count: Sendable, Hashable {
        public var table: String
        public var source: Int
        public var target: Int
    }

    /// Copies `source` into `target`, migrating both first.
    ///
    /// - Parameter progress: called after each table with its name and the rows copied.
    /// - Returns: each table's count in both stores (equal, or this throws).
    /// - Throws: ``StateStoreError`` when the target already holds state, when a table of the
    ///   source is unknown to this version, or when the counts differ after the copy.
    public static func copy(
        from source: SQLiteStateStore, to target: PostgresStateStore,
        progress: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) async throws -> [Count] {
        try await source.migrate()
        try await target.migrate()
        let known = Set(tables)
        let present = try await source.pool.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT name FROM sqlite_master WHERE type = 'table'
                    AND name NOT LIKE 'sqlite_%' AND name != 'grdb_migrations'
                    """)
        }
        if let unknown = present.first(where: { !known.contains($0) }) {
            throw StateStoreError(
                "the state file \(source.path) has a table this version of Almanac does not know ('\(unknown)'): copy it with the Almanac that wrote it"
            )
        }
        let logger = target.logger
        let location = target.displayLocation
        let sourceCounts = try await source.pool.read { db in
            try tables.map { try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \($0)") ?? 0 }
        }
        let targetCounts = try await target.transaction { connection in
            for table in tables {
                let rows = try await connection.rows(PostgresQuery(unsafeSQL: "SELECT 1 FROM \(table) LIMIT 1"), logger)
                if !rows.isEmpty {
                    throw StateStoreError(
                        "the state store at \(location) already holds state (its table '\(table)' has rows): copy into an empty database"
                    )
                }
            }
            for table in tables {
                let columns = try await targetColumns(table, connection, logger)
                let copied = try await copyTable(table, columns: columns, from: source, to: connection, logger)
                if numbered.contains(table) {
                    // The next number the target gives continues after the copied rows.
                    try await connection.rows(
                        PostgresQuery(
                            unsafeSQL: """
                                SELECT setval(pg_get_serial_sequence('\(table)', 'id'),
                                    COALESCE((SELECT MAX(id) FROM \(table)), 0) + 1, false)
                                """), logger)
                }
                progress(table, copied)
            }
            var counts: [Int] = []
            for table in tables {
                let rows = try await connection.rows(PostgresQuery(unsafeSQL: "SELECT COUNT(*) FROM \(table)"), logger)
                counts.append(Int(try rows[0][0].decode(Int64.self)))
            }
            // Checked before the commit, so that a short copy leaves nothing behind.
            for (index, table) in tables.enumerated() where counts[index] != sourceCounts[index] {
                throw StateStoreError(
                    "copying '\(table)' into \(location) gave \(counts[index]) rows for \(sourceCounts[index]): nothing was written"
                )
            }
            return counts
        }
        return tables.indices.map { Count(table: tables[$0], source: sourceCounts[$0], target: targetCounts[$0]) }
    }

    /// A column of a target table and how its values are bound.
    struct Column: Sendable {
        enum Kind: Sendable { case integer, real, text, boolean }
        var name: String
        var kind: Kind
    }

    /// The columns of `table` in the target, with their types.
    static func targetColumns(
        _ table: String, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> [Column] {
        let rows = try await connection.rows(
            """
            SELECT column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() AND table_name = \(table)
            ORDER BY ordinal_position
            """, logger)
        return try rows.map { row in
            let type = try row[1].decode(String.self)
            let kind: Column.Kind =
                switch type {
                case "bigint", "integer", "smallint": .integer
                case "double precision", "real", "numeric": .real
                case "boolean": .boolean
                default: .text
                }
            return Column(name: try row[0].decode(String.self), kind: kind)
        }
    }

    /// Copies `table` in batches, in the order of its primary key (each batch starts after the
    /// last key of the one before, so no batch rereads what was copied).
    static func copyTable(
        _ table: String, columns: [Column], from source: SQLiteStateStore, to connection: PostgresConnection,
        _ logger: Logger
    ) async throws -> Int {
        let key = try await source.pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk", arguments: [table]
            )
            .map { $0["name"] as String }
        }
        guard !key.isEmpty else { throw StateStoreError("the state table '\(table)' has no primary key to copy it by") }
        let names = columns.map(\.name)
        let select = "SELECT \(names.joined(separator: ", ")) FROM \(table)"
        let order = " ORDER BY \(key.joined(separator: ", ")) LIMIT \(batch)"
        let after = " WHERE (\(key.joined(separator: ", "))) > (\(key.map { _ in "?" }.joined(separator: ", ")))"
        let keyIndices = key.compactMap { names.firstIndex(of: $0) }
        var last: [DatabaseValue]? = nil
        var copied = 0
        while true {
            let bound = last
            let rows: [[DatabaseValue]] = try await source.pool.read { db in
                let sql = select + (bound == nil ? "" : after) + order
                return try Row.fetchAll(db, sql: sql, arguments: StatementArguments(bound ?? [])).map { row in
                    (0..<row.count).map { row[$0] as DatabaseValue }
                }
            }
            guard let final = rows.last else { break }
            var bindings = PostgresBindings(capacity: rows.count * columns.count)
            var placeholders: [String] = []
            placeholders.reserveCapacity(rows.count)
            for row in rows {
                var slots: [String] = []
                for (index, column) in columns.enumerated() {
                    try bind(row[index], as: column, table: table, into: &bindings)
                    slots.append("$\(bindings.count)")
                }
                placeholders.append("(\(slots.joined(separator: ", ")))")
            }
            let insert = """
                INSERT INTO \(table) (\(names.joined(separator: ", ")))
                VALUES \(placeholders.joined(separator: ", "))
                """
            try await connection.rows(PostgresQuery(unsafeSQL: insert, binds: bindings), logger)
            copied += rows.count
            last = keyIndices.map { final[$0] }
            if rows.count < batch { break }
        }
        return copied
    }

    /// Binds one SQLite value as the target column's type.
    static func bind(
        _ value: DatabaseValue, as column: Column, table: String, into bindings: inout PostgresBindings
    ) throws {
        switch (value.storage, column.kind) {
        case (.null, _): bindings.appendNull()
        case (.int64(let number), .integer): bindings.append(number)
        case (.int64(let number), .real): bindings.append(Double(number))
        case (.int64(let number), .boolean): bindings.append(number != 0)
        case (.int64(let number), .text): bindings.append(String(number))
        case (.double(let number), .real): bindings.append(number)
        case (.double(let number), .integer) where number == number.rounded(): bindings.append(Int64(number))
        case (.string(let text), .text): bindings.append(text)
        case (.string(let text), .integer) where Int64(text) != nil: bindings.append(Int64(text)!)
        case (.string(let text), .real) where Double(text) != nil: bindings.append(Double(text)!)
        default:
            throw StateStoreError(
                "the state table '\(table)' holds \(value) in '\(column.name)', which the PostgreSQL column cannot take"
            )
        }
    }
}
