public import AlmanacCore

/// The one place that decides whether a viewer may see a catalog object.
///
/// Everything that lists, counts or shows catalog objects (pages, the JSON API, search,
/// digests) goes through ``CatalogView``, which applies this policy while it enumerates,
/// so a restricted object never reaches a page, a count or a facet.
public enum AccessPolicy {
    /// Whether `viewer` may see an object restricted to `groups` (no groups: everyone signed in).
    public static func allows(_ viewer: Viewer, groups: [String]) -> Bool {
        if viewer.isAdmin || groups.isEmpty { return true }
        return groups.contains { viewer.groups.contains($0) }
    }
}

/// A catalog as one viewer may see it.
///
/// Reports and templates are visible when their own `access` allows and their owner team
/// is visible; metrics likewise, and also require their source to be visible. Lists from
/// here are the only lists pages should use.
public struct CatalogView: Sendable {
    public let catalog: Catalog
    public let viewer: Viewer

    public init(_ catalog: Catalog, viewer: Viewer) {
        self.catalog = catalog
        self.viewer = viewer
    }

    private func allows(_ groups: [String]) -> Bool { AccessPolicy.allows(viewer, groups: groups) }

    public func canSee(_ team: Team) -> Bool { allows(team.access) }
    public func canSee(_ source: Source) -> Bool { allows(source.access) }
    public func canSee(_ metric: Metric) -> Bool {
        allows(metric.access) && (catalog.source(metric.source).map(canSee) ?? false)
    }
    /// An external report also needs its backend to be visible.
    public func canSee(_ report: Report) -> Bool { catalog.isVisible(report, to: viewer) }
    public func canSee(_ template: Template) -> Bool { allows(template.access) }
    public func canSee(_ entity: Entity) -> Bool {
        allows(entity.access) && (catalog.template(entity.template).map(canSee) ?? false)
    }
    public func canSee(_ annotation: Annotation) -> Bool { allows(annotation.access) }
    public func canSee(_ subscription: Subscription) -> Bool { allows(subscription.access) }
    public func canSee(_ trigger: Trigger) -> Bool { allows(trigger.access) }
    public func canSee(_ backend: Backend) -> Bool { allows(backend.access) }

    public var teams: [Team] { catalog.teams.filter(canSee) }
    public var sources: [Source] { catalog.sources.filter(canSee) }
    public var metrics: [Metric] { catalog.metrics.filter(canSee) }
    public var reports: [Report] { catalog.reports.filter(canSee) }
    public var templates: [Template] { catalog.templates.filter(canSee) }
    public var entities: [Entity] { catalog.entities.filter(canSee) }
    public var annotations: [Annotation] { catalog.annotations.filter(canSee) }
    public var subscriptions: [Subscription] { catalog.subscriptions.filter(canSee) }
    public var triggers: [Trigger] { catalog.triggers.filter(canSee) }
    public var backends: [Backend] { catalog.backends.filter(canSee) }

    public func team(_ id: TeamID) -> Team? { catalog.team(id).flatMap { canSee($0) ? $0 : nil } }
    public func source(_ id: SourceID) -> Source? { catalog.source(id).flatMap { canSee($0) ? $0 : nil } }
    public func metric(_ id: MetricID) -> Metric? { catalog.metric(id).flatMap { canSee($0) ? $0 : nil } }
    public func report(_ id: ReportID) -> Report? { catalog.report(id, visibleTo: viewer) }
    public func template(_ id: TemplateID) -> Template? { catalog.template(id).flatMap { canSee($0) ? $0 : nil } }
    public func entity(_ id: EntityID) -> Entity? { catalog.entity(id).flatMap { canSee($0) ? $0 : nil } }
    public func backend(_ id: BackendID) -> Backend? { catalog.backend(id).flatMap { canSee($0) ? $0 : nil } }

    /// Visible reports whose panels use `metric`.
    public func reports(using metric: MetricID) -> [Report] {
        catalog.reports.filter { $0.panels.contains { $0.metrics.contains(metric) } && canSee($0) }
    }
    /// Visible templates whose panels use `metric`.
    public func templates(using metric: MetricID) -> [Template] {
        catalog.templates.filter { $0.panels.contains { $0.metrics.contains(metric) } && canSee($0) }
    }
    /// Whether the viewer may see everything `panel` reads: its metrics (and a ratio's parts)
    /// and the sources of record and experiment panels.
    /// Whether the viewer may see `metric`'s numbers: the metric, its source, and a ratio's
    /// parts and their sources (what a digest or a trigger e-mail shows of it).
    public func canSeeNumbers(of metric: MetricID) -> Bool {
        canSee(Panel(title: "", metric: metric, chart: .line))
    }

    public func canSee(_ panel: Panel) -> Bool {
        var sources = [panel.records?.source, panel.experiment?.assignments, panel.experiment?.conversions]
            .compactMap { $0 }
        for id in panel.metrics {
            guard let metric = catalog.metric(id), canSee(metric) else { return false }
            for part in [metric.numerator, metric.denominator].compactMap({ $0 }) {
                guard let partMetric = catalog.metric(part), canSee(partMetric) else { return false }
                sources.append(partMetric.source)
            }
        }
        return sources.allSatisfy { catalog.source($0).map(canSee) ?? false }
    }

