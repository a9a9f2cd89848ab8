public import Foundation
public import Storage

// View models: what a page shows, already decided (access applied, URLs built, values
// formatted). Each is Encodable, so a page's JSON twin is the same model as JSON.

/// The frame around every page: who is looking, where they are, what the portal is.
public struct Layout: Encodable, Sendable {
    public struct NavItem: Encodable, Sendable {
        public var title: String
        public var url: String
        public var active: Bool
    }
    public var companyName: String
    public var title: String
    public var viewerName: String
    public var isAdmin: Bool
    public var nav: [NavItem]
    public var catalogVersion: String
    public var catalogBroken: Bool
    public var apiURL: String?
    public var searchText: String?
    public var cssURL: String
    public var jsURL: String
}

/// A page: its layout and its content model.
public struct Page<Content: Encodable & Sendable>: Encodable, Sendable {
    public var layout: Layout
    public var page: Content

    public init(layout: Layout, page: Content) {
        self.layout = layout
        self.page = page
    }
}

public struct TeamLink: Encodable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var url: String
}

public struct TagLink: Encodable, Sendable, Hashable {
    public var name: String
    public var url: String
    public var count: Int?
}

/// One catalog object in a list.
public struct ItemSummary: Encodable, Sendable {
    public var kind: String
    public var kindLabel: String
    public var id: String
    public var title: String
    public var url: String?
    public var description: String?
    public var owner: TeamLink?
    public var tags: [TagLink]
    public var status: String?
    public var certified: Bool
    public var restricted: Bool
    public var synonyms: [String]
    /// "used by 3 reports · 1,204 views in 30 days" (glossary and metric pages).
    public var usageText: String? = nil
}

public struct ChangeRow: Encodable, Sendable {
    public var title: String
    public var url: String?
    public var kindLabel: String
    public var action: String
    public var at: String
    public var ago: String
    /// Who acted (lifecycle actions), and why.
    public var actor: String?
    public var detail: String?
}

/// One entry of an item's history, as the state store's lifecycle log has it.
public struct ChangeEvent: Sendable {
    public var kind: String
    public var id: String
    /// In words: "added", "deprecated", "ownership transferred".
    public var action: String
    public var title: String
    public var at: Date
    public var actor: String?
    public var detail: String?

    public init(
        kind: String, id: String, action: String, title: String, at: Date, actor: String? = nil, detail: String? = nil
    ) {
        self.kind = kind
        self.id = id
        self.action = action
        self.title = title
        self.at = at
        self.actor = actor
        self.detail = detail
    }
}

public struct TeamCard: Encodable, Sendable {
    public var id: String
    public var name: String
    public var url: String
    public var description: String?
    public var reportCount: Int
    public var metricCount: Int
    public var memberCount: Int
    /// "3 reports · 1 metric · 4 people".
    public var countsText: String
}

public struct KindCount: Encodable, Sendable {
    public var label: String
    public var count: Int
    public var url: String
}

public struct HomeModel: Encodable, Sendable {
    public var counts: [KindCount]
    public var teams: [TeamCard]
    public var certifiedMetrics: [ItemSummary]
    public var recentChanges: [ChangeRow]
    /// Views in the last 30 days, most first; retired items and what the viewer may not see are left out.
    public var mostViewed: [ViewedRow]
    /// Read more this week than the week before.
    public var trending: [ViewedRow]
    public var tags: [TagLink]
}

public struct ViewedRow: Encodable, Sendable {
    public var title: String
    public var url: String
    public var kindLabel: String
    public var views: Int
    public var viewsText: String
}

public struct Facet: Encodable, Sendable {
    public var label: String
    public var count: Int
    public var url: String
    public var active: Bool
}

public struct BrowseModel: Encodable, Sendable {
    public var heading: String
    public var text: String?
    public var kind: String?
    public var team: String?
    public var tag: String?
    public var kinds: [Facet]
    public var teams: [Facet]
    public var tags: [Facet]
    public var items: [ItemSummary]
    public var total: Int
    public var clearURL: String
}

public struct FilterText: Encodable, Sendable {
    public var text: String
}

public struct PanelModel: Encodable, Sendable {
    public var title: String
    public var description: String?
    public var chart: String
    public var metricName: String?
    public var metricURL: String?
    public var restricted: Bool
    public var smoothing: String?
    public var bands: String?
    public var breakdown: String?
    public var comparison: String?
    public var annotationTags: [String]
    public var filters: [FilterText]
}

