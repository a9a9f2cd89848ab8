public import Foundation
import Logging
import PostgresNIO

extension PostgresStateStore {
    /// Records `views` and maintains the rollups in one transaction, safely beside other
    /// instances doing the same.
    ///
    /// Each item's `view_items` row is locked first (its upsert), in one order for every writer
    /// (by kind, then id), so two batches never wait on each other in a cycle. Every later write
    /// of the batch touches only the rows of items it holds, and in `READ COMMITTED` each
    /// statement sees what the previous holder committed: an item's running `cumulative` is
    /// computed by one writer at a time, as under SQLite's single writer.
    public func recordViews(_ views: [ViewEvent]) async throws {
        guard !views.isEmpty else { return }
        var perDay: [ItemKey: [Int: Int]] = [:]
        var perViewer: [ItemKey: [String: Int]] = [:]
        var perItem: [ItemKey: Int] = [:]
        for view in views {
            let item = ItemKey(kind: view.itemKind, id: view.itemID)
            let day = UsageDay.of(view.viewedAt)
            perDay[item, default: [:]][day, default: 0] += 1
            let viewer = view.viewer ?? ""
            let last = perViewer[item]?[viewer] ?? day
            perViewer[item, default: [:]][viewer] = max(last, day)
            perItem[item, default: 0] += 1
        }
        let items = perItem.sorted { ($0.key.kind, $0.key.id) < ($1.key.kind, $1.key.id) }
        let days = perDay
        let viewers = perViewer
        try await transaction { [logger] connection in
            for (item, count) in items {
                try await connection.rows(
                    """
                    INSERT INTO view_items (item_kind, item_id, total) VALUES (\(item.kind), \(item.id), \(count))
                    ON CONFLICT (item_kind, item_id) DO UPDATE SET total = view_items.total + excluded.total
                    """, logger)
            }
            for (item, _) in items {
                for (day, count) in days[item, default: [:]].sorted(by: { $0.key < $1.key }) {
                    // The day's row starts from the running total before it; views of a day before
                    // the item's newest (a batch across midnight, another instance's clock) raise
                    // the running totals of the days after it too. The two parts touch different
                    // rows, so one statement does both.
                    try await connection.rows(
                        """
                        WITH later AS (
                            UPDATE view_days SET cumulative = cumulative + \(count)
                            WHERE item_kind = \(item.kind) AND item_id = \(item.id) AND day > \(day)
                        )
                        INSERT INTO view_days (item_kind, item_id, day, views, cumulative)
                        SELECT \(item.kind), \(item.id), \(day), \(count),
                            COALESCE((SELECT cumulative FROM view_days WHERE item_kind = \(item.kind)
                                AND item_id = \(item.id) AND day < \(day) ORDER BY day DESC LIMIT 1), 0) + \(count)
                        ON CONFLICT (item_kind, item_id, day) DO UPDATE
                        SET views = view_days.views + excluded.views, cumulative = view_days.cumulative + excluded.views
                        """, logger)
                }
                for (viewer, last) in viewers[item, default: [:]].sorted(by: { $0.key < $1.key }) {
                    try await connection.rows(
                        """
                        INSERT INTO view_viewers (item_kind, item_id, viewer, last_day)
                        VALUES (\(item.kind), \(item.id), \(viewer), \(last))
                        ON CONFLICT (item_kind, item_id, viewer) DO UPDATE
                        SET last_day = GREATEST(view_viewers.last_day, excluded.last_day)
                        """, logger)
                }
            }
            // The raw log, many rows per statement (postgres-nio binds at most 65,535 values).
            for start in stride(from: 0, to: views.count, by: 1000) {
                let chunk = views[start..<min(start + 1000, views.count)]
                var bindings = PostgresBindings(capacity: chunk.count * 7)
                var rows: [String] = []
                for view in chunk {
                    let first = bindings.count
                    bindings.append(view.itemKind)
                    bindings.append(view.itemID)
                    bindings.append(view.viewer)
                    bindings.append(view.viewedAt.timeIntervalSince1970)
                    bindings.append(view.parametersHash)
                    bindings.append(view.source.rawValue)
                    bindings.append(view.channel.rawValue)
                    rows.append("(" + (1...7).map { "$\(first + $0)" }.joined(separator: ", ") + ")")
                }
                try await connection.rows(
                    PostgresQuery(
                        unsafeSQL: """
                            INSERT INTO views (item_kind, item_id, viewer, viewed_at, parameters_hash, source, channel)
                            VALUES \(rows.joined(separator: ", "))
                            """, binds: bindings), logger)
            }
        }
    }

