public import Foundation
import Logging
import PostgresNIO

extension PostgresStateStore {
    public func enqueueDeliveries(_ deliveries: [DeliveryRecord]) async throws -> Int {
        guard !deliveries.isEmpty else { return 0 }
        return try await transaction { [logger] connection in
            try await Self.insert(deliveries, connection, logger)
        }
    }

    public func fireTrigger(_ firing: TriggerFiring, deliveries: [DeliveryRecord]) async throws -> Bool {
        try await transaction { [logger] connection in
            // Writers are not serialized here as in SQLite: firings of one trigger for one entity
            // are, by a lock of the transaction's on the pair, so that two instances cannot both
            // see "none". (Two pairs whose hashes meet only wait for each other.)
            try await connection.rows(
                "SELECT pg_advisory_xact_lock(hashtext(\(firing.trigger)), hashtext(\(firing.entityKey)))", logger)
            // Inserted only when no firing of this trigger for this entity has a quiet period
            // overlapping this one's (earlier or later: a catch-up of an older time after a manual
            // run counts too).
            let fired = firing.firedAt.timeIntervalSince1970
            let cooldown = firing.cooldownUntil.timeIntervalSince1970
            let inserted = try await connection.count(
                """
                INSERT INTO trigger_firings (trigger_id, entity_key, entity_label, fired_at, cooldown_until, detail)
                SELECT \(firing.trigger), \(firing.entityKey), \(firing.entityLabel), \(fired), \(cooldown),
                    \(firing.detail)
                WHERE NOT EXISTS (
                    SELECT 1 FROM trigger_firings
                    WHERE trigger_id = \(firing.trigger) AND entity_key = \(firing.entityKey)
                        AND fired_at < \(cooldown) AND cooldown_until > \(fired)
                )
                ON CONFLICT DO NOTHING
                RETURNING 1
                """, logger)
            guard inserted == 1 else { return false }
            _ = try await Self.insert(deliveries, connection, logger)
            return true
        }
    }

    /// Queues `deliveries` (a key already queued adds nothing); returns how many were added.
    private static func insert(
        _ deliveries: [DeliveryRecord], _ connection: PostgresConnection, _ logger: Logger
    ) async throws -> Int {
        var added = 0
        for delivery in deliveries {
            // A new message: the outbox numbers it, and no instance holds it yet.
            added += try await connection.count(
                """
                INSERT INTO deliveries (idempotency_key, job, scheduled_for, channel, recipient, subject, payload,
                    status, attempts, next_attempt_at, last_error, created_at, sent_at)
                VALUES (\(delivery.key), \(delivery.job), \(delivery.scheduledFor.timeIntervalSince1970),
                    \(delivery.channel.rawValue), \(delivery.recipient), \(delivery.subject), \(delivery.payload),
                    \(delivery.status.rawValue), \(delivery.attempts), \(delivery.nextAttemptAt.timeIntervalSince1970),
                    \(delivery.lastError), \(delivery.createdAt.timeIntervalSince1970),
                    \(delivery.sentAt?.timeIntervalSince1970))
                ON CONFLICT DO NOTHING
                RETURNING 1
                """, logger)
        }
        return added
    }

    /// Leases the due deliveries in one statement. The rows are chosen and locked together
    /// (`FOR UPDATE SKIP LOCKED`): an instance claiming at the same moment passes over the rows
    /// this one is taking instead of waiting for them, and takes others, so no delivery is
    /// handed to two instances.
    public func claimDueDeliveries(
        instance: String, now: Date, until: Date, limit: Int, job: String?
    ) async throws -> [DeliveryRecord] {
        let time = now.timeIntervalSince1970
        return try await withConnection { [logger] connection in
            try await connection.records(
                DeliveryRow.self,
                """
                WITH due AS MATERIALIZED (
                    SELECT id FROM deliveries
                    WHERE ((status = 'pending' AND next_attempt_at <= \(time))
                       OR (status = 'sending' AND claimed_until <= \(time)))
                      AND (CAST(\(job) AS TEXT) IS NULL OR job = \(job))
                    ORDER BY next_attempt_at, id LIMIT \(max(0, limit))
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE deliveries SET status = 'sending', claimed_by = \(instance),
                    claimed_until = \(until.timeIntervalSince1970)
                FROM due WHERE deliveries.id = due.id
                RETURNING deliveries.*
                """, logger
            )
            .map(\.record)
            .sorted { ($0.nextAttemptAt, $0.id ?? 0) < ($1.nextAttemptAt, $1.id ?? 0) }
        }
    }

