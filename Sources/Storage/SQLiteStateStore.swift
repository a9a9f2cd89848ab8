import AlmanacCore
public import Foundation
import GRDB

/// The embedded state store: one SQLite file in WAL mode, opened through GRDB.
public final class SQLiteStateStore: StateStore {
    private let pool: DatabasePool
    public let path: String

    /// Opens (creating if needed) the state file at `path`. Call ``migrate()`` before use.
    public init(path: String) throws {
        self.path = path
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StateStoreError("cannot open the state store '\(path)': \(error)")
        }
    }

    /// Opens the store a `--state` value names: a file path, `sqlite://PATH` or `sqlite:PATH`.
    public static func open(location: String) throws -> SQLiteStateStore {
        if StoreLocation.isPostgres(location) {
            throw StateStoreError(
                "a PostgreSQL state store is not available in this build; use a SQLite file such as ./var/state.sqlite")
        }
        let path = StoreLocation.sqlitePath(location)
        return try SQLiteStateStore(path: path)
    }

    public func migrate() async throws { try await migrate(through: nil) }

    /// Applies migrations up to and including `last` (all when `nil`); tests build older stores with it.
    func migrate(through last: String?) async throws {
        var migrator = DatabaseMigrator()
        let migrations = last.flatMap { name in
            StateMigrations.all.firstIndex { $0.name == name }.map { Array(StateMigrations.all[...$0]) }
        }
        for migration in migrations ?? StateMigrations.all {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sqlite) }
        }
        // NB: GRDB's migrate is synchronous and waits for every reader to finish (a barrier).
        // Run on a cooperative thread, it could wait for an async read whose completion needs
        // that very thread; so it runs on a dispatch queue and the caller awaits it.
        let registered = migrator
        let pool = self.pool
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                do {
                    try registered.migrate(pool)
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }

    public func appliedMigrations() async throws -> [String] {
        var migrator = DatabaseMigrator()
        for migration in StateMigrations.all { migrator.registerMigration(migration.name) { _ in } }
        let registered = migrator
        let applied = try await pool.read { db in try registered.appliedIdentifiers(db) }
        return StateMigrations.all.map(\.name).filter(applied.contains)
    }

    public func recordViews(_ views: [ViewEvent]) async throws {
        guard !views.isEmpty else { return }
        try await pool.write { db in
            let statement = try db.cachedStatement(
                sql: """
                    INSERT INTO views (item_kind, item_id, viewer, viewed_at, parameters_hash, source, channel)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            struct ItemDay: Hashable {
                var kind: String
                var id: String
                var day: Int
            }
            struct ViewerDay: Hashable {
                var item: ItemDay
                var viewer: String
            }
            var perDay: [ItemDay: Int] = [:]
            var perViewer: [ViewerDay: Int] = [:]
            for view in views {
                try statement.execute(arguments: [
                    view.itemKind, view.itemID, view.viewer, view.viewedAt.timeIntervalSince1970, view.parametersHash,
                    view.source.rawValue, view.channel.rawValue,
                ])
                let item = ItemDay(kind: view.itemKind, id: view.itemID, day: UsageDay.of(view.viewedAt))
                perDay[item, default: 0] += 1
                perViewer[ViewerDay(item: item, viewer: view.viewer ?? ""), default: 0] += 1
            }
            // The rollups, in the same transaction: a batch is counted everywhere or nowhere.
            let day = try db.cachedStatement(
                sql: """
                    INSERT INTO view_days (day, item_kind, item_id, views) VALUES (?, ?, ?, ?)
                    ON CONFLICT (day, item_kind, item_id) DO UPDATE SET views = views + excluded.views
                    """)
            for (item, count) in perDay {
                try day.execute(arguments: [item.day, item.kind, item.id, count])
            }
            let viewer = try db.cachedStatement(
                sql: """
                    INSERT INTO view_viewer_days (item_kind, item_id, day, viewer, views) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (item_kind, item_id, day, viewer) DO UPDATE SET views = views + excluded.views
                    """)
            for (key, count) in perViewer {
                try viewer.execute(arguments: [key.item.kind, key.item.id, key.item.day, key.viewer, count])
            }
        }
    }

    public func viewTotals(kind: String?, id: String?, in ranges: [ClosedRange<Int>]) async throws -> [String: [Int]] {
        guard let first = ranges.first else { return [:] }
        let low = ranges.map(\.lowerBound).min() ?? first.lowerBound
        let high = ranges.map(\.upperBound).max() ?? first.upperBound
        // One pass over the days the ranges span, one conditional sum per range.
        var sums: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for range in ranges {
            sums.append("SUM(CASE WHEN day BETWEEN ? AND ? THEN views ELSE 0 END)")
            arguments += [range.lowerBound, range.upperBound]
        }
        var conditions = ["day BETWEEN ? AND ?"]
        arguments += [low, high]
        // Spelled out rather than `? IS NULL OR …`, so that one item's query uses the item index.
        if let kind {
            conditions.append("item_kind = ?")
            arguments.append(kind)
        }
        if let id {
            conditions.append("item_id = ?")
            arguments.append(id)
        }
        let sql = """
            SELECT item_kind, item_id, \(sums.joined(separator: ", ")) FROM view_days
            WHERE \(conditions.joined(separator: " AND "))
            GROUP BY item_kind, item_id
            """
        let bound = StatementArguments(arguments)
        let count = ranges.count
        return try await pool.read { db in
            var totals: [String: [Int]] = [:]
            let rows = try Row.fetchCursor(db, sql: sql, arguments: bound)
            while let row = try rows.next() {
                let itemKind: String = row[0]
                let itemID: String = row[1]
                totals["\(itemKind)/\(itemID)"] = (0..<count).map { row[2 + $0] }
            }
            return totals
        }
    }

    public func uniqueViewers(kind: String, id: String, in ranges: [ClosedRange<Int>]) async throws -> [Int] {
        try await pool.read { db in
            try ranges.map { range in
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(DISTINCT viewer) FROM view_viewer_days
                        WHERE item_kind = ? AND item_id = ? AND day BETWEEN ? AND ?
                        """,
                    arguments: [kind, id, range.lowerBound, range.upperBound]) ?? 0
            }
        }
    }

    public func dailyViews(kind: String, id: String, in range: ClosedRange<Int>) async throws -> [Int: Int] {
        try await pool.read { db in
            var days: [Int: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT day, views FROM view_days
                    WHERE item_kind = ? AND item_id = ? AND day BETWEEN ? AND ?
                    """,
                arguments: [kind, id, range.lowerBound, range.upperBound])
            {
                days[row["day"]] = row["views"]
            }
            return days
        }
    }

    public func recentViews(limit: Int) async throws -> [ViewEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT item_kind, item_id, viewer, viewed_at, parameters_hash, source, channel FROM views
                    ORDER BY id DESC LIMIT ?
                    """, arguments: [max(0, limit)]
            ).map { row in
                ViewEvent(
                    itemKind: row["item_kind"], itemID: row["item_id"], viewer: row["viewer"],
                    viewedAt: Date(timeIntervalSince1970: row["viewed_at"]), parametersHash: row["parameters_hash"],
                    source: ViewEvent.Source(rawValue: row["source"] ?? "") ?? .direct,
                    channel: ViewEvent.Channel(rawValue: row["channel"] ?? "") ?? .page)
            }
        }
    }

    public func viewCounts(kind: String?, since: Date?) async throws -> [String: Int] {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT item_kind, item_id, SUM(views) AS views FROM view_days
                    WHERE (?1 IS NULL OR item_kind = ?1) AND (?2 IS NULL OR day >= ?2)
                    GROUP BY item_kind, item_id
                    """,
                arguments: [kind, since.map(UsageDay.of)])
            var counts: [String: Int] = [:]
            for row in rows {
                let itemKind: String = row["item_kind"]
                let itemID: String = row["item_id"]
                counts["\(itemKind)/\(itemID)"] = row["views"]
            }
            return counts
        }
    }

    public func syncCatalogItems(
        _ items: [CatalogItemState], catalogVersion: String, at date: Date
    ) async throws
        -> [LifecycleEvent]
    {
        try await pool.write { db in
            var known: [String: (digest: String, title: String, declared: String?)] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT item_kind, item_id, digest, title, declared FROM catalog_items")
            {
                let kind: String = row["item_kind"]
                let id: String = row["item_id"]
                known["\(kind)/\(id)"] = (row["digest"], row["title"], row["declared"])
            }
            let time = date.timeIntervalSince1970
            var events: [LifecycleEvent] = []
            var seen = Set<String>()
            for item in items {
                let key = "\(item.kind)/\(item.id)"
                seen.insert(key)
                if let previous = known[key] {
                    if previous.declared != item.declared {
                        // Stores from before declared fields were kept learn them without a change
                        // time (the epoch), so no earlier action is overridden.
                        try db.execute(
                            sql: """
                                UPDATE catalog_items SET declared = ?, declared_at = ?
                                WHERE item_kind = ? AND item_id = ?
                                """,
                            arguments: [item.declared, previous.declared == nil ? 0 : time, item.kind, item.id])
                    }
                    guard previous.digest != item.digest else { continue }
                    try db.execute(
                        sql: """
                            UPDATE catalog_items SET digest = ?, title = ?, owner = ?, changed_at = ?
                            WHERE item_kind = ? AND item_id = ?
                            """,
                        arguments: [item.digest, item.title, item.owner, time, item.kind, item.id])
                    events.append(
                        LifecycleEvent(
                            itemKind: item.kind, itemID: item.id, action: .changed, title: item.title,
                            catalogVersion: catalogVersion, at: date))
                } else {
                    try db.execute(
                        sql: """
                            INSERT INTO catalog_items
                                (item_kind, item_id, digest, title, owner, first_seen_at, changed_at, declared, declared_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [
                            item.kind, item.id, item.digest, item.title, item.owner, time, time, item.declared, time,
                        ])
                    events.append(
                        LifecycleEvent(
                            itemKind: item.kind, itemID: item.id, action: .added, title: item.title,
                            catalogVersion: catalogVersion, at: date))
                }
            }
            for (key, previous) in known where !seen.contains(key) {
                let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
                try db.execute(
                    sql: "DELETE FROM catalog_items WHERE item_kind = ? AND item_id = ?",
                    arguments: [parts[0], parts[1]])
                events.append(
                    LifecycleEvent(
                        itemKind: parts[0], itemID: parts[1], action: .removed, title: previous.title,
                        catalogVersion: catalogVersion, at: date))
            }
            for index in events.indices {
                let event = events[index]
                try db.execute(
                    sql: """
                        INSERT INTO lifecycle_events (item_kind, item_id, action, title, actor, detail, catalog_version, at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                        """,
                    arguments: [
                        event.itemKind, event.itemID, event.action.rawValue, event.title, event.actor, event.detail,
                        event.catalogVersion, time,
                    ])
                events[index].id = db.lastInsertedRowID
            }
            return events
        }
    }

    public func recentLifecycleEvents(kind: String?, limit: Int) async throws -> [LifecycleEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM lifecycle_events WHERE (?1 IS NULL OR item_kind = ?1)
                    ORDER BY at DESC, id DESC LIMIT ?2
                    """,
                arguments: [kind, limit]
            ).map(Self.lifecycleEvent)
        }
    }

    public func lifecycleEvents(kind: String, id: String) async throws -> [LifecycleEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM lifecycle_events WHERE item_kind = ? AND item_id = ? ORDER BY at DESC, id DESC",
                arguments: [kind, id]
            ).map(Self.lifecycleEvent)
        }
    }

    public func appendLifecycleEvent(_ event: LifecycleEvent) async throws -> LifecycleEvent {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO lifecycle_events
                        (item_kind, item_id, action, title, actor, detail, catalog_version, at, replacement, value)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    event.itemKind, event.itemID, event.action.rawValue, event.title, event.actor, event.detail,
                    event.catalogVersion, event.at.timeIntervalSince1970, event.replacement, event.value,
                ])
            var stored = event
            stored.id = db.lastInsertedRowID
            return stored
        }
    }

    public func lifecycleActions() async throws -> [LifecycleEvent] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM lifecycle_events WHERE action NOT IN ('added', 'changed', 'removed')
                    ORDER BY id
                    """
            ).map(Self.lifecycleEvent)
        }
    }

    public func latestLifecycleEventID() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM lifecycle_events") ?? 0 }
    }

    public func catalogItemRecords(kind: String?) async throws -> [CatalogItemRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT item_kind, item_id, title, first_seen_at, declared_at FROM catalog_items
                    WHERE (?1 IS NULL OR item_kind = ?1)
                    """,
                arguments: [kind]
            ).map { row in
                CatalogItemRecord(
                    kind: row["item_kind"], id: row["item_id"], title: row["title"],
                    firstSeenAt: Date(timeIntervalSince1970: row["first_seen_at"]),
                    declaredAt: Date(timeIntervalSince1970: row["declared_at"]))
            }
        }
    }

    public func recordRun(_ run: RunRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO runs (kind, target, started_at, duration_ms, rows, bytes, error)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    run.kind, run.target, run.startedAt.timeIntervalSince1970, run.durationMilliseconds, run.rows,
                    run.bytes, run.error,
                ])
        }
    }

    public func recentRuns(kind: String?, limit: Int) async throws -> [RunRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM runs WHERE (?1 IS NULL OR kind = ?1) ORDER BY started_at DESC, id DESC LIMIT ?2",
                arguments: [kind, limit]
            ).map { row in
                RunRecord(
                    id: row["id"], kind: row["kind"], target: row["target"],
                    startedAt: Date(timeIntervalSince1970: row["started_at"]), durationMilliseconds: row["duration_ms"],
                    rows: row["rows"], bytes: row["bytes"], error: row["error"])
            }
        }
    }

    private static func lifecycleEvent(_ row: Row) -> LifecycleEvent {
        LifecycleEvent(
            id: row["id"], itemKind: row["item_kind"], itemID: row["item_id"],
            action: LifecycleEvent.Action(rawValue: row["action"]) ?? .changed, title: row["title"],
            actor: row["actor"], detail: row["detail"], catalogVersion: row["catalog_version"],
            at: Date(timeIntervalSince1970: row["at"]), replacement: row["replacement"], value: row["value"])
    }
}
