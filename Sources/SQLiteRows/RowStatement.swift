public import GRDB

#if canImport(GRDBSQLite)
import GRDBSQLite
#elseif canImport(SQLite3)
import SQLite3
#endif

/// `SQLITE_TRANSIENT`: SQLite copies the bound bytes before `bind` returns.
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)

/// A statement that could not be run, with SQLite's message.
public struct SQLiteRowsError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A prepared statement that is bound column by column and stepped: the fastest way to write
/// many rows (the demo warehouse's millions, the view recorder's batches).
///
/// It uses GRDB's `Statement` for preparation and lifetime, and the raw SQLite handle for
/// binding, so no `StatementArguments` or `DatabaseValue` is built per row. Columns are
/// numbered from 1, as in SQLite.
public final class RowStatement {
    private let statement: Statement
    private let handle: SQLiteStatement
    private let what: String

    /// Prepares `sql`; `what` names it in errors.
    public init(_ db: Database, sql: String, what: String) throws {
        statement = try db.makeStatement(sql: sql)
        handle = statement.sqliteStatement
        self.what = what
    }

    /// Prepares `INSERT INTO table (columns…) VALUES (?, …)`.
    public convenience init(_ db: Database, table: String, columns: [String]) throws {
        let placeholders = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        try self.init(
            db, sql: "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(placeholders))",
            what: "insert into \(table)")
    }

    deinit {
        sqlite3_clear_bindings(handle)
    }

    @inline(__always)
    public func bind(_ column: Int32, _ value: Int) {
        sqlite3_bind_int64(handle, column, Int64(value))
    }

    @inline(__always)
    public func bind(_ column: Int32, _ value: Double) {
        sqlite3_bind_double(handle, column, value)
    }

    @inline(__always)
    public func bind(_ column: Int32, _ value: Bool) {
        sqlite3_bind_int64(handle, column, value ? 1 : 0)
    }

    @inline(__always)
    public func bindNull(_ column: Int32) {
        sqlite3_bind_null(handle, column)
    }

    /// Binds text (copied by SQLite).
    @inline(__always)
    public func bind(_ column: Int32, _ value: String) {
        var value = value
        value.withUTF8 { buffer in
            _ = sqlite3_bind_text(
                handle, column, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                Int32(buffer.count), transient)
        }
    }

    /// Binds text, or NULL when `value` is `nil`.
    @inline(__always)
    public func bind(_ column: Int32, _ value: String?) {
        if let value { bind(column, value) } else { bindNull(column) }
    }

    /// Binds an integer, or NULL when `value` is `nil`.
    @inline(__always)
    public func bind(_ column: Int32, _ value: Int?) {
        if let value { bind(column, value) } else { bindNull(column) }
    }

    /// Binds `count` UTF-8 bytes (copied by SQLite).
    @inline(__always)
    public func bind(_ column: Int32, bytes: UnsafePointer<UInt8>, count: Int) {
        _ = sqlite3_bind_text(
            handle, column, UnsafeRawPointer(bytes).assumingMemoryBound(to: CChar.self), Int32(count), transient)
    }

    /// Runs the bound statement (an insert or update).
    @inline(__always)
    public func insert() throws {
        let code = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard code == SQLITE_DONE else { throw failure(code) }
    }

    /// Runs the bound query and returns the first column of its first row as an integer
    /// (`nil` without a row or for NULL).
    @inline(__always)
    public func int() throws -> Int? {
        let code = sqlite3_step(handle)
        defer { sqlite3_reset(handle) }
        switch code {
        case SQLITE_ROW:
            return sqlite3_column_type(handle, 0) == SQLITE_NULL ? nil : Int(sqlite3_column_int64(handle, 0))
        case SQLITE_DONE:
            return nil
        default:
            throw failure(code)
        }
    }

    private func failure(_ code: Int32) -> SQLiteRowsError {
        let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(handle)))
        return SQLiteRowsError("could not \(what): \(message) (code \(code))")
    }
}
