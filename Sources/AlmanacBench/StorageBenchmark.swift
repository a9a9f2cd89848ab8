import Foundation
import GRDB
import Storage

/// Baselines for Benchmarks/usage.sh, measured on the same rows as the recorder and the
/// staleness scan: what the raw view log alone costs to write and to aggregate.
enum StorageBenchmark {
    /// Inserts `views` into a `views` table with the state store's own columns and indexes,
    /// in one transaction per call, as the recorder did before the daily rollups existed.
    static func insertRawViews(_ views: [ViewEvent], path: String) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(
                sql: """
                    CREATE TABLE IF NOT EXISTS views (
                        id INTEGER PRIMARY KEY AUTOINCREMENT, item_kind TEXT NOT NULL, item_id TEXT NOT NULL,
                        viewer TEXT, viewed_at REAL NOT NULL, parameters_hash TEXT,
                        source TEXT NOT NULL DEFAULT 'direct', channel TEXT NOT NULL DEFAULT 'page');
                    CREATE INDEX IF NOT EXISTS views_item ON views(item_kind, item_id, viewed_at);
                    CREATE INDEX IF NOT EXISTS views_time ON views(viewed_at);
                    """)
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
        try queue.close()
    }

    /// Views per item of `kind` in each of `ranges`, counted from the raw log of the state store
    /// at `path` rather than from its rollups.
    static func rawLogTotals(path: String, kind: String, in ranges: [ClosedRange<Int>]) throws -> [String: [Int]] {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        let low = Double((ranges.map(\.lowerBound).min() ?? 0)) * 86_400
        var sums: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        for range in ranges {
            sums.append("SUM(CASE WHEN viewed_at >= ? AND viewed_at < ? THEN 1 ELSE 0 END)")
            arguments += [Double(range.lowerBound) * 86_400, Double(range.upperBound + 1) * 86_400]
        }
        arguments += [kind, low]
        return try queue.read { db in
            var totals: [String: [Int]] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT item_id, \(sums.joined(separator: ", ")) FROM views
                    WHERE item_kind = ? AND viewed_at >= ? GROUP BY item_kind, item_id
                    """, arguments: StatementArguments(arguments))
            while let row = try rows.next() {
                let id: String = row[0]
                totals["\(kind)/\(id)"] = (0..<ranges.count).map { row[1 + $0] }
            }
            return totals
        }
    }

    /// Rows in the raw log.
    static func viewRows(path: String) throws -> Int {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM views") ?? 0 }
    }
}
