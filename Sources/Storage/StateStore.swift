public import Foundation
public import Scheduling

/// Almanac's own state: what was viewed, what changed in the catalog, what ran.
///
/// Unlike the search index or rendered artifacts, this is never derived and never
/// rebuilt; it is the one store whose loss loses information. It is the sum of one protocol per
/// concern (views, the lifecycle log, tokens, the outbox, the search log, runs, and the
/// scheduler's ``JobRunStore``), so a part of the portal can ask for only what it uses.
/// ``SQLiteStateStore`` is the embedded default and ``PostgresStateStore`` the store several
/// instances share; every backend must pass the contract suite in
/// `Tests/StorageTests/StateStoreContractTests.swift`.
public protocol StateStore: JobRunStore, ViewStore, LifecycleLog, APITokenStore, Outbox, SearchLog, RunLog {
    /// Applies pending migrations; safe to call on every start.
    func migrate() async throws
    /// The names of applied migrations, oldest first.
    func appliedMigrations() async throws -> [String]
}

/// Page views: the raw log and its daily running totals, per item and viewer.
public protocol ViewStore: Sendable {
    /// Records many views in one transaction (the portal buffers views and flushes them).
    func recordViews(_ views: [ViewEvent]) async throws
    /// Views per item (`kind/id`), optionally only since a date's UTC day and only of one kind.
    func viewCounts(kind: String?, since: Date?) async throws -> [String: Int]
    /// Views per item (`kind/id`) in each of `ranges` (UTC day numbers, see ``UsageDay``), in
    /// the ranges' order; of one kind, or one item, when given. Items without a view in any
    /// range are left out.
    func viewTotals(kind: String?, id: String?, in ranges: [ClosedRange<Int>]) async throws -> [String: [Int]]
    /// Distinct viewers of one item since each of `days` (UTC day numbers): those whose newest
    /// view of it is on or after that day.
    func uniqueViewers(kind: String, id: String, since days: [Int]) async throws -> [Int]
    /// Views of one item per UTC day within `range` (days without views are left out).
    func dailyViews(kind: String, id: String, in range: ClosedRange<Int>) async throws -> [Int: Int]
    /// The newest recorded views, newest first.
    func recentViews(limit: Int) async throws -> [ViewEvent]
}

/// What happened to each catalog object: the catalog's additions, changes and removals, and
/// the lifecycle actions people took.
public protocol LifecycleLog: Sendable {
    /// Compares the catalog's objects with the last ones seen and records what was added,
    /// changed or removed, in one transaction; returns the events it recorded.
    func syncCatalogItems(
        _ items: [CatalogItemState], catalogVersion: String, at: Date
    ) async throws
        -> [LifecycleEvent]
    /// The newest lifecycle events, optionally of one kind of item.
    func recentLifecycleEvents(kind: String?, limit: Int) async throws -> [LifecycleEvent]
    /// The lifecycle history of one item, newest first.
    func lifecycleEvents(kind: String, id: String) async throws -> [LifecycleEvent]
    /// Appends one lifecycle action (deprecate, retire, keep…); returns it with its id.
    func appendLifecycleEvent(_ event: LifecycleEvent) async throws -> LifecycleEvent
    /// Every lifecycle action (not the catalog's added/changed/removed), oldest first.
    func lifecycleActions() async throws -> [LifecycleEvent]
    /// The id of the newest lifecycle event (0 when there is none): a cheap "did anything happen".
    func latestLifecycleEventID() async throws -> Int64
    /// What the store remembers of each catalog object of `kind` (all kinds when `nil`), by kind and id.
    func catalogItemRecords(kind: String?) async throws -> [CatalogItemRecord]
}

/// API tokens, kept by the hash of their secret.
public protocol APITokenStore: Sendable {
    /// Stores a new API token under the SHA-256 of its secret (the secret itself is never kept).
    func createAPIToken(_ token: APITokenRecord, secretHash: String) async throws
    /// The token whose secret hashes to `secretHash`, revoked and expired ones included.
    func apiToken(secretHash: String) async throws -> APITokenRecord?
    /// Every token, newest first.
    func apiTokens() async throws -> [APITokenRecord]
    /// Revokes token `id`; `false` when there is no such token or it was already revoked.
    func revokeAPIToken(id: String, by actor: String, at date: Date) async throws -> Bool
    /// Notes that token `id` was used at `date` (never moves the time back).
    func recordAPITokenUse(id: String, at date: Date) async throws
}

