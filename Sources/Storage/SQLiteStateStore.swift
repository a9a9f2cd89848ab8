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

    public func migrate() async throws {
        var migrator = DatabaseMigrator()
        for migration in StateMigrations.all {
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
            for view in views {
                try statement.execute(arguments: [
                    view.itemKind, view.itemID, view.viewer, view.viewedAt.timeIntervalSince1970, view.parametersHash,
                    view.source.rawValue, view.channel.rawValue,
                ])
            }
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
                    SELECT item_kind, item_id, COUNT(*) AS views FROM views
                    WHERE (?1 IS NULL OR item_kind = ?1) AND (?2 IS NULL OR viewed_at >= ?2)
                    GROUP BY item_kind, item_id
                    """,
                arguments: [kind, since?.timeIntervalSince1970])
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
            var known: [String: (digest: String, title: String)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT item_kind, item_id, digest, title FROM catalog_items") {
                let kind: String = row["item_kind"]
                let id: String = row["item_id"]
                known["\(kind)/\(id)"] = (row["digest"], row["title"])
            }
            let time = date.timeIntervalSince1970
            var events: [LifecycleEvent] = []
            var seen = Set<String>()
            for item in items {
                let key = "\(item.kind)/\(item.id)"
                seen.insert(key)
                if let previous = known[key] {
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
                            INSERT INTO catalog_items (item_kind, item_id, digest, title, owner, first_seen_at, changed_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?)
                            """,
                        arguments: [item.kind, item.id, item.digest, item.title, item.owner, time, time])
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
            at: Date(timeIntervalSince1970: row["at"]))
    }
}
