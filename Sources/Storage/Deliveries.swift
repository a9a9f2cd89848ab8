public import Foundation

/// One message to one recipient in the outbox: a digest e-mail, a webhook call, a task.
///
/// The message is rendered once, when the run is composed, and kept in ``payload``, so every
/// retry sends the same bytes with the same idempotency key.
public struct DeliveryRecord: Sendable, Hashable, Codable, Identifiable {
    public enum Status: String, Sendable, Hashable, Codable, CaseIterable {
        /// Waiting for its first attempt or for the next retry.
        case pending
        /// Leased by an instance that is sending it now.
        case sending
        case sent
        /// Gave up after the last retry, or the receiver refused it for good.
        case failed
        /// Composed but not sent, on purpose (a recipient without access); the error says why.
        case skipped
    }
    public enum Channel: String, Sendable, Hashable, Codable, CaseIterable {
        case email, webhook, task
    }
    public var id: Int64?
    /// Unique per message: a second composition of the same run adds nothing, and receivers
    /// see it as the Message-ID or the `Idempotency-Key` header.
    public var key: String
    /// The job that composed it: `subscription/daily-signups`, `trigger/upgrade-opportunity`.
    public var job: String
    public var scheduledFor: Date
    public var channel: Channel
    /// An e-mail address or a URL.
    public var recipient: String
    /// The e-mail subject or the task's name, for the log.
    public var subject: String
    /// The rendered message (JSON).
    public var payload: String
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date
    public var claimedBy: String?
    public var claimedUntil: Date?
    public var lastError: String?
    public var createdAt: Date
    public var sentAt: Date?

    public init(
        id: Int64? = nil, key: String, job: String, scheduledFor: Date, channel: Channel, recipient: String,
        subject: String, payload: String, status: Status = .pending, attempts: Int = 0, nextAttemptAt: Date,
        claimedBy: String? = nil, claimedUntil: Date? = nil, lastError: String? = nil, createdAt: Date,
        sentAt: Date? = nil
    ) {
        self.id = id
        self.key = key
        self.job = job
        self.scheduledFor = scheduledFor
        self.channel = channel
        self.recipient = recipient
        self.subject = subject
        self.payload = payload
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.claimedBy = claimedBy
        self.claimedUntil = claimedUntil
        self.lastError = lastError
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}

/// One attempt to send a delivery.
public struct DeliveryAttempt: Sendable, Hashable, Codable {
    public enum Outcome: String, Sendable, Hashable, Codable, CaseIterable {
        case sent
        /// Failed; another attempt is scheduled.
        case retry
        /// Failed for good.
        case failed
    }
    public var deliveryID: Int64
    /// 1 for the first attempt.
    public var attempt: Int
    public var instance: String
    public var startedAt: Date
    public var finishedAt: Date
    public var outcome: Outcome
    public var error: String?

    public init(
        deliveryID: Int64, attempt: Int, instance: String, startedAt: Date, finishedAt: Date, outcome: Outcome,
        error: String? = nil
    ) {
        self.deliveryID = deliveryID
        self.attempt = attempt
        self.instance = instance
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.outcome = outcome
        self.error = error
    }
}

/// Which deliveries to list.
public struct DeliveryQuery: Sendable, Hashable {
    public var job: String?
    public var status: DeliveryRecord.Status?
    public var limit: Int

    public init(job: String? = nil, status: DeliveryRecord.Status? = nil, limit: Int = 100) {
        self.job = job
        self.status = status
        self.limit = limit
    }
}

/// A trigger's condition held for one entity (a customer, a campaign) at one scheduled check.
public struct TriggerFiring: Sendable, Hashable, Codable {
    public var trigger: String
    public var entityKey: String
    public var entityLabel: String
    /// The scheduled time of the check that fired.
    public var firedAt: Date
    /// The trigger stays quiet for this entity until then.
    public var cooldownUntil: Date
    /// The numbers that fired, for the log.
    public var detail: String?

    public init(
        trigger: String, entityKey: String, entityLabel: String, firedAt: Date, cooldownUntil: Date,
        detail: String? = nil
    ) {
        self.trigger = trigger
        self.entityKey = entityKey
        self.entityLabel = entityLabel
        self.firedAt = firedAt
        self.cooldownUntil = cooldownUntil
        self.detail = detail
    }
}
