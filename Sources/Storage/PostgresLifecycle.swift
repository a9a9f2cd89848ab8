public import Foundation
import Logging
import PostgresNIO

extension PostgresStateStore {
    public func syncCatalogItems(
        _ items: [CatalogItemState], catalogVersion: String, at date: Date
    ) async throws
        -> [LifecycleEvent]
    {
        try await transaction { [logger] connection in
            // One sync at a time, as under SQLite's single writer: two instances loading the same
            // catalog record its changes once (the second, after the lock, finds them recorded).
            try await connection.rows("SELECT pg_advisory_xact_lock(\(Self.catalogSyncLock))", logger)
            var known: [ItemKey: CatalogItemRow] = [:]
            for row in try await connection.records(CatalogItemRow.self, "SELECT * FROM catalog_items", logger) {
                known[row.key] = row
            }
            // A field that changes now overrides (at most) the actions taken before this moment.
            let mark =
                try await connection.value(Int64.self, "SELECT COALESCE(MAX(id), 0) FROM lifecycle_events", logger)
                ?? 0
            let plan = CatalogSyncPlan(
                known: known, items: items, mark: mark, catalogVersion: catalogVersion, at: date)
            for row in plan.inserts {
                try await connection.rows(
                    """
                    INSERT INTO catalog_items (item_kind, item_id, digest, title, owner, first_seen_at, changed_at,
                        declared, declared_marks, access)
                    VALUES (\(row.itemKind), \(row.itemID), \(row.digest), \(row.title), \(row.owner),
                        \(row.firstSeenAt.timeIntervalSince1970), \(row.changedAt.timeIntervalSince1970),
                        \(row.declared), \(row.declaredMarks), \(row.access))
                    """, logger)
            }
            for row in plan.updates {
                try await connection.rows(
                    """
                    UPDATE catalog_items SET digest = \(row.digest), title = \(row.title), owner = \(row.owner),
                        changed_at = \(row.changedAt.timeIntervalSince1970), declared = \(row.declared),
                        declared_marks = \(row.declaredMarks), access = \(row.access)
                    WHERE item_kind = \(row.itemKind) AND item_id = \(row.itemID)
                    """, logger)
            }
            for key in plan.deletes {
                try await connection.rows(
                    "DELETE FROM catalog_items WHERE item_kind = \(key.kind) AND item_id = \(key.id)", logger)
            }
            var events = plan.events
            for index in events.indices {
                events[index].id = try await Self.insert(LifecycleEventRow(events[index]), connection, logger)
            }
            return events
        }
    }

    /// The advisory lock every writer of the lifecycle log holds until it commits (the catalog
    /// sync and an appended action; a constant of this store's own).
    static let catalogSyncLock = 0x616C_6D61_6E61_6302

    /// Appends `row` to the log; returns the id the log gave it.
    private static func insert(
        _ row: LifecycleEventRow, _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> Int64? {
        try await connection.value(
            Int64.self,
            """
            INSERT INTO lifecycle_events (item_kind, item_id, action, title, actor, detail, catalog_version, at,
                replacement, value, access)
            VALUES (\(row.itemKind), \(row.itemID), \(row.action), \(row.title), \(row.actor), \(row.detail),
                \(row.catalogVersion), \(row.at.timeIntervalSince1970), \(row.replacement), \(row.value), \(row.access))
            RETURNING id
            """, logger)
    }

    public func recentLifecycleEvents(kind: String?, limit: Int) async throws -> [LifecycleEvent] {
        try await withConnection { [logger] connection in
            try await connection.records(
                LifecycleEventRow.self,
                """
                SELECT * FROM lifecycle_events WHERE (CAST(\(kind) AS TEXT) IS NULL OR item_kind = \(kind))
                ORDER BY at DESC, id DESC LIMIT \(unlimitedIfNegative(limit))
                """, logger
            ).map(\.event)
        }
    }

    public func lifecycleEvents(kind: String, id: String) async throws -> [LifecycleEvent] {
        try await withConnection { [logger] connection in
            try await connection.records(
                LifecycleEventRow.self,
                """
                SELECT * FROM lifecycle_events WHERE item_kind = \(kind) AND item_id = \(id)
                ORDER BY at DESC, id DESC
                """, logger
            ).map(\.event)
        }
    }

    public func appendLifecycleEvent(_ event: LifecycleEvent) async throws -> LifecycleEvent {
        var row = LifecycleEventRow(event)
        // The log numbers its events, and an action keeps no access lists (removals do).
        row.id = nil
        row.access = nil
        let appended = row
        // Under the lock every writer of the log takes (the catalog sync too), so events commit
        // in the order of their ids: a portal that polls the newest id (`latestLifecycleEventID`)
        // can then never pass over an event that commits after a newer one.
        let id = try await transaction { [logger] connection in
            try await connection.rows("SELECT pg_advisory_xact_lock(\(Self.catalogSyncLock))", logger)
            return try await Self.insert(appended, connection, logger)
        }
        var stored = event
        stored.id = id
        return stored
    }

    public func lifecycleActions() async throws -> [LifecycleEvent] {
        try await withConnection { [logger] connection in
            try await connection.records(
                LifecycleEventRow.self,
                """
                SELECT * FROM lifecycle_events WHERE action NOT IN ('added', 'changed', 'removed')
                ORDER BY id
                """, logger
            ).map(\.event)
        }
    }

    public func latestLifecycleEventID() async throws -> Int64 {
        try await withConnection { [logger] connection in
            try await connection.value(Int64.self, "SELECT COALESCE(MAX(id), 0) FROM lifecycle_events", logger) ?? 0
        }
    }

    public func catalogItemRecords(kind: String?) async throws -> [CatalogItemRecord] {
        try await withConnection { [logger] connection in
            try await connection.records(
                CatalogItemRow.self,
                "SELECT * FROM catalog_items WHERE (CAST(\(kind) AS TEXT) IS NULL OR item_kind = \(kind)) ORDER BY item_kind, item_id",
                logger
            ).map(\.record)
        }
    }
}