public struct MetricSummary: Encodable, Sendable {
    public var id: String
    public var name: String
    public var url: String
    public var description: String
    public var certified: Bool
    public var typeLabel: String
}

public struct LinkModel: Encodable, Sendable {
    public var title: String
    public var url: String
}

public struct ReportModel: Encodable, Sendable {
    public var id: String
    public var title: String
    public var description: String?
    public var status: String
    public var statusNote: String?
    public var owner: TeamLink?
    public var ownerEmail: String?
    public var schedule: String?
    public var scheduleText: String
    public var nextRun: String?
    public var grain: String
    public var range: String
    public var tags: [TagLink]
    public var panels: [PanelModel]
    public var metrics: [MetricSummary]
    public var links: [LinkModel]
    public var views: Int
    public var history: [ChangeRow]
    public var restrictedTo: [String]
    public var sourceFile: String?
    /// Why it was deprecated (or retired), and what to read instead.
    public var statusReason: String? = nil
    public var replacement: LinkModel? = nil
    /// Views and viewers over 7, 30 and 90 days with a sparkline (filled in by the portal).
    public var usage: UsageModel? = nil
    /// Lifecycle forms, for its owners and admins.
    public var controls: LifecycleControlsModel? = nil
    /// The generated dashboard (HTML rendered and escaped at generation time), when there is one.
    public var dashboardHTML: String?
    public var generatedAt: String?
    /// Why the latest generation failed, when there is no dashboard to show.
    public var dashboardError: String?
    /// Shown above a dashboard that may be out of date (its generator could not be asked).
    public var dashboardNotice: String? = nil
    /// External reports: the proxied page shown in a sandboxed frame, and the app's name.
    public var externalURL: String? = nil
    public var externalApp: String? = nil
}

public struct ParameterModel: Encodable, Sendable {
    public var name: String
    public var label: String
    public var type: String
    public var required: Bool
    public var values: [String]
    public var defaultValue: String?
    public var isEnum: Bool
    /// The value in the URL (or the default), for the form that generates the dashboard.
    public var value: String?
}

public struct TemplateModel: Encodable, Sendable {
    public var id: String
    public var title: String
    public var description: String?
    public var owner: TeamLink?
    public var entityName: String?
    public var grain: String
    public var range: String
    public var parameters: [ParameterModel]
    public var panels: [PanelModel]
    public var metrics: [MetricSummary]
    public var tags: [TagLink]
    public var restrictedTo: [String]
    public var sourceFile: String?
    /// The dashboard generated for the URL's parameter values.
    public var dashboardHTML: String?
    public var dashboardError: String?
    /// "workspace_id 1": what the dashboard shows.
    public var renderedFor: String?
}

public struct SourceModel: Encodable, Sendable {
    public var id: String
    public var name: String
    public var table: String
    public var origin: String?
    public var description: String?
    public var freshness: String?
    public var owner: TeamLink?
}

public struct MetricModel: Encodable, Sendable {
    public var id: String
    public var name: String
    public var description: String
    public var synonyms: [String]
    public var owner: TeamLink?
    public var certified: Bool
    public var type: String
    public var typeLabel: String
    public var definition: String
    public var source: SourceModel?
    public var column: String?
    public var timeColumn: String?
    public var window: String?
    public var numerator: MetricSummary?
    public var denominator: MetricSummary?
    public var filters: [FilterText]
    public var dimensions: [String]
    public var format: String
    public var unit: String?
    public var tags: [TagLink]
    public var reports: [ItemSummary]
    public var templates: [ItemSummary]
    public var derived: [MetricSummary]
    public var annotations: [AnnotationRow]
    public var views: Int
    public var restrictedTo: [String]
    public var sourceFile: String?
    public var status: String = "active"
    public var statusNote: String? = nil
    public var replacement: LinkModel? = nil
    /// "used by 3 reports · 1,204 views in 30 days".
    public var usageText: String? = nil
    public var usage: UsageModel? = nil
    public var controls: LifecycleControlsModel? = nil
    /// The SQL the metric compiles to, per dialect (filled in by the portal, which knows the warehouse).
    public var compiledSQL: [CompiledSQLModel]
    public var sqlExample: String?
}

/// A metric's compiled SQL in one dialect, as shown on its glossary page.
public struct CompiledSQLModel: Encodable, Sendable {
    public var dialect: String
    public var sql: String

