public import Foundation

/// Almanac's own state: what was viewed, what changed in the catalog, what ran.
///
/// Unlike the search index or rendered artifacts, this is never derived and never
/// rebuilt; it is the one store whose loss loses information. It has two backends with
/// the same schema: SQLite (the embedded default) and PostgreSQL (for several portal
/// instances), and one contract test suite runs against each.
public protocol StateStore: Sendable {
    /// Applies pending migrations; safe to call on every start.
    func migrate() async throws
    /// The names of applied migrations, oldest first.
    func appliedMigrations() async throws -> [String]

    /// Records many views in one transaction (the portal buffers views and flushes them).
    func recordViews(_ views: [ViewEvent]) async throws
    /// Views per item (`kind/id`), optionally only since a date and only of one kind.
    func viewCounts(kind: String?, since: Date?) async throws -> [String: Int]
    /// The newest recorded views, newest first.
    func recentViews(limit: Int) async throws -> [ViewEvent]

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

    public init(kind: String, id: String, digest: String, title: String, owner: String?) {
        self.kind = kind
        self.id = id
        self.digest = digest
        self.title = title
        self.owner = owner
    }
}

/// Something that happened to a catalog object: it was added, changed, removed, or
/// (later) deprecated, retired or handed to another owner.
public struct LifecycleEvent: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Hashable, Codable, CaseIterable {
        case added, changed, removed, deprecated, retired, ownershipTransferred = "ownership_transferred"
    }
    public var id: Int64?
    public var itemKind: String
    public var itemID: String
    public var action: Action
    public var title: String
    public var actor: String?
    public var detail: String?
    public var catalogVersion: String?
    public var at: Date

    public init(
        id: Int64? = nil, itemKind: String, itemID: String, action: Action, title: String, actor: String? = nil,
        detail: String? = nil, catalogVersion: String? = nil, at: Date
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
    public init(_ description: String) { self.description = description }
}
