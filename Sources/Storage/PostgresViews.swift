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
        // Each rollup is one statement over arrays (unnest), whatever the batch's size: a round
        // trip per item, day or viewer would cap ingest at a few hundred views a second.
        let itemKinds = items.map(\.key.kind)
        let itemIDs = items.map(\.key.id)
        let itemCounts = items.map { Int64($0.value) }
        var dayKinds: [String] = []
        var dayIDs: [String] = []
        var dayNumbers: [Int64] = []
        var dayCounts: [Int64] = []
        var viewerKinds: [String] = []
        var viewerIDs: [String] = []
        var viewerNames: [String] = []
        var viewerDays: [Int64] = []
        for (item, _) in items {
            for (day, count) in perDay[item, default: [:]] {
                dayKinds.append(item.kind)
                dayIDs.append(item.id)
                dayNumbers.append(Int64(day))
                dayCounts.append(Int64(count))
            }
            for (viewer, last) in perViewer[item, default: [:]] {
                viewerKinds.append(item.kind)
                viewerIDs.append(item.id)
                viewerNames.append(viewer)
                viewerDays.append(Int64(last))
            }
        }
        let logKinds = views.map(\.itemKind)
        let logIDs = views.map(\.itemID)
        // Arrays cannot hold NULL here: an absent viewer or hash travels as '' (neither is ever
        // empty otherwise) and is stored as NULL again.
        let logViewers = views.map { $0.viewer ?? "" }
        let logTimes = views.map(\.viewedAt.timeIntervalSince1970)
        let logHashes = views.map { $0.parametersHash ?? "" }
        let logSources = views.map(\.source.rawValue)
        let logChannels = views.map(\.channel.rawValue)
        try await transaction {
            [logger, dayKinds, dayIDs, dayNumbers, dayCounts, viewerKinds, viewerIDs, viewerNames, viewerDays]
            connection in
            // First the items' totals, in one order: the row lock this takes on each item makes
            // concurrent writers of the same item take turns for the rest of the transaction, and
            // the order means two batches cannot deadlock on each other.
            try await connection.rows(
                """
                INSERT INTO view_items (item_kind, item_id, total)
                SELECT k, i, n FROM unnest(\(itemKinds)::text[], \(itemIDs)::text[], \(itemCounts)::bigint[])
                    AS u(k, i, n)
                ORDER BY k, i
                ON CONFLICT (item_kind, item_id) DO UPDATE SET total = view_items.total + excluded.total
                """, logger)
            // The days, in one statement whose parts all read the rows as they were before it.
            // A day the item already has gains its own views, and its running total the batch's
            // views on that day or before (a batch across midnight, or another instance's clock,
            // raises the days after its first too). A new day's running total is the newest
            // earlier day's total plus the batch's views up to the new day: nothing older lies
            // between them.
            try await connection.rows(
                """
                WITH u AS (
                    SELECT k, i, day, n, SUM(n) OVER (PARTITION BY k, i ORDER BY day) AS upto
                    FROM unnest(\(dayKinds)::text[], \(dayIDs)::text[], \(dayNumbers)::bigint[],
                        \(dayCounts)::bigint[]) AS u(k, i, day, n)
                ), grown AS (
                    UPDATE view_days d SET views = d.views + COALESCE(g.same, 0), cumulative = d.cumulative + g.upto
                    FROM (
                        SELECT e.item_kind, e.item_id, e.day, SUM(u.n) FILTER (WHERE u.day = e.day) AS same,
                            SUM(u.n) AS upto
                        FROM view_days e JOIN u ON u.k = e.item_kind AND u.i = e.item_id AND u.day <= e.day
                        GROUP BY e.item_kind, e.item_id, e.day
                    ) g
                    WHERE d.item_kind = g.item_kind AND d.item_id = g.item_id AND d.day = g.day
                    RETURNING 1
                )
                INSERT INTO view_days (item_kind, item_id, day, views, cumulative)
                SELECT u.k, u.i, u.day, u.n, COALESCE(p.cumulative, 0) + u.upto
                FROM u LEFT JOIN LATERAL (
                    SELECT d.cumulative FROM view_days d
                    WHERE d.item_kind = u.k AND d.item_id = u.i AND d.day < u.day ORDER BY d.day DESC LIMIT 1
                ) p ON true
                WHERE NOT EXISTS (
                    SELECT 1 FROM view_days d WHERE d.item_kind = u.k AND d.item_id = u.i AND d.day = u.day)
                """, logger)
            try await connection.rows(
                """
                INSERT INTO view_viewers (item_kind, item_id, viewer, last_day)
                SELECT * FROM unnest(\(viewerKinds)::text[], \(viewerIDs)::text[], \(viewerNames)::text[],
                    \(viewerDays)::bigint[])
                ON CONFLICT (item_kind, item_id, viewer) DO UPDATE
                SET last_day = GREATEST(view_viewers.last_day, excluded.last_day)
                """, logger)
            // The raw log: one statement, a column per array.
            try await connection.rows(
                """
                INSERT INTO views (item_kind, item_id, viewer, viewed_at, parameters_hash, source, channel)
                SELECT k, i, NULLIF(v, ''), t, NULLIF(h, ''), s, c
                FROM unnest(\(logKinds)::text[], \(logIDs)::text[], \(logViewers)::text[],
                    \(logTimes)::double precision[], \(logHashes)::text[], \(logSources)::text[], \(logChannels)::text[])
                    AS u(k, i, v, t, h, s, c)
                """, logger)
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
