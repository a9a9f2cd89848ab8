import Foundation
import GRDB
import Scheduling

// The SQLite store's rows as GRDB records: one type per table, whose coding keys are the
// table's columns, converted to and from the public value types (which know nothing of GRDB,
// so that other backends can implement `StateStore` too) in one place per type.
//
// The schema is the migrations' (`StateMigrations`), unchanged: times are REAL seconds since
// 1970, enums are their raw values as text (a value this version does not know reads as the
// fallback the store always used), and lists and dictionaries are JSON in text columns.

/// A row of one of the state tables, read through GRDB's `Codable` support.
protocol StateRow: Codable, FetchableRecord, TableRecord, Sendable {}

extension StateRow {
    /// Every time column holds seconds since 1970 as a REAL.
    static func databaseDateDecodingStrategy(for column: String) -> DatabaseDateDecodingStrategy {
        .timeIntervalSince1970
    }
}

extension StateRow where Self: EncodableRecord {
    static func databaseDateEncodingStrategy(for column: String) -> DatabaseDateEncodingStrategy {
        .timeIntervalSince1970
    }
}

/// JSON in text columns, written with sorted keys so that equal values are equal text (the
/// catalog sync compares the stored text with the new one).
enum StoredJSON {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// `nil` when there is no text or it is not a `T`.
    static func decode<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        text.flatMap { try? JSONDecoder().decode(type, from: Data($0.utf8)) }
    }
}

/// A catalog object's kind and id, as a key.
struct ItemKey: Hashable, Sendable {
    var kind: String
    var id: String
}

/// `views`: the raw log of page views. Written by the batch path (`RowStatement`), read here.
struct ViewRow: StateRow {
    static let databaseTableName = "views"

    var itemKind: String
    var itemID: String
    var viewer: String?
    var viewedAt: Date
    var parametersHash: String?
    var source: String
    var channel: String

    enum CodingKeys: String, CodingKey {
        case itemKind = "item_kind"
        case itemID = "item_id"
        case viewer
        case viewedAt = "viewed_at"
        case parametersHash = "parameters_hash"
        case source, channel
    }

    var event: ViewEvent {
        ViewEvent(
            itemKind: itemKind, itemID: itemID, viewer: viewer, viewedAt: viewedAt, parametersHash: parametersHash,
            source: ViewEvent.Source(rawValue: source) ?? .direct,
            channel: ViewEvent.Channel(rawValue: channel) ?? .page)
    }
}

/// `catalog_items`: each catalog object as the last sync saw it.
struct CatalogItemRow: StateRow, PersistableRecord {
    static let databaseTableName = "catalog_items"

    var itemKind: String
    var itemID: String
    var digest: String
    var title: String
    var owner: String?
    var firstSeenAt: Date
    var changedAt: Date
    /// JSON `[field: text]`; `nil` in stores from before the fields were kept.
    var declared: String?
    /// JSON `[field: lifecycle event id]`.
    var declaredMarks: String?
    /// JSON `[[group]]`.
    var access: String?

    enum CodingKeys: String, CodingKey {
        case itemKind = "item_kind"
        case itemID = "item_id"
        case digest, title, owner
        case firstSeenAt = "first_seen_at"
        case changedAt = "changed_at"
        case declared
        case declaredMarks = "declared_marks"
        case access
    }

    /// An object seen for the first time at `date`; each field it declares is marked `mark`.
    init(_ item: CatalogItemState, at date: Date, mark: Int64) {
        itemKind = item.kind
        itemID = item.id
        digest = item.digest
        title = item.title
        owner = item.owner
        firstSeenAt = date
        changedAt = date
        declared = StoredJSON.encode(item.declared)
        declaredMarks = StoredJSON.encode(item.declared.mapValues { _ in mark })
        access = StoredJSON.encode(item.access)
    }

    var key: ItemKey { ItemKey(kind: itemKind, id: itemID) }
    /// The declared fields; `nil` when not known (or unreadable).
    var declaredFields: [String: String]? { StoredJSON.decode([String: String].self, declared) }
    var marks: [String: Int64] { StoredJSON.decode([String: Int64].self, declaredMarks) ?? [:] }
    var accessLists: [[String]]? { StoredJSON.decode([[String]].self, access) }

    var record: CatalogItemRecord {
        CatalogItemRecord(kind: itemKind, id: itemID, title: title, firstSeenAt: firstSeenAt, declaredMarks: marks)
    }
}

/// `lifecycle_events`: the catalog's additions, changes and removals, and people's actions.
struct LifecycleEventRow: StateRow, MutablePersistableRecord {
    static let databaseTableName = "lifecycle_events"