    /// The panels (numbered from 1) of `panels` the viewer may not see; they are left out of
    /// what is computed for this viewer, and the set is part of any cache key of the result.
    public func hiddenPanels(_ panels: [Panel]) -> Set<Int> {
        Set(panels.enumerated().filter { !canSee($0.element) }.map { $0.offset + 1 })
    }

    /// Visible ratio metrics built on `metric`.
    public func metrics(derivedFrom metric: MetricID) -> [Metric] {
        catalog.metrics.filter { ($0.numerator == metric || $0.denominator == metric) && canSee($0) }
    }

    /// Everything visible that `team` owns.
    public func owned(
        by team: TeamID
    ) -> (reports: [Report], metrics: [Metric], templates: [Template], sources: [Source]) {
        (
            reports.filter { $0.owner == team }, metrics.filter { $0.owner == team },
            templates.filter { $0.owner == team }, sources.filter { $0.owner == team }
        )
    }

    /// Tags in use on visible reports, templates and metrics, with how often each is used.
    public var tagCounts: [(tag: String, count: Int)] {
        var counts: [String: Int] = [:]
        for tag in reports.flatMap(\.tags) + templates.flatMap(\.tags) + metrics.flatMap(\.tags) {
            counts[tag, default: 0] += 1
        }
        return counts.map { ($0.key, $0.value) }.sorted { ($1.count, $0.tag) < ($0.count, $1.tag) }
    }
}

/// What a reader may see and act on, without who they are: the page a portal renders for one
/// reader is right for every reader of the same audience, so pages are cached per audience.
///
/// Everything ``AccessPolicy`` decides depends on the groups that some access list of the
/// catalog names (other groups change nothing) and on being an admin; owner controls and
/// drafts depend on the teams the reader belongs to. Those three make the audience.
public struct Audience: Hashable, Sendable {
    public let isAdmin: Bool
    /// The reader's groups that some access list of the catalog names, sorted.
    public let groups: [String]
    /// The teams the reader belongs to, sorted.
    public let teams: [String]

    public init(isAdmin: Bool, groups: [String], teams: [String]) {
        self.isAdmin = isAdmin
        self.groups = groups.sorted()
        self.teams = teams.sorted()
    }

    /// The same audience as far as a page that only asks about `teams` can tell: a page with
    /// owner controls for one team's item asks about that team; most pages ask about none.
    public func asking(about teams: Set<String>) -> Audience {
        // Asked on every request: most readers belong to no team the page asks about.
        if self.teams.isEmpty { return self }
        let kept = self.teams.filter(teams.contains)
        if kept.count == self.teams.count { return self }
        return Audience(isAdmin: isAdmin, sortedGroups: groups, sortedTeams: kept)
    }

    private init(isAdmin: Bool, sortedGroups: [String], sortedTeams: [String]) {
        self.isAdmin = isAdmin
        groups = sortedGroups
        teams = sortedTeams
    }

    /// A nameless reader with exactly this audience's rights: what pages are built for.
    public var reader: Viewer { Viewer(user: nil, groups: Set(groups), isAdmin: isAdmin, memberOf: Set(teams)) }
}

extension Catalog {
    /// Whether `viewer` may see `report` (``CatalogView/canSee(_:)-(Report)``).
    public func isVisible(_ report: Report, to viewer: Viewer) -> Bool {
        AccessPolicy.allows(viewer, groups: report.access)
            && (report.backend.map { backend($0).map { AccessPolicy.allows(viewer, groups: $0.access) } ?? false }
                ?? true)
    }

    /// ``CatalogView/report(_:)`` without building a view: the request path asks on every request.
    public func report(_ id: ReportID, visibleTo viewer: Viewer) -> Report? {
        report(id).flatMap { isVisible($0, to: viewer) ? $0 : nil }
    }

    /// Every group some access list of the catalog names: the only groups visibility depends on.
    public var accessGroups: Set<String> {
        var groups = Set<String>()
        for list in [
            teams.map(\.access), sources.map(\.access), metrics.map(\.access), reports.map(\.access),
            templates.map(\.access), entities.map(\.access), annotations.map(\.access),
            subscriptions.map(\.access), triggers.map(\.access), backends.map(\.access),
        ] {
            for access in list { groups.formUnion(access) }
        }
        return groups
    }

    /// The audience `viewer` belongs to in this catalog; `accessGroups` may be passed when
    /// already computed (it is the same for every viewer).
    public func audience(of viewer: Viewer, accessGroups: Set<String>? = nil) -> Audience {
        let named = accessGroups ?? self.accessGroups
        return Audience(
            isAdmin: viewer.isAdmin, groups: Array(viewer.groups.intersection(named)),
            teams: teams.filter { $0.includes(viewer) }.map(\.id.rawValue))
    }
}