    public func renewDeliveryLease(id: Int64, instance: String, now: Date, until: Date) async throws -> Bool {
        try await withConnection { [logger] connection in
            try await connection.count(
                """
                UPDATE deliveries SET claimed_until = \(until.timeIntervalSince1970)
                WHERE id = \(id) AND status = 'sending' AND claimed_by = \(instance)
                    AND claimed_until > \(now.timeIntervalSince1970)
                RETURNING 1
                """, logger) == 1
        }
    }

    public func finishDeliveryAttempt(
        _ attempt: DeliveryAttempt, status: DeliveryRecord.Status, nextAttemptAt: Date?
    ) async throws -> Bool {
        try await transaction { [logger] connection in
            let sentAt = status == .sent ? attempt.finishedAt.timeIntervalSince1970 : nil
            let updated = try await connection.count(
                """
                UPDATE deliveries
                SET status = \(status.rawValue), attempts = \(attempt.attempt),
                    next_attempt_at = COALESCE(\(nextAttemptAt?.timeIntervalSince1970), next_attempt_at),
                    last_error = \(attempt.error), sent_at = \(sentAt), claimed_by = NULL, claimed_until = NULL
                WHERE id = \(attempt.deliveryID) AND status = 'sending' AND claimed_by = \(attempt.instance)
                RETURNING 1
                """, logger)
            guard updated == 1 else { return false }
            try await connection.rows(
                """
                INSERT INTO delivery_attempts (delivery_id, attempt, instance, started_at, finished_at, outcome, error)
                VALUES (\(attempt.deliveryID), \(attempt.attempt), \(attempt.instance),
                    \(attempt.startedAt.timeIntervalSince1970), \(attempt.finishedAt.timeIntervalSince1970),
                    \(attempt.outcome.rawValue), \(attempt.error))
                ON CONFLICT (delivery_id, attempt) DO UPDATE SET instance = excluded.instance,
                    started_at = excluded.started_at, finished_at = excluded.finished_at,
                    outcome = excluded.outcome, error = excluded.error
                """, logger)
            return true
        }
    }

    public func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryRecord] {
        try await withConnection { [logger] connection in
            try await connection.records(
                DeliveryRow.self,
                """
                SELECT * FROM deliveries
                WHERE (CAST(\(query.job) AS TEXT) IS NULL OR job = \(query.job))
                    AND (CAST(\(query.status?.rawValue) AS TEXT) IS NULL OR status = \(query.status?.rawValue))
                ORDER BY created_at DESC, id DESC LIMIT \(max(0, query.limit))
                """, logger
            ).map(\.record)
        }
    }

    public func delivery(id: Int64) async throws -> DeliveryRecord? {
        try await withConnection { [logger] connection in
            try await connection.records(DeliveryRow.self, "SELECT * FROM deliveries WHERE id = \(id)", logger)
                .first?.record
        }
    }

    public func deliveryAttempts(id: Int64) async throws -> [DeliveryAttempt] {
        try await withConnection { [logger] connection in
            try await connection.records(
                DeliveryAttemptRow.self,
                "SELECT * FROM delivery_attempts WHERE delivery_id = \(id) ORDER BY attempt", logger
            ).map(\.record)
        }
    }

    public func deliveryStatusCounts() async throws -> [DeliveryRecord.Status: Int] {
        try await withConnection { [logger] connection in
            var counts: [DeliveryRecord.Status: Int] = [:]
            for row in try await connection.rows("SELECT status, COUNT(*) FROM deliveries GROUP BY status", logger) {
                if let status = DeliveryRecord.Status(rawValue: try row[0].decode(String.self)) {
                    counts[status] = try row[1].decode(Int.self)
                }
            }
            return counts
        }
    }

    public func triggerFirings(trigger: String?, limit: Int) async throws -> [TriggerFiring] {
        try await withConnection { [logger] connection in
            try await connection.records(
                TriggerFiringRow.self,
                """
                SELECT * FROM trigger_firings WHERE (CAST(\(trigger) AS TEXT) IS NULL OR trigger_id = \(trigger))
                ORDER BY fired_at DESC, entity_key LIMIT \(max(0, limit))
                """, logger
            ).map(\.record)
        }
    }
}