    var id: Int64?
    var itemKind: String
    var itemID: String
    var action: String
    var title: String
    var actor: String?
    var detail: String?
    var catalogVersion: String?
    var at: Date
    var replacement: String?
    var value: String?
    /// JSON `[[group]]`, on removal events.
    var access: String?

    enum CodingKeys: String, CodingKey {
        case id
        case itemKind = "item_kind"
        case itemID = "item_id"
        case action, title, actor, detail
        case catalogVersion = "catalog_version"
        case at, replacement, value, access
    }

    init(_ event: LifecycleEvent) {
        id = event.id
        itemKind = event.itemKind
        itemID = event.itemID
        action = event.action.rawValue
        title = event.title
        actor = event.actor
        detail = event.detail
        catalogVersion = event.catalogVersion
        at = event.at
        replacement = event.replacement
        value = event.value
        access = event.access.map { StoredJSON.encode($0) }
    }

    mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    var event: LifecycleEvent {
        LifecycleEvent(
            id: id, itemKind: itemKind, itemID: itemID, action: LifecycleEvent.Action(rawValue: action) ?? .changed,
            title: title, actor: actor, detail: detail, catalogVersion: catalogVersion, at: at,
            replacement: replacement, value: value, access: StoredJSON.decode([[String]].self, access))
    }
}

/// `job_runs`: one row per job and scheduled time (Scheduling's ``JobRunRecord``, which does
/// not depend on GRDB).
struct JobRunRow: StateRow, PersistableRecord {
    static let databaseTableName = "job_runs"

    var job: String
    var scheduledFor: Date
    var status: String
    var late: Bool
    var instance: String?
    var claimedAt: Date
    var finishedAt: Date?
    var detail: String?

    enum CodingKeys: String, CodingKey {
        case job
        case scheduledFor = "scheduled_for"
        case status, late, instance
        case claimedAt = "claimed_at"
        case finishedAt = "finished_at"
        case detail
    }

    init(_ run: JobRunRecord) {
        job = run.job
        scheduledFor = run.scheduledFor
        status = run.status.rawValue
        late = run.late
        instance = run.instance
        claimedAt = run.claimedAt
        finishedAt = run.finishedAt
        detail = run.detail
    }

    var record: JobRunRecord {
        JobRunRecord(
            job: job, scheduledFor: scheduledFor, status: JobRunRecord.Status(rawValue: status) ?? .failed, late: late,
            instance: instance, claimedAt: claimedAt, finishedAt: finishedAt, detail: detail)
    }
}

/// `runs`: long work that ran, for the admin pages.
struct RunRow: StateRow, PersistableRecord {
    static let databaseTableName = "runs"

    var id: Int64?
    var kind: String
    var target: String
    var startedAt: Date
    var durationMilliseconds: Int
    var rows: Int
    var bytes: Int
    var error: String?

    enum CodingKeys: String, CodingKey {
        case id, kind, target
        case startedAt = "started_at"
        case durationMilliseconds = "duration_ms"
        case rows, bytes, error
    }

    init(_ run: RunRecord) {
        id = run.id
        kind = run.kind
        target = run.target
        startedAt = run.startedAt
        durationMilliseconds = run.durationMilliseconds
        rows = run.rows
        bytes = run.bytes
        error = run.error
    }

    var record: RunRecord {
        RunRecord(
            id: id, kind: kind, target: target, startedAt: startedAt, durationMilliseconds: durationMilliseconds,
            rows: rows, bytes: bytes, error: error)
    }
}

/// `api_tokens`: everything about a token but its secret, kept by the secret's hash.
struct APITokenRow: StateRow, PersistableRecord {
    static let databaseTableName = "api_tokens"

    var id: String
    var name: String
    var subject: String
    var secretHash: String
    /// JSON `[group]`.
    var groups: String
    /// JSON `[scope]`.
    var scopes: String
    var createdBy: String
    var createdAt: Date
    var expiresAt: Date?
    var lastUsedAt: Date?
    var revokedAt: Date?
    var revokedBy: String?

    enum CodingKeys: String, CodingKey {
        case id, name, subject
        case secretHash = "secret_hash"
        case groups, scopes
        case createdBy = "created_by"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case lastUsedAt = "last_used_at"
        case revokedAt = "revoked_at"
        case revokedBy = "revoked_by"
    }

    /// A new token, as it is first written: not yet used, not revoked.
    init(creating token: APITokenRecord, secretHash: String) {
        id = token.id
        name = token.name
        subject = token.subject
        self.secretHash = secretHash
        groups = StoredJSON.encode(token.groups)
        scopes = StoredJSON.encode(token.scopes.map(\.rawValue))
        createdBy = token.createdBy
        createdAt = token.createdAt
        expiresAt = token.expiresAt
    }