/// Messages to send (e-mail, webhooks, tasks), each queued once by its key and leased to one
/// instance at a time; trigger firings and their cooldowns.
public protocol Outbox: Sendable {
    /// Adds messages to the outbox; those whose idempotency key is already there are left out.
    /// Returns how many were added.
    func enqueueDeliveries(_ deliveries: [DeliveryRecord]) async throws -> Int
    /// Records that `firing`'s trigger fired for its entity and queues its messages, in one
    /// transaction, unless another firing for that entity has a cooldown overlapping this one's
    /// (`false`: nothing was written).
    func fireTrigger(_ firing: TriggerFiring, deliveries: [DeliveryRecord]) async throws -> Bool
    /// Leases up to `limit` deliveries that are due (pending, or sending under an expired lease),
    /// optionally of one job only, to `instance` until `until`.
    func claimDueDeliveries(
        instance: String, now: Date, until: Date, limit: Int, job: String?
    ) async throws -> [DeliveryRecord]
    /// Extends `instance`'s lease on delivery `id` to `until`, right before an attempt; `false`
    /// when the lease is no longer this instance's (it expired and another took it over).
    func renewDeliveryLease(id: Int64, instance: String, now: Date, until: Date) async throws -> Bool
    /// Records one attempt and the delivery's new state; ignored unless `instance` still holds
    /// the lease (another instance took an expired one over).
    @discardableResult
    func finishDeliveryAttempt(
        _ attempt: DeliveryAttempt, status: DeliveryRecord.Status, nextAttemptAt: Date?
    ) async throws -> Bool
    /// The newest deliveries matching `query`.
    func deliveries(_ query: DeliveryQuery) async throws -> [DeliveryRecord]
    /// One delivery by id.
    func delivery(id: Int64) async throws -> DeliveryRecord?
    /// The attempts of one delivery, oldest first.
    func deliveryAttempts(id: Int64) async throws -> [DeliveryAttempt]
    /// How many deliveries are in each status.
    func deliveryStatusCounts() async throws -> [DeliveryRecord.Status: Int]
    /// The newest trigger firings, optionally of one trigger.
    func triggerFirings(trigger: String?, limit: Int) async throws -> [TriggerFiring]
}

/// What people searched for and opened, per day and normalised query (never who).
public protocol SearchLog: Sendable {
    /// Adds searches and result clicks, summed per day and query, in one transaction.
    func recordSearchActivity(_ activity: SearchActivity) async throws
    /// Queries searched since `day` (a ``UsageDay``), most searched first, with their clicks.
    func searchQueries(since day: Int, limit: Int) async throws -> [SearchQueryStats]
    /// Clicks per query and item since `day`: `[query: [item: clicks]]`.
    func searchClicks(since day: Int) async throws -> [String: [String: Int]]
}

/// Long work that ran (generations, index builds), for the admin pages.
public protocol RunLog: Sendable {
    /// Records a finished run (a generation, a delivery batch, an index build).
    func recordRun(_ run: RunRecord) async throws
    /// The newest runs, optionally of one kind.
    func recentRuns(kind: String?, limit: Int) async throws -> [RunRecord]
}

extension StateStore {
    /// Records that someone opened an item's page.
    public func recordView(_ view: ViewEvent) async throws {
        try await recordViews([view])
    }
}

/// Searches and the results opened from them, counted in memory and written together; no
/// one's identity is part of them.
public struct SearchActivity: Sendable, Hashable {
    public struct Key: Sendable, Hashable {
        public var day: Int
        public var query: String
        public init(day: Int, query: String) {
            self.day = day
            self.query = query
        }
    }
    public struct Click: Sendable, Hashable {
        public var day: Int
        public var query: String
        /// `kind/id`, or `template/id?parameter=value` for an entity value.
        public var item: String
        public init(day: Int, query: String, item: String) {
            self.day = day
            self.query = query
            self.item = item
        }
    }
    public struct Counts: Sendable, Hashable {
        public var searches = 0
        /// Of them, how many found nothing.
        public var zeroResults = 0
        public init(searches: Int = 0, zeroResults: Int = 0) {
            self.searches = searches
            self.zeroResults = zeroResults
        }
    }
    public var searches: [Key: Counts] = [:]
    public var clicks: [Click: Int] = [:]
    public var isEmpty: Bool { searches.isEmpty && clicks.isEmpty }
    public init() {}

    /// Adds `other`'s counts (a failed write put back in front of newer ones).
    public mutating func add(_ other: SearchActivity) {
        for (key, counts) in other.searches {
            searches[key, default: Counts()].searches += counts.searches
            searches[key, default: Counts()].zeroResults += counts.zeroResults
        }
        clicks.merge(other.clicks, uniquingKeysWith: +)
    }
}

