public import Foundation
import GRDB

extension SQLiteStateStore {
    public func enqueueDeliveries(_ deliveries: [DeliveryRecord]) async throws -> Int {
        guard !deliveries.isEmpty else { return 0 }
        return try await pool.write { db in try Self.insert(deliveries, db) }
    }

    public func fireTrigger(_ firing: TriggerFiring, deliveries: [DeliveryRecord]) async throws -> Bool {
        try await pool.write { db in
            // One statement decides: inserted only when no firing of this trigger for this entity
            // has a quiet period overlapping this one's (earlier or later: a catch-up of an older
            // time after a manual run counts too). Writers are serialized, so two instances cannot
            // both see "none".
            try db.execute(
                sql: """
                    INSERT OR IGNORE INTO trigger_firings
                        (trigger_id, entity_key, entity_label, fired_at, cooldown_until, detail)
                    SELECT ?1, ?2, ?3, ?4, ?5, ?6
                    WHERE NOT EXISTS (
                        SELECT 1 FROM trigger_firings
                        WHERE trigger_id = ?1 AND entity_key = ?2 AND fired_at < ?5 AND cooldown_until > ?4
                    )
                    """,
                arguments: [
                    firing.trigger, firing.entityKey, firing.entityLabel, firing.firedAt.timeIntervalSince1970,
                    firing.cooldownUntil.timeIntervalSince1970, firing.detail,
                ])
            guard db.changesCount == 1 else { return false }
            _ = try Self.insert(deliveries, db)
            return true
        }
    }

    private static func insert(_ deliveries: [DeliveryRecord], _ db: Database) throws -> Int {
        var added = 0
        for delivery in deliveries {
            // A key already queued adds nothing.
            try DeliveryRow(queueing: delivery).insert(db, onConflict: .ignore)
            added += db.changesCount
        }
        return added
    }

    public func claimDueDeliveries(
        instance: String, now: Date, until: Date, limit: Int, job: String?
    ) async throws -> [DeliveryRecord] {
        try await pool.write { db in
            let due = try DeliveryRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM deliveries
                    WHERE ((status = 'pending' AND next_attempt_at <= ?1)
                       OR (status = 'sending' AND claimed_until <= ?1))
                      AND (?3 IS NULL OR job = ?3)
                    ORDER BY next_attempt_at, id LIMIT ?2
                    """,
                arguments: [now.timeIntervalSince1970, max(0, limit), job]
            ).map(\.record)
            var claimed: [DeliveryRecord] = []
            for var delivery in due {
                try db.execute(
                    sql: "UPDATE deliveries SET status = 'sending', claimed_by = ?, claimed_until = ? WHERE id = ?",
                    arguments: [instance, until.timeIntervalSince1970, delivery.id])
                delivery.status = .sending
                delivery.claimedBy = instance
                delivery.claimedUntil = until
                claimed.append(delivery)
            }
            return claimed
        }
    }

    public func renewDeliveryLease(id: Int64, instance: String, now: Date, until: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deliveries SET claimed_until = ?
                    WHERE id = ? AND status = 'sending' AND claimed_by = ? AND claimed_until > ?
                    """,
                arguments: [until.timeIntervalSince1970, id, instance, now.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    public func finishDeliveryAttempt(
        _ attempt: DeliveryAttempt, status: DeliveryRecord.Status, nextAttemptAt: Date?
    ) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE deliveries
                    SET status = ?, attempts = ?, next_attempt_at = COALESCE(?, next_attempt_at), last_error = ?,
                        sent_at = ?, claimed_by = NULL, claimed_until = NULL
                    WHERE id = ? AND status = 'sending' AND claimed_by = ?
                    """,
                arguments: [
                    status.rawValue, attempt.attempt, nextAttemptAt?.timeIntervalSince1970, attempt.error,
                    status == .sent ? attempt.finishedAt.timeIntervalSince1970 : nil, attempt.deliveryID,
                    attempt.instance,
                ])
            guard db.changesCount == 1 else { return false }
            try DeliveryAttemptRow(attempt).insert(db, onConflict: .replace)
            return true
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryRecord] {
        try await pool.read { db in
            try DeliveryRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM deliveries WHERE (?1 IS NULL OR job = ?1) AND (?2 IS NULL OR status = ?2)
                    ORDER BY created_at DESC, id DESC LIMIT ?3
                    """,
                arguments: [query.job, query.status?.rawValue, max(0, query.limit)]
            ).map(\.record)
        }
    }

    public func delivery(id: Int64) async throws -> DeliveryRecord? {
        try await pool.read { db in
            try DeliveryRow.fetchOne(db, sql: "SELECT * FROM deliveries WHERE id = ?", arguments: [id])?.record
        }
    }

    public func deliveryAttempts(id: Int64) async throws -> [DeliveryAttempt] {
        try await pool.read { db in
            try DeliveryAttemptRow.fetchAll(
                db, sql: "SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt", arguments: [id]
            ).map(\.record)
        }
    }

    public func deliveryStatusCounts() async throws -> [DeliveryRecord.Status: Int] {
        try await pool.read { db in
            var counts: [DeliveryRecord.Status: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status") {
                if let status = DeliveryRecord.Status(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    public func triggerFirings(trigger: String?, limit: Int) async throws -> [TriggerFiring] {
        try await pool.read { db in
            try TriggerFiringRow.fetchAll(
                db,
                sql: """
                    SELECT * FROM trigger_firings WHERE (?1 IS NULL OR trigger_id = ?1)
                    ORDER BY fired_at DESC, entity_key LIMIT ?2
                    """,
                arguments: [trigger, max(0, limit)]
            ).map(\.record)
        }
    }
}