    var record: APITokenRecord {
        APITokenRecord(
            id: id, name: name, subject: subject, groups: StoredJSON.decode([String].self, groups) ?? [],
            // A scope this version does not know grants nothing.
            scopes: (StoredJSON.decode([String].self, scopes) ?? []).compactMap(APITokenRecord.Scope.init(rawValue:)),
            createdBy: createdBy, createdAt: createdAt, expiresAt: expiresAt, lastUsedAt: lastUsedAt,
            revokedAt: revokedAt, revokedBy: revokedBy)
    }
}

/// `deliveries`: the outbox, one message to one recipient per row.
struct DeliveryRow: StateRow, PersistableRecord {
    static let databaseTableName = "deliveries"

    var id: Int64?
    var key: String
    var job: String
    var scheduledFor: Date
    var channel: String
    var recipient: String
    var subject: String
    var payload: String
    var status: String
    var attempts: Int
    var nextAttemptAt: Date
    var claimedBy: String?
    var claimedUntil: Date?
    var lastError: String?
    var createdAt: Date
    var sentAt: Date?

    enum CodingKeys: String, CodingKey {
        case id
        case key = "idempotency_key"
        case job
        case scheduledFor = "scheduled_for"
        case channel, recipient, subject, payload, status, attempts
        case nextAttemptAt = "next_attempt_at"
        case claimedBy = "claimed_by"
        case claimedUntil = "claimed_until"
        case lastError = "last_error"
        case createdAt = "created_at"
        case sentAt = "sent_at"
    }

    /// A message as it is queued: the outbox numbers it, and no instance holds it yet.
    init(queueing delivery: DeliveryRecord) {
        key = delivery.key
        job = delivery.job
        scheduledFor = delivery.scheduledFor
        channel = delivery.channel.rawValue
        recipient = delivery.recipient
        subject = delivery.subject
        payload = delivery.payload
        status = delivery.status.rawValue
        attempts = delivery.attempts
        nextAttemptAt = delivery.nextAttemptAt
        lastError = delivery.lastError
        createdAt = delivery.createdAt
        sentAt = delivery.sentAt
    }

    var record: DeliveryRecord {
        DeliveryRecord(
            id: id, key: key, job: job, scheduledFor: scheduledFor,
            channel: DeliveryRecord.Channel(rawValue: channel) ?? .email, recipient: recipient, subject: subject,
            payload: payload, status: DeliveryRecord.Status(rawValue: status) ?? .failed, attempts: attempts,
            nextAttemptAt: nextAttemptAt, claimedBy: claimedBy, claimedUntil: claimedUntil, lastError: lastError,
            createdAt: createdAt, sentAt: sentAt)
    }
}

/// `delivery_attempts`: every attempt to send one delivery.
struct DeliveryAttemptRow: StateRow, PersistableRecord {
    static let databaseTableName = "delivery_attempts"

    var deliveryID: Int64
    var attempt: Int
    var instance: String
    var startedAt: Date
    var finishedAt: Date
    var outcome: String
    var error: String?

    enum CodingKeys: String, CodingKey {
        case deliveryID = "delivery_id"
        case attempt, instance
        case startedAt = "started_at"
        case finishedAt = "finished_at"
        case outcome, error
    }

    init(_ attempt: DeliveryAttempt) {
        deliveryID = attempt.deliveryID
        self.attempt = attempt.attempt
        instance = attempt.instance
        startedAt = attempt.startedAt
        finishedAt = attempt.finishedAt
        outcome = attempt.outcome.rawValue
        error = attempt.error
    }

    var record: DeliveryAttempt {
        DeliveryAttempt(
            deliveryID: deliveryID, attempt: attempt, instance: instance, startedAt: startedAt,
            finishedAt: finishedAt, outcome: DeliveryAttempt.Outcome(rawValue: outcome) ?? .failed, error: error)
    }
}

/// `trigger_firings`: when a trigger fired for an entity, and until when it stays quiet for it.
/// Written by `fireTrigger`'s conditional insert, read here.
struct TriggerFiringRow: StateRow {
    static let databaseTableName = "trigger_firings"

    var trigger: String
    var entityKey: String
    var entityLabel: String
    var firedAt: Date
    var cooldownUntil: Date
    var detail: String?

    enum CodingKeys: String, CodingKey {
        case trigger = "trigger_id"
        case entityKey = "entity_key"
        case entityLabel = "entity_label"
        case firedAt = "fired_at"
        case cooldownUntil = "cooldown_until"
        case detail
    }

    var record: TriggerFiring {
        TriggerFiring(
            trigger: trigger, entityKey: entityKey, entityLabel: entityLabel, firedAt: firedAt,
            cooldownUntil: cooldownUntil, detail: detail)
    }
}