    public func viewTotals(kind: String?, id: String?, in ranges: [ClosedRange<Int>]) async throws -> [String: [Int]] {
        guard !ranges.isEmpty else { return [:] }
        // Each range is cumulative(last day) - cumulative(day before its first): one index seek per
        // distinct boundary and item, never a pass over the days themselves.
        let boundaries = Array(Set(ranges.flatMap { [$0.lowerBound - 1, $0.upperBound] })).sorted()
        let position = Dictionary(uniqueKeysWithValues: boundaries.enumerated().map { ($1, $0) })
        var bindings = PostgresBindings()
        let seeks = boundaries.map { boundary in
            bindings.append(boundary)
            return """
                COALESCE((SELECT cumulative FROM view_days d WHERE d.item_kind = i.item_kind AND d.item_id = i.item_id
                    AND d.day <= $\(bindings.count) ORDER BY d.day DESC LIMIT 1), 0)
                """
        }
        var conditions: [String] = []
        if let kind {
            bindings.append(kind)
            conditions.append("i.item_kind = $\(bindings.count)")
        }
        if let id {
            bindings.append(id)
            conditions.append("i.item_id = $\(bindings.count)")
        }
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT i.item_kind, i.item_id, \(seeks.joined(separator: ", ")) FROM view_items i
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                """, binds: bindings)
        return try await withConnection { [logger] connection in
            var totals: [String: [Int]] = [:]
            for row in try await connection.rows(query, logger) {
                let cumulative = try (0..<boundaries.count).map { try row[2 + $0].decode(Int.self) }
                let sums = ranges.map {
                    cumulative[position[$0.upperBound]!] - cumulative[position[$0.lowerBound - 1]!]
                }
                guard sums.contains(where: { $0 != 0 }) else { continue }
                let itemKind = try row[0].decode(String.self)
                let itemID = try row[1].decode(String.self)
                totals["\(itemKind)/\(itemID)"] = sums
            }
            return totals
        }
    }

    public func uniqueViewers(kind: String, id: String, since days: [Int]) async throws -> [Int] {
        try await withConnection { [logger] connection in
            var counts: [Int] = []
            for day in days {
                counts.append(
                    try await connection.value(
                        Int.self,
                        """
                        SELECT COUNT(*) FROM view_viewers
                        WHERE item_kind = \(kind) AND item_id = \(id) AND last_day >= \(day)
                        """, logger) ?? 0)
            }
            return counts
        }
    }

    public func dailyViews(kind: String, id: String, in range: ClosedRange<Int>) async throws -> [Int: Int] {
        try await withConnection { [logger] connection in
            var days: [Int: Int] = [:]
            for row in try await connection.rows(
                """
                SELECT day, views FROM view_days
                WHERE item_kind = \(kind) AND item_id = \(id) AND day BETWEEN \(range.lowerBound) AND \(range.upperBound)
                """, logger)
            {
                days[try row[0].decode(Int.self)] = try row[1].decode(Int.self)
            }
            return days
        }
    }

    public func recentViews(limit: Int) async throws -> [ViewEvent] {
        try await withConnection { [logger] connection in
            try await connection.records(
                ViewRow.self,
                """
                SELECT item_kind, item_id, viewer, viewed_at, parameters_hash, source, channel FROM views
                ORDER BY id DESC LIMIT \(max(0, limit))
                """, logger
            ).map(\.event)
        }
    }

    public func viewCounts(kind: String?, since: Date?) async throws -> [String: Int] {
        if let since {
            // From that day through any day to come.
            let range = UsageDay.of(since)...Int(Int32.max)
            return try await viewTotals(kind: kind, id: nil, in: [range]).mapValues { $0[0] }
        }
        return try await withConnection { [logger] connection in
            var counts: [String: Int] = [:]
            for row in try await connection.rows(
                """
                SELECT item_kind, item_id, total FROM view_items
                WHERE (CAST(\(kind) AS TEXT) IS NULL OR item_kind = \(kind))
                """, logger)
            {
                let itemKind = try row[0].decode(String.self)
                let itemID = try row[1].decode(String.self)
                counts["\(itemKind)/\(itemID)"] = try row[2].decode(Int.self)
            }
            return counts
        }
    }

    // MARK: Search log

    public func recordSearchActivity(_ activity: SearchActivity) async throws {
        guard !activity.isEmpty else { return }
        // In one order for every writer, so that two instances adding to the same rows never
        // wait on each other in a cycle.
        let searches = activity.searches.sorted { ($0.key.day, $0.key.query) < ($1.key.day, $1.key.query) }
        let clicks = activity.clicks.sorted {
            ($0.key.day, $0.key.query, $0.key.item) < ($1.key.day, $1.key.query, $1.key.item)
        }
        try await transaction { [logger] connection in
            for (key, counts) in searches {
                try await connection.rows(
                    """
                    INSERT INTO search_queries (day, query, searches, zero_results)
                    VALUES (\(key.day), \(key.query), \(counts.searches), \(counts.zeroResults))
                    ON CONFLICT (day, query) DO UPDATE SET
                        searches = search_queries.searches + excluded.searches,
                        zero_results = search_queries.zero_results + excluded.zero_results
                    """, logger)
            }
            for (click, count) in clicks {
                try await connection.rows(
                    """
                    INSERT INTO search_clicks (day, query, item, clicks)
                    VALUES (\(click.day), \(click.query), \(click.item), \(count))
                    ON CONFLICT (day, query, item) DO UPDATE SET clicks = search_clicks.clicks + excluded.clicks
                    """, logger)
            }
        }
    }

    public func searchQueries(since day: Int, limit: Int) async throws -> [SearchQueryStats] {
        try await withConnection { [logger] connection in
            // Clicks of queries nobody searched in the period (only clicked) are left out.
            try await connection.rows(
                """
                WITH searched AS (
                    SELECT query, CAST(SUM(searches) AS BIGINT) AS searches,
                        CAST(SUM(zero_results) AS BIGINT) AS zero_results
                    FROM search_queries WHERE day >= \(day) GROUP BY query
                ), clicked AS (
                    SELECT query, item, CAST(SUM(clicks) AS BIGINT) AS clicks FROM search_clicks WHERE day >= \(day)
                    GROUP BY query, item
                ), best AS (
                    SELECT query, item, clicks,
                        ROW_NUMBER() OVER (PARTITION BY query ORDER BY clicks DESC, item) AS position,
                        CAST(SUM(clicks) OVER (PARTITION BY query) AS BIGINT) AS total
                    FROM clicked
                )
                SELECT searched.query, searched.searches, searched.zero_results,
                    COALESCE(best.total, 0) AS clicks, best.item AS top_item,
                    COALESCE(best.clicks, 0) AS top_item_clicks
                FROM searched LEFT JOIN best ON best.query = searched.query AND best.position = 1
                ORDER BY searched.searches DESC, searched.query
                LIMIT \(unlimitedIfNegative(limit))
                """, logger
            ).map { row in
                SearchQueryStats(
                    query: try row["query"].decode(String.self), searches: try row["searches"].decode(Int.self),
                    zeroResults: try row["zero_results"].decode(Int.self), clicks: try row["clicks"].decode(Int.self),
                    topItem: try row["top_item"].decode(String?.self),
                    topItemClicks: try row["top_item_clicks"].decode(Int.self))
            }
        }
    }

    public func searchClicks(since day: Int) async throws -> [String: [String: Int]] {
        try await withConnection { [logger] connection in
            var clicks: [String: [String: Int]] = [:]
            for row in try await connection.rows(
                """
                SELECT query, item, CAST(SUM(clicks) AS BIGINT) FROM search_clicks WHERE day >= \(day)
                GROUP BY query, item
                """, logger)
            {
                let query = try row[0].decode(String.self)
                let item = try row[1].decode(String.self)
                clicks[query, default: [:]][item] = try row[2].decode(Int.self)
            }
            return clicks
        }
    }
}
