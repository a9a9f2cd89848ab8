import AlmanacCore
public import Foundation
import GRDB
import Metrics
import SQLiteRows
public import Scheduling

/// The embedded state store: one SQLite file in WAL mode, opened through GRDB.
public final class SQLiteStateStore: StateStore {
    let pool: DatabasePool
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
        // Every statement's time, as GRDB measures it, for /metrics.
        let latency = Metrics.Timer(label: "almanac_state_query_duration_seconds", dimensions: [("store", "sqlite")])
        configuration.prepareDatabase { db in
            db.trace(options: .profile) { event in
                if case .profile(_, let duration) = event { latency.recordSeconds(duration) }
            }
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
        } catch {
            throw StateStoreError("cannot open the state store '\(path)': \(error)")
        }
    }

    /// Opens the store a `--state` value names: a file path, `sqlite://PATH` or `sqlite:PATH`.
    /// (``StateStores/open(location:)`` opens a `postgres://` URL too.)
    public static func open(location: String) throws -> SQLiteStateStore {
        if StoreLocation.isPostgres(location) {
            throw StateStoreError(
                "a PostgreSQL state store is not available to this command yet; use a SQLite file such as ./var/state.sqlite"
            )
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

    public func recordSearchActivity(_ activity: SearchActivity) async throws {
        guard !activity.isEmpty else { return }
        try await pool.write { db in
            for (key, counts) in activity.searches {
                try db.execute(
                    sql: """
                        INSERT INTO search_queries (day, query, searches, zero_results) VALUES (?, ?, ?, ?)
                        ON CONFLICT (day, query) DO UPDATE SET
                            searches = searches + excluded.searches,
                            zero_results = zero_results + excluded.zero_results
                        """,
                    arguments: [key.day, key.query, counts.searches, counts.zeroResults])
            }
            for (click, count) in activity.clicks {
                try db.execute(
                    sql: """
                        INSERT INTO search_clicks (day, query, item, clicks) VALUES (?, ?, ?, ?)
                        ON CONFLICT (day, query, item) DO UPDATE SET clicks = clicks + excluded.clicks
                        """,
                    arguments: [click.day, click.query, click.item, count])
            }
        }
    }

    public func searchQueries(since day: Int, limit: Int) async throws -> [SearchQueryStats] {
        try await pool.read { db in
            // Clicks of queries nobody searched in the period (only clicked) are left out.
            try Row.fetchAll(
                db,
                sql: """
                    WITH searched AS (
                        SELECT query, SUM(searches) AS searches, SUM(zero_results) AS zero_results
                        FROM search_queries WHERE day >= ? GROUP BY query
                    ), clicked AS (
                        SELECT query, item, SUM(clicks) AS clicks FROM search_clicks WHERE day >= ?
                        GROUP BY query, item
                    ), best AS (
                        SELECT query, item, clicks,
                            ROW_NUMBER() OVER (PARTITION BY query ORDER BY clicks DESC, item) AS position,
                            SUM(clicks) OVER (PARTITION BY query) AS total
                        FROM clicked
                    )
                    SELECT searched.query, searched.searches, searched.zero_results,
                        COALESCE(best.total, 0) AS clicks, best.item AS top_item,
                        COALESCE(best.clicks, 0) AS top_item_clicks
                    FROM searched LEFT JOIN best ON best.query = searched.query AND best.position = 1
                    ORDER BY searched.searches DESC, searched.query
                    LIMIT ?
                    """,
                arguments: [day, day, limit]
            ).map { row in
                SearchQueryStats(
                    query: row["query"], searches: row["searches"], zeroResults: row["zero_results"],
                    clicks: row["clicks"], topItem: row["top_item"], topItemClicks: row["top_item_clicks"])
            }
        }
    }

    public func searchClicks(since day: Int) async throws -> [String: [String: Int]] {
        try await pool.read { db in
            var clicks: [String: [String: Int]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: "SELECT query, item, SUM(clicks) AS clicks FROM search_clicks WHERE day >= ? GROUP BY query, item",
                arguments: [day])
            {
                clicks[row["query"], default: [:]][row["item"]] = row["clicks"]
            }
            return clicks
        }
    }

    public func recordViews(_ views: [ViewEvent]) async throws {
        guard !views.isEmpty else { return }
        struct Item: Hashable {
            var kind: String
            var id: String
        }
        struct ItemDay: Hashable {
            var item: Item
            var day: Int
        }
        struct ItemViewer: Hashable {
            var item: Item
            var viewer: String
        }
        // The rollups' changes, summed in memory first: one statement per item, day and viewer.
        var perDay: [ItemDay: Int] = [:]
        var perViewer: [ItemViewer: Int] = [:]
        var perItem: [Item: Int] = [:]
        for view in views {
            let item = Item(kind: view.itemKind, id: view.itemID)
            let day = UsageDay.of(view.viewedAt)
            perDay[ItemDay(item: item, day: day), default: 0] += 1
            let viewer = ItemViewer(item: item, viewer: view.viewer ?? "")
            perViewer[viewer] = max(perViewer[viewer] ?? day, day)
            perItem[item, default: 0] += 1
        }
        let days = perDay.sorted { $0.key.day < $1.key.day }
        let viewers = perViewer
        let items = perItem
        try await pool.write { db in
            // Bound through SQLite's C API: at a hundred thousand views a second, building GRDB's
            // arguments for every row would cost as much as writing it.
            let raw = try RowStatement(
                db, table: "views",
                columns: ["item_kind", "item_id", "viewer", "viewed_at", "parameters_hash", "source", "channel"])
            for view in views {
                raw.bind(1, view.itemKind)
                raw.bind(2, view.itemID)
                raw.bind(3, view.viewer)
                raw.bind(4, view.viewedAt.timeIntervalSince1970)
                raw.bind(5, view.parametersHash)
                raw.bind(6, view.source.rawValue)
                raw.bind(7, view.channel.rawValue)
                try raw.insert()
            }
            // The rollups, in the same transaction: a batch is counted everywhere or nowhere.
            let before = try RowStatement(
                db,
                sql: """
                    SELECT cumulative FROM view_days WHERE item_kind = ? AND item_id = ? AND day < ?
                    ORDER BY day DESC LIMIT 1
                    """, what: "read view_days")
            let day = try RowStatement(
                db,
                sql: """
                    INSERT INTO view_days (item_kind, item_id, day, views, cumulative) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT (item_kind, item_id, day) DO UPDATE
                    SET views = views + excluded.views, cumulative = cumulative + excluded.views
                    """, what: "write view_days")
            // Views of a day before the item's newest (a batch across midnight, a second instance's
            // clock) raise the running totals of the days after it too.
            let later = try RowStatement(
                db,
                sql: """
                    UPDATE view_days SET cumulative = cumulative + ? WHERE item_kind = ? AND item_id = ? AND day > ?
                    """, what: "update view_days")
            for (key, count) in days {
                before.bind(1, key.item.kind)
                before.bind(2, key.item.id)
                before.bind(3, key.day)
                let previous = try before.int() ?? 0
                day.bind(1, key.item.kind)
                day.bind(2, key.item.id)
                day.bind(3, key.day)
                day.bind(4, count)
                day.bind(5, previous + count)
                try day.insert()
                later.bind(1, count)
                later.bind(2, key.item.kind)
                later.bind(3, key.item.id)
                later.bind(4, key.day)
                try later.insert()
            }
            let viewer = try RowStatement(
                db,
                sql: """
                    INSERT INTO view_viewers (item_kind, item_id, viewer, last_day) VALUES (?, ?, ?, ?)
                    ON CONFLICT (item_kind, item_id, viewer) DO UPDATE SET last_day = MAX(last_day, excluded.last_day)
                    """, what: "write view_viewers")
            for (key, last) in viewers {
                viewer.bind(1, key.item.kind)
                viewer.bind(2, key.item.id)
                viewer.bind(3, key.viewer)
                viewer.bind(4, last)
                try viewer.insert()
            }
            let item = try RowStatement(
                db,
                sql: """
                    INSERT INTO view_items (item_kind, item_id, total) VALUES (?, ?, ?)
                    ON CONFLICT (item_kind, item_id) DO UPDATE SET total = total + excluded.total
                    """, what: "write view_items")
            for (key, count) in items {
                item.bind(1, key.kind)
                item.bind(2, key.id)
                item.bind(3, count)
                try item.insert()
            }
        }
    }

    public func viewTotals(kind: String?, id: String?, in ranges: [ClosedRange<Int>]) async throws -> [String: [Int]] {
        guard !ranges.isEmpty else { return [:] }
        // Each range is cumulative(last day) - cumulative(day before its first): one index seek per
        // distinct boundary and item, never a pass over the days themselves.
        let boundaries = Array(Set(ranges.flatMap { [$0.lowerBound - 1, $0.upperBound] })).sorted()
        let position = Dictionary(uniqueKeysWithValues: boundaries.enumerated().map { ($1, $0) })
        let seeks = boundaries.map { _ in
            """
            COALESCE((SELECT cumulative FROM view_days d WHERE d.item_kind = i.item_kind AND d.item_id = i.item_id
                AND d.day <= ? ORDER BY d.day DESC LIMIT 1), 0)
            """
        }
        var arguments: [(any DatabaseValueConvertible)?] = boundaries
        var conditions: [String] = []
        // Spelled out rather than `? IS NULL OR …`, so that one item's query is one index seek.
        if let kind {
            conditions.append("i.item_kind = ?")
            arguments.append(kind)
        }
        if let id {
            conditions.append("i.item_id = ?")
            arguments.append(id)
        }
        let sql = """
            SELECT i.item_kind, i.item_id, \(seeks.joined(separator: ", ")) FROM view_items i
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            """
        let bound = StatementArguments(arguments)
        return try await pool.read { db in
            var totals: [String: [Int]] = [:]
            let rows = try Row.fetchCursor(db, sql: sql, arguments: bound)
            while let row = try rows.next() {
                let cumulative: [Int] = (0..<boundaries.count).map { row[2 + $0] }
                let sums = ranges.map {
                    cumulative[position[$0.upperBound]!] - cumulative[position[$0.lowerBound - 1]!]
                }
                guard sums.contains(where: { $0 != 0 }) else { continue }
                let itemKind: String = row[0]
                let itemID: String = row[1]
                totals["\(itemKind)/\(itemID)"] = sums
            }
            return totals
        }
    }

    public func uniqueViewers(kind: String, id: String, since days: [Int]) async throws -> [Int] {
        try await pool.read { db in
            try days.map { day in
                try Int.fetchOne(
                    db,
                    sql: "SELECT COUNT(*) FROM view_viewers WHERE item_kind = ? AND item_id = ? AND last_day >= ?",
                    arguments: [kind, id, day]) ?? 0
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
            try ViewRow.fetchAll(
                db,
                sql: """
                    SELECT item_kind, item_id, viewer, viewed_at, parameters_hash, source, channel FROM views
                    ORDER BY id DESC LIMIT ?
                    """, arguments: [max(0, limit)]
            ).map(\.event)
        }
    }

    public func viewCounts(kind: String?, since: Date?) async throws -> [String: Int] {
        if let since {
            // From that day through any day to come.
            let range = UsageDay.of(since)...Int(Int32.max)
            return try await viewTotals(kind: kind, id: nil, in: [range]).mapValues { $0[0] }
        }
        return try await pool.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT item_kind, item_id, total FROM view_items WHERE (?1 IS NULL OR item_kind = ?1)",
                arguments: [kind])
            {
                let itemKind: String = row["item_kind"]
                let itemID: String = row["item_id"]
                counts["\(itemKind)/\(itemID)"] = row["total"]
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
            var known: [ItemKey: CatalogItemRow] = [:]
            for row in try CatalogItemRow.fetchAll(db) { known[row.key] = row }
            // A field that changes now overrides (at most) the actions taken before this moment.
            let mark = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM lifecycle_events") ?? 0
            let plan = CatalogSyncPlan(
                known: known, items: items, mark: mark, catalogVersion: catalogVersion, at: date)
            for row in plan.inserts { try row.insert(db) }
            for row in plan.updates { try row.update(db) }
            for key in plan.deletes {
                try db.execute(
                    sql: "DELETE FROM catalog_items WHERE item_kind = ? AND item_id = ?", arguments: [key.kind, key.id])
            }
            var events = plan.events
            for index in events.indices {
                var row = LifecycleEventRow(events[index])
                try row.insert(db)
                events[index].id = row.id
            }
            return events
        }
    }

    public func recentLifecycleEvents(kind: String?, limit: Int) async throws -> [LifecycleEvent] {
        try await pool.read { db in
            try LifecycleEventRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM lifecycle_events WHERE (?1 IS NULL OR item_kind = ?1)
                    ORDER BY at DESC, id DESC LIMIT ?2
                    """,
                arguments: [kind, limit]
            ).map(\.event)
        }
    }

    public func lifecycleEvents(kind: String, id: String) async throws -> [LifecycleEvent] {
        try await pool.read { db in
            try LifecycleEventRow.fetchAll(
                db,
                sql: "SELECT * FROM lifecycle_events WHERE item_kind = ? AND item_id = ? ORDER BY at DESC, id DESC",
                arguments: [kind, id]
            ).map(\.event)
        }
    }

    public func appendLifecycleEvent(_ event: LifecycleEvent) async throws -> LifecycleEvent {
        try await pool.write { db in
            var row = LifecycleEventRow(event)
            // The log numbers its events, and an action keeps no access lists (removals do).
            row.id = nil
            row.access = nil
            try row.insert(db)
            var stored = event
            stored.id = row.id
            return stored
        }
    }

    public func lifecycleActions() async throws -> [LifecycleEvent] {
        try await pool.read { db in
            try LifecycleEventRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM lifecycle_events WHERE action NOT IN ('added', 'changed', 'removed')
                    ORDER BY id
                    """
            ).map(\.event)
        }
    }

    public func latestLifecycleEventID() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM lifecycle_events") ?? 0 }
    }

    public func catalogItemRecords(kind: String?) async throws -> [CatalogItemRecord] {
        try await pool.read { db in
            try CatalogItemRow.fetchAll(
                db, sql: "SELECT * FROM catalog_items WHERE (?1 IS NULL OR item_kind = ?1) ORDER BY item_kind, item_id",
                arguments: [kind]
            ).map(\.record)
        }
    }

    public func claimJobRun(_ run: JobRunRecord, staleBefore: Date?) async throws -> Bool {
        try await pool.write { db in
            if let staleBefore {
                // The instance that claimed it stopped midway, or the run failed a while ago: take
                // it over (one instance wins: the row changes once).
                try db.execute(
                    sql: """
                        UPDATE job_runs SET instance = ?1, claimed_at = ?2, late = ?3, status = 'running',
                            finished_at = NULL,
                            detail = CASE status WHEN 'running'
                                THEN 'taken over from ' || COALESCE(instance, 'an instance') || ', which stopped midway'
                                ELSE 'tried again after: ' || COALESCE(detail, 'a failure') END
                        WHERE job = ?4 AND scheduled_for = ?5 AND (
                            (status = 'running' AND claimed_at < ?6) OR (status = 'failed' AND finished_at < ?6))
                        """,
                    arguments: [
                        run.instance, run.claimedAt.timeIntervalSince1970, run.late, run.job,
                        run.scheduledFor.timeIntervalSince1970, staleBefore.timeIntervalSince1970,
                    ])
                if db.changesCount == 1 { return true }
            }
            try JobRunRow(run).insert(db, onConflict: .ignore)
            return db.changesCount == 1
        }
    }

    public func finishJobRun(
        job: String, scheduledFor: Date, status: JobRunRecord.Status, detail: String?, at date: Date,
        instance: String?
    ) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE job_runs SET status = ?1, detail = ?2, finished_at = ?3
                    WHERE job = ?4 AND scheduled_for = ?5 AND status = 'running' AND (?6 IS NULL OR instance = ?6)
                    """,
                arguments: [
                    status.rawValue, detail, date.timeIntervalSince1970, job, scheduledFor.timeIntervalSince1970,
                    instance,
                ])
        }
    }

    public func renewJobRun(job: String, scheduledFor: Date, instance: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE job_runs SET claimed_at = ?1
                    WHERE job = ?2 AND scheduled_for = ?3 AND status = 'running' AND instance = ?4
                    """,
                arguments: [date.timeIntervalSince1970, job, scheduledFor.timeIntervalSince1970, instance])
            return db.changesCount == 1
        }
    }

    public func lastJobRun(job: String) async throws -> JobRunRecord? {
        try await pool.read { db in
            try JobRunRow.fetchOne(
                db, sql: "SELECT * FROM job_runs WHERE job = ? ORDER BY scheduled_for DESC LIMIT 1", arguments: [job]
            )?.record
        }
    }

    public func recentJobRuns(job: String?, limit: Int) async throws -> [JobRunRecord] {
        try await pool.read { db in
            try JobRunRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM job_runs WHERE (?1 IS NULL OR job = ?1)
                    ORDER BY scheduled_for DESC, job LIMIT ?2
                    """,
                arguments: [job, max(0, limit)]
            ).map(\.record)
        }
    }

    public func recordRun(_ run: RunRecord) async throws {
        try await pool.write { db in
            var row = RunRow(run)
            row.id = nil  // the log numbers its runs
            try row.insert(db)
        }
    }

    public func recentRuns(kind: String?, limit: Int) async throws -> [RunRecord] {
        try await pool.read { db in
            try RunRow.fetchAll(
                db,
                sql: "SELECT * FROM runs WHERE (?1 IS NULL OR kind = ?1) ORDER BY started_at DESC, id DESC LIMIT ?2",
                arguments: [kind, limit]
            ).map(\.record)
        }
    }
}