    public init(dialect: String, sql: String) {
        self.dialect = dialect
        self.sql = sql
    }
}

public struct AnnotationRow: Encodable, Sendable {
    public var date: String
    public var title: String
    public var tags: [String]
}

public struct LetterGroup: Encodable, Sendable {
    public var letter: String
    public var metrics: [ItemSummary]
}

public struct GlossaryModel: Encodable, Sendable {
    public var count: Int
    public var certifiedCount: Int
    public var groups: [LetterGroup]
}

public struct MemberModel: Encodable, Sendable {
    public var name: String
    public var email: String?
    public var role: String
}

public struct PushRow: Encodable, Sendable {
    public var title: String
    public var detail: String
}

public struct TeamModel: Encodable, Sendable {
    public var id: String
    public var name: String
    public var description: String?
    public var email: String?
    public var slack: String?
    public var members: [MemberModel]
    public var reports: [ItemSummary]
    public var metrics: [ItemSummary]
    public var templates: [ItemSummary]
    public var sources: [SourceModel]
    public var subscriptions: [PushRow]
    public var triggers: [PushRow]
    public var tags: [TagLink]
}

public struct TeamsModel: Encodable, Sendable {
    public var teams: [TeamCard]
}

public struct DiagnosticRow: Encodable, Sendable {
    public var location: String
    public var severity: String
    public var message: String
    public var hint: String?
}

public struct AdminCatalogModel: Encodable, Sendable {
    public var directory: String
    public var version: String
    public var loadedAt: String
    public var lastCheckedAt: String
    public var isBroken: Bool
    public var rejectedAt: String?
    public var errors: [DiagnosticRow]
    public var warnings: [DiagnosticRow]
    public var counts: [KindCount]
}

public struct RunRow: Encodable, Sendable {
    public var kind: String
    public var target: String
    public var startedAt: String
    public var duration: String
    public var rows: Int
    public var bytes: Int
    public var error: String?
}

public struct AdminRunsModel: Encodable, Sendable {
    public var runs: [RunRow]
    public var failures: Int
}

/// The API tokens page: every token (never a secret), and the one just created, once.
public struct AdminTokensModel: Encodable, Sendable {
    /// A scope on the form: its name, what it allows, and whether it is ticked at first.
    public struct ScopeOption: Encodable, Sendable {
        public var name: String
        public var hint: String
        public var checked: Bool
        public init(name: String, hint: String, checked: Bool) {
            self.name = name
            self.hint = hint
            self.checked = checked
        }
    }
    public struct Row: Encodable, Sendable {
        public var token: APITokenRecord
        /// "active", "expired" or "revoked".
        public var state: String
        public var active: Bool
        /// Shown on the page: times in the catalog's time zone.
        public var createdText: String
        public var expiresText: String?
        public var lastUsedText: String?
        public var revokedText: String?

        public init(
            token: APITokenRecord, state: String, createdText: String, expiresText: String?, lastUsedText: String?,
            revokedText: String?
        ) {
            self.token = token
            self.state = state
            self.active = state == "active"
            self.createdText = createdText
            self.expiresText = expiresText
            self.lastUsedText = lastUsedText
            self.revokedText = revokedText
        }
    }
    public var tokens: [Row]
    /// The secret of the token just created: shown on this response only.
    public var createdSecret: String?
    public var created: Row?
    public var scopes: [ScopeOption]
    public var defaultDays: Int
    public var maximumDays: Int

    public init(
        tokens: [Row], createdSecret: String? = nil, created: Row? = nil, scopes: [ScopeOption], defaultDays: Int,
        maximumDays: Int
    ) {
        self.tokens = tokens
        self.createdSecret = createdSecret
        self.created = created
        self.scopes = scopes
        self.defaultDays = defaultDays
        self.maximumDays = maximumDays
    }
}

/// What an error page and an API error say.
public struct ErrorModel: Encodable, Sendable {
    public var ok: Bool = false
    public var status: Int
    public var title: String
    public var error: String
    public var hint: String?
    /// The request parameter at fault, when one is (a program can point at its field).
    public var parameter: String?
    public var requestID: String?

    public init(
        status: Int, title: String, error: String, hint: String? = nil, parameter: String? = nil,
        requestID: String? = nil
    ) {
        self.status = status
        self.title = title
        self.error = error
        self.hint = hint
        self.parameter = parameter
        self.requestID = requestID
    }
}
