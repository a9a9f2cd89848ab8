public import AlmanacCore
public import Foundation

/// An immutable, validated catalog: every reference in it resolves.
///
/// A running portal holds one at a time (see ``CatalogStore``) and swaps it whole when
/// a new version on disk validates, so a request never sees half an edit.
public struct Catalog: Sendable {
    public var settings: CatalogSettings
    public var teams: [Team]
    public var sources: [Source]
    public var metrics: [Metric]
    public var reports: [Report]
    public var templates: [Template]
    public var entities: [Entity]
    public var annotations: [Annotation]
    public var subscriptions: [Subscription]
    public var triggers: [Trigger]
    public var backends: [Backend]
    /// Where each object was defined.
    public var origins: [ItemKey: ItemOrigin]
    /// A digest of every file's bytes; equal digests mean equal catalog files.
    public var version: String
    /// A digest of the lifecycle overlay applied (see ``applying(_:)``); empty without one.
    public var overlayRevision: String = ""
    /// The files' version and the overlay's: what caches of pages and search key on.
    public var revision: String { overlayRevision.isEmpty ? version : "\(version)+\(overlayRevision)" }
    /// A digest of each object's file, to tell which objects an edit changed.
    public var itemDigests: [ItemKey: String]
    public var loadedAt: Date

    private var teamIndex: [TeamID: Int] = [:]
    private var sourceIndex: [SourceID: Int] = [:]
    private var metricIndex: [MetricID: Int] = [:]
    private var reportIndex: [ReportID: Int] = [:]
    private var templateIndex: [TemplateID: Int] = [:]
    private var entityIndex: [EntityID: Int] = [:]
    private var backendIndex: [BackendID: Int] = [:]

    public init(
        settings: CatalogSettings, teams: [Team] = [], sources: [Source] = [], metrics: [Metric] = [],
        reports: [Report] = [], templates: [Template] = [], entities: [Entity] = [], annotations: [Annotation] = [],
        subscriptions: [Subscription] = [], triggers: [Trigger] = [], backends: [Backend] = [],
        origins: [ItemKey: ItemOrigin] = [:], version: String = "", itemDigests: [ItemKey: String] = [:],
        loadedAt: Date = Date()
    ) {
        self.settings = settings
        self.teams = teams.sorted { $0.id < $1.id }
        self.sources = sources.sorted { $0.id < $1.id }
        self.metrics = metrics.sorted { $0.id < $1.id }
        self.reports = reports.sorted { $0.id < $1.id }
        self.templates = templates.sorted { $0.id < $1.id }
        self.entities = entities.sorted { $0.id < $1.id }
        self.annotations = annotations.sorted { ($0.date, $0.id) < ($1.date, $1.id) }
        self.subscriptions = subscriptions.sorted { $0.id < $1.id }
        self.triggers = triggers.sorted { $0.id < $1.id }
        self.backends = backends.sorted { $0.id < $1.id }
        self.origins = origins
        self.version = version
        self.itemDigests = itemDigests
        self.loadedAt = loadedAt
        teamIndex = Self.index(self.teams)
        sourceIndex = Self.index(self.sources)
        metricIndex = Self.index(self.metrics)
        reportIndex = Self.index(self.reports)
        templateIndex = Self.index(self.templates)
        entityIndex = Self.index(self.entities)
        backendIndex = Self.index(self.backends)
    }

    private static func index<T: Identifiable>(_ items: [T]) -> [T.ID: Int] {
        Dictionary(items.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func team(_ id: TeamID) -> Team? { teamIndex[id].map { teams[$0] } }
    public func source(_ id: SourceID) -> Source? { sourceIndex[id].map { sources[$0] } }
    public func metric(_ id: MetricID) -> Metric? { metricIndex[id].map { metrics[$0] } }
    public func report(_ id: ReportID) -> Report? { reportIndex[id].map { reports[$0] } }
    public func template(_ id: TemplateID) -> Template? { templateIndex[id].map { templates[$0] } }
    public func entity(_ id: EntityID) -> Entity? { entityIndex[id].map { entities[$0] } }
    public func backend(_ id: BackendID) -> Backend? { backendIndex[id].map { backends[$0] } }

    /// Whether the catalog holds the object `key` names (whoever may see it).
    public func contains(_ key: ItemKey) -> Bool { itemDigests[key] != nil || origins[key] != nil }

    /// How many objects of each kind the catalog holds.
    public var counts: [ItemKind: Int] {
        [
            .team: teams.count, .source: sources.count, .metric: metrics.count, .report: reports.count,
            .template: templates.count, .entity: entities.count, .annotation: annotations.count,
            .subscription: subscriptions.count, .trigger: triggers.count, .backend: backends.count,
        ]
    }
}
