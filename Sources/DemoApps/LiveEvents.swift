public import AlmanacCore
public import Foundation
import GRDB
public import Logging
import Scheduling
public import ServiceLifecycle

/// Keeps the demo warehouse's product events and error logs arriving while the demo runs, as
/// a real event pipeline would: every minute it appends the same minute of a week earlier
/// (same weekday and hour, so the daily and weekly rhythm holds), with new ids.
///
/// The demo's history ends on its as-of day; without this, sources that promise data within two
/// hours (`events`, `error_logs`) would read as stale a few hours into the next day.
public struct LiveEvents: Service {
    /// A table to replay: its id column (new ids follow the largest), its timestamp column
    /// (moved a week on) and the date column derived from it.
    public struct Table: Sendable {
        public var name: String
        public var id: String
        public var time: String
        public var date: String

        public init(name: String, id: String, time: String, date: String) {
            self.name = name
            self.id = id
            self.time = time
            self.date = date
        }
    }

    public static let tables = [
        Table(name: "events", id: "event_id", time: "occurred_at", date: "event_date"),
        Table(name: "error_logs", id: "error_id", time: "occurred_at", date: "error_date"),
    ]

    public let path: String
    public let tables: [Table]
    public let interval: Duration
    public let clock: any WallClock
    public let logger: Logger

    public init(
        warehouse path: String, tables: [Table] = LiveEvents.tables, interval: Duration = .seconds(60),
        clock: any WallClock = SystemClock(), logger: Logger
    ) {
        self.path = path
        self.tables = tables
        self.interval = interval
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        let database = try open()
        var ticker = Ticker(every: interval, on: clock)
        repeat {
            do {
                let added = try await catchUp(database, until: clock.date)
                if added.values.reduce(0, +) > 0 {
                    logger.debug(
                        "live demo data appended",
                        metadata: added.reduce(into: [:]) { $0[$1.key] = "\($1.value)" })
                }
            } catch {
                logger.warning("could not append the demo's live events", metadata: ["error": "\(error)"])
            }
        } while await ticker.tick()
    }

    static var configuration: Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return configuration
    }

    /// Appends every table's rows up to `now`; returns how many each got.
    public func catchUp(until now: Date) async throws -> [String: Int] {
        try await catchUp(open(), until: now)
    }

    /// The warehouse for writing, in WAL mode: the portal's and Datasette's long reads (a
    /// night's generation) then never hold up an append, nor an append them.
    func open() throws -> DatabaseQueue {
        let database = try DatabaseQueue(path: path, configuration: Self.configuration)
        try database.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        return database
    }

    func catchUp(_ database: DatabaseQueue, until now: Date) async throws -> [String: Int] {
        let end = Self.text(now)
        var added: [String: Int] = [:]
        for table in tables {
            added[table.name] = try await database.write { db in
                let columns = try db.columns(in: table.name).map(\.name)
                guard
                    let newest = try String.fetchOne(
                        db, sql: "SELECT max(\(quoted(table.time))) FROM \(quoted(table.name))"),
                    newest < end
                else { return 0 }
                // Never more than the week a replay can draw from.
                let start = max(newest, Self.text(now.addingTimeInterval(-7 * 86_400)))
                let values = columns.map { column -> String in
                    switch column {
                    case table.id:
                        "(SELECT coalesce(max(\(quoted(table.id))), 0) FROM \(quoted(table.name))) "
                            + "+ row_number() OVER (ORDER BY \(quoted(table.time)), \(quoted(table.id)))"
                    case table.time: "datetime(\(quoted(table.time)), '+7 days')"
                    case table.date: "date(\(quoted(table.time)), '+7 days')"
                    default: quoted(column)
                    }
                }
                try db.execute(
                    sql: """
                        INSERT INTO \(quoted(table.name)) (\(columns.map(quoted).joined(separator: ", ")))
                        SELECT \(values.joined(separator: ", ")) FROM \(quoted(table.name))
                        WHERE \(quoted(table.time)) > datetime(?, '-7 days') AND \(quoted(table.time)) <= datetime(?, '-7 days')
                        """, arguments: [start, end])
                return db.changesCount
            }
        }
        return added
    }

    /// `date` as the warehouse writes timestamps: `YYYY-MM-DD HH:MM:SS`, UTC.
    static func text(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date)
    }
}

/// A schema name as an SQL identifier.
private func quoted(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