/// One query's searches over a period.
public struct SearchQueryStats: Sendable, Hashable, Codable {
    public var query: String
    public var searches: Int
    public var zeroResults: Int
    public var clicks: Int
    /// The result opened most often after it, and how often.
    public var topItem: String?
    public var topItemClicks: Int
    public init(query: String, searches: Int, zeroResults: Int, clicks: Int, topItem: String?, topItemClicks: Int) {
        self.query = query
        self.searches = searches
        self.zeroResults = zeroResults
        self.clicks = clicks
        self.topItem = topItem
        self.topItemClicks = topItemClicks
    }
}

/// One view of a report, template render, metric page or external report page.
public struct ViewEvent: Sendable, Hashable, Codable {
    /// Where the viewer came from.
    public enum Source: String, Sendable, Hashable, Codable, CaseIterable {
        case search, home, email, direct
    }
    /// Whether a person looked at the page or a program read its JSON twin.
    public enum Channel: String, Sendable, Hashable, Codable, CaseIterable {
        case page, api
    }

    public var itemKind: String
    public var itemID: String
    /// The viewer's user name; `nil` for the anonymous local developer.
    public var viewer: String?
    public var viewedAt: Date
    /// For template renders: a digest of the parameter values (the same values, the same hash).
    public var parametersHash: String?
    public var source: Source
    public var channel: Channel

    public init(
        itemKind: String, itemID: String, viewer: String?, viewedAt: Date, parametersHash: String? = nil,
        source: Source = .direct, channel: Channel = .page
    ) {
        self.itemKind = itemKind
        self.itemID = itemID
        self.viewer = viewer
        self.viewedAt = viewedAt
        self.parametersHash = parametersHash
        self.source = source
        self.channel = channel
    }
}

/// What the state store remembers of one catalog object between loads.
public struct CatalogItemState: Sendable, Hashable, Codable {
    public var kind: String
    public var id: String
    /// A digest of the object's file; a different digest means the object changed.
    public var digest: String
    public var title: String
    public var owner: String?
    /// The lifecycle fields the file declares, by field (`status`, `owner`, `certified`), each
    /// as text; the store notes when each one changes (``CatalogItemRecord/declaredMarks``).
    public var declared: [String: String]
    /// Who may see the object: every list must admit the viewer (an empty list admits
    /// everyone). Kept on its removal event for the tombstone.
    public var access: [[String]]

    public init(
        kind: String, id: String, digest: String, title: String, owner: String?, declared: [String: String] = [:],
        access: [[String]] = []
    ) {
        self.kind = kind
        self.id = id
        self.digest = digest
        self.title = title
        self.owner = owner
        self.declared = declared
        self.access = access
    }
}

/// A catalog object as the state store remembers it.
public struct CatalogItemRecord: Sendable, Hashable, Codable {
    public var kind: String
    public var id: String
    public var title: String
    /// When the portal first saw the object: its age for the retirement policy.
    public var firstSeenAt: Date
    /// Per lifecycle field, the id of the newest lifecycle event when the file last changed
    /// that field (absent: never seen to change). Actions up to it may give way to the file.
    public var declaredMarks: [String: Int64]

    public init(
        kind: String, id: String, title: String, firstSeenAt: Date, declaredMarks: [String: Int64] = [:]
    ) {
        self.kind = kind
        self.id = id
        self.title = title
        self.firstSeenAt = firstSeenAt
        self.declaredMarks = declaredMarks
    }
}

/// Usage figures count whole UTC days: day `n` is unix time `n × 86400` to `(n+1) × 86400`.
public enum UsageDay {
    public static func of(_ date: Date) -> Int { Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) }
    /// The last `days` days ending on (and including) `date`'s day.
    public static func last(_ days: Int, endingOn date: Date) -> ClosedRange<Int> {
        let today = of(date)
        return (today - max(1, days) + 1)...today
    }
    /// The `days` days before the last `days` (the period a trend compares with).
    public static func previous(_ days: Int, endingOn date: Date) -> ClosedRange<Int> {
        let current = last(days, endingOn: date)
        return (current.lowerBound - max(1, days))...(current.lowerBound - 1)
    }
    public static func start(of day: Int) -> Date { Date(timeIntervalSince1970: Double(day) * 86_400) }
}

/// Something that happened to a catalog object: the catalog added, changed or removed it,
/// someone acted on it (deprecated, retired, restored, transferred, certified, kept), or the
/// retirement review flagged it.
public struct LifecycleEvent: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        /// Recorded by the catalog sync.
        case added, changed, removed
        /// Lifecycle actions of people (and the review's automatic deprecation).
        case activated, deprecated, retired, restored
        case ownershipTransferred = "ownership_transferred"
        case certified, uncertified
        /// "Keep": the owners want a retirement candidate; it leaves the list until `value` (a date).
        case kept
        /// The retirement review found the item a candidate, or no longer one.
        case flagged, unflagged

        /// Whether the catalog sync records it (the rest are actions and reviews).
        public var isCatalogSync: Bool { self == .added || self == .changed || self == .removed }
    }
    public var id: Int64?
    public var itemKind: String
    public var itemID: String
    public var action: Action
    public var title: String
    /// Who acted; `nil` for the catalog sync and the retirement review.
    public var actor: String?
    /// Why: the reason given for a deprecation or retirement, or what the review found.
    public var detail: String?
    public var catalogVersion: String?
    public var at: Date
    /// The id of the item to use instead (deprecate, retire).
    public var replacement: String?
    /// The new owner team (transfer) or the snooze's end as `YYYY-MM-DD` (keep).
    public var value: String?
    /// Removal events: who could see the object (as ``CatalogItemState/access``); `nil` when
    /// the store did not know (removed before it was recorded).
    public var access: [[String]]? = nil

    public init(
        id: Int64? = nil, itemKind: String, itemID: String, action: Action, title: String, actor: String? = nil,
        detail: String? = nil, catalogVersion: String? = nil, at: Date, replacement: String? = nil,
        value: String? = nil, access: [[String]]? = nil
    ) {
        self.id = id
        self.itemKind = itemKind
        self.itemID = itemID
        self.action = action
        self.title = title
        self.actor = actor
        self.detail = detail
        self.catalogVersion = catalogVersion
        self.at = at
        self.replacement = replacement
        self.value = value
        self.access = access
    }
}

/// One run of long work, as shown on the admin pages.
public struct RunRecord: Sendable, Hashable, Codable {
    public var id: Int64?
    /// `generation`, `delivery`, `index`, …
    public var kind: String
    /// What ran, e.g. a report id.
    public var target: String
    public var startedAt: Date
    public var durationMilliseconds: Int
    public var rows: Int
    public var bytes: Int
    /// `nil` when the run succeeded.
    public var error: String?

    public init(
        id: Int64? = nil, kind: String, target: String, startedAt: Date, durationMilliseconds: Int, rows: Int = 0,
        bytes: Int = 0, error: String? = nil
    ) {
        self.id = id
        self.kind = kind
        self.target = target
        self.startedAt = startedAt
        self.durationMilliseconds = durationMilliseconds
        self.rows = rows
        self.bytes = bytes
        self.error = error
    }
}

/// A state store location that cannot be opened.
public struct StateStoreError: Error, CustomStringConvertible, Sendable {
    public var description: String
    /// PostgreSQL's SQLSTATE, when the server refused a statement.
    var sqlState: String?
    public init(_ description: String) { self.description = description }
}

/// An API token as the state store keeps it: everything but its secret.
public struct APITokenRecord: Sendable, Hashable, Codable {
    /// What a token may do: read every `/api` route (GET), act through `/api/lifecycle`, and
    /// use `/api/admin` (with an admin group among its groups).
    public enum Scope: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
        case read, lifecycle, admin
        public static func < (a: Scope, b: Scope) -> Bool {
            allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
        }
    }
    /// Public, for listing and revoking (`tok_…`).
    public var id: String
    /// What the token is for ("nightly export", "Marta's notebook").
    public var name: String
    /// Who acts with it: a person's e-mail or a service account's name; lifecycle actions and
    /// views are recorded under it.
    public var subject: String
    public var groups: [String]
    public var scopes: [Scope]
    public var createdBy: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var revokedAt: Date?
    public var revokedBy: String?

    public init(
        id: String, name: String, subject: String, groups: [String], scopes: [Scope], createdBy: String,
        createdAt: Date, expiresAt: Date? = nil, lastUsedAt: Date? = nil, revokedAt: Date? = nil,
        revokedBy: String? = nil
    ) {
        self.id = id
        self.name = name
        self.subject = subject
        self.groups = groups
        self.scopes = scopes
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revokedAt = revokedAt
        self.revokedBy = revokedBy
    }

    /// Whether the token works at `date`: not revoked, not expired.
    public func isValid(at date: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { date < $0 } ?? true)
    }
}
