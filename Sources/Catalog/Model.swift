public import AlmanacCore

/// The kinds of object a catalog holds; each lives in the folder of its plural name.
public enum ItemKind: String, CaseIterable, Hashable, Sendable, Codable, Comparable {
    case team, source, metric, report, template, entity, annotation, subscription, trigger, backend

    /// The catalog folder that holds this kind (`teams`, `metrics`, …).
    public var folder: String {
        switch self {
        case .entity: "entities"
        default: rawValue + "s"
        }
    }

    /// A heading for lists of this kind.
    public var pluralTitle: String {
        switch self {
        case .entity: "Entities"
        default: rawValue.prefix(1).uppercased() + rawValue.dropFirst() + "s"
        }
    }

    public init?(folder: String) {
        guard let kind = Self.allCases.first(where: { $0.folder == folder }) else { return nil }
        self = kind
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// Identifies any catalog object: its kind and id.
public struct ItemKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var kind: ItemKind
    public var id: String
    public init(_ kind: ItemKind, _ id: String) {
        self.kind = kind
        self.id = id
    }
    public var description: String { "\(kind.rawValue) '\(id)'" }
    public static func < (lhs: Self, rhs: Self) -> Bool { (lhs.kind, lhs.id) < (rhs.kind, rhs.id) }
}

/// Where an object was defined: its file and the position of each field, so that
/// cross-reference errors found after loading still point at the right line.
public struct ItemOrigin: Hashable, Sendable {
    public var file: String
    /// Field paths such as `panels[0].metric` to their positions.
    public var locations: [String: SourceLocation]

    public init(file: String, locations: [String: SourceLocation] = [:]) {
        self.file = file
        self.locations = locations
    }

    /// The position of `path`, or of its closest recorded parent, or the top of the file.
    public func location(_ path: String) -> SourceLocation {
        var current = Substring(path)
        while !current.isEmpty {
            if let location = locations[String(current)] { return location }
            guard let cut = current.lastIndex(where: { $0 == "." || $0 == "[" }) else { break }
            current = current[..<cut]
        }
        return SourceLocation(file: file)
    }
}

// MARK: - Settings

public enum SQLDialect: String, CaseIterable, Hashable, Sendable, Codable {
    case sqlite, postgres
}

public enum TimeGrain: String, CaseIterable, Hashable, Sendable, Codable {
    case day, week, month
}

/// `almanac.yaml`: what applies to the whole catalog.
public struct CatalogSettings: Hashable, Sendable, Codable {
    public var companyName: String
    public var companyDomain: String?
    public var timezone: String
    public var dialect: SQLDialect
    public var generationSchedule: String
    public var keepVersions: Int
    public var parallelism: Int
    /// When a report becomes a candidate for retirement (`retirement:` in almanac.yaml).
    public var retirement: RetirementPolicy
    public var allowedBackendHosts: [String]
    public var adminGroups: [String]
    public var defaultGrain: TimeGrain
    public var defaultRange: TimeSpan
    /// Groups of words or phrases that mean the same to search (`search.synonyms`).
    public var searchSynonyms: [[String]]
    /// When entity values are re-read from the warehouse, unless an entity says otherwise.
    public var entityRefreshSchedule: String

    public init(companyName: String) {
        self.companyName = companyName
        companyDomain = nil
        timezone = "UTC"
        dialect = .sqlite
        generationSchedule = "30 4 * * *"
        keepVersions = 7
        parallelism = 2
        retirement = RetirementPolicy()
        allowedBackendHosts = []
        adminGroups = []
        defaultGrain = .day
        defaultRange = TimeSpan(180, .days)
        searchSynonyms = []
        entityRefreshSchedule = "0 * * * *"
    }
}

/// A report is a candidate for retirement when it had fewer than ``fewerThan`` views in the
/// last ``window`` and the catalog has held it longer than ``olderThan``.
public struct RetirementPolicy: Hashable, Sendable, Codable {
    /// Fewer views than this in ``window`` makes a report a candidate.
    public var fewerThan: Int = 5
    public var window: TimeSpan = TimeSpan(90, .days)
    /// Reports younger than this are never candidates (nobody has had the chance to read them).
    public var olderThan: TimeSpan = TimeSpan(60, .days)
    /// How long "keep" takes a candidate off the list.
    public var keepFor: TimeSpan = TimeSpan(90, .days)
    /// When set, a candidate nobody kept is deprecated this long after it was first flagged.
    public var autoDeprecateAfter: TimeSpan? = nil

    public init() {}
}

// MARK: - Teams

public struct Team: Hashable, Sendable, Codable, Identifiable {
    public enum Role: String, CaseIterable, Hashable, Sendable, Codable {
        case lead, analyst, engineer, member
    }
    public struct Member: Hashable, Sendable, Codable {
        public var name: String
        public var email: String?
        public var role: Role
    }
    public var id: TeamID
    public var name: String
    public var description: String?
    public var email: String?
    public var slack: String?
    public var members: [Member]
    public var tags: [String]
    public var access: [String]

    /// Whether `viewer` belongs to the team: a member's e-mail (or its local part) is the
    /// viewer's user name, or the SSO proxy puts the viewer in a group named like the team.
    public func includes(_ viewer: Viewer) -> Bool {
        if let teams = viewer.memberOf { return teams.contains(id.rawValue) }
        if viewer.groups.contains(id.rawValue) { return true }
        guard let user = viewer.user?.lowercased(), !user.isEmpty else { return false }
        return members.contains { member in
            guard let email = member.email?.lowercased() else { return false }
            return email == user || (!user.contains("@") && email.split(separator: "@").first.map(String.init) == user)
        }
    }
}

// MARK: - Sources

public enum ColumnType: String, CaseIterable, Hashable, Sendable, Codable {
    case integer, number, string, boolean, date, timestamp
}

public struct Source: Hashable, Sendable, Codable, Identifiable {
    public struct Column: Hashable, Sendable, Codable {
        public var name: SQLIdentifier
        public var type: ColumnType
        public var description: String?
    }
    public struct Dimension: Hashable, Sendable, Codable {
        public var id: DimensionID
        public var column: SQLIdentifier
        public var label: String
    }
    public struct Freshness: Hashable, Sendable, Codable {
        public var column: SQLIdentifier
        public var expectedWithin: TimeSpan
    }
    public var id: SourceID
    public var name: String
    public var description: String?
    public var owner: TeamID
    public var origin: String?
    public var table: SQLIdentifier
    public var timeColumn: SQLIdentifier?
    public var freshness: Freshness?
    public var columns: [Column]
    public var dimensions: [Dimension]
    public var tags: [String]
    public var access: [String]

    public func column(named name: String) -> Column? { columns.first { $0.name.name == name } }
    public func dimension(_ id: DimensionID) -> Dimension? { dimensions.first { $0.id == id } }
}

// MARK: - Filters

/// A literal in a filter; always bound as a parameter, never written into SQL.
public enum FilterValue: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The value as people read it: no quotes.
    public var plainText: String {
        switch self {
        case .string(let text): text
        case .list(let values): values.map(\.plainText).joined(separator: ", ")
        default: description
        }
    }

    case string(String)
    case integer(Int)
    case number(Double)
    case boolean(Bool)
    case list([FilterValue])

    public var description: String {
        switch self {
        case .string(let text): "'\(text)'"
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .boolean(let value): String(value)
        case .list(let values): "[" + values.map(\.description).joined(separator: ", ") + "]"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Bool.self) {
            self = .boolean(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .list(try container.decode([FilterValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .boolean(let value): try container.encode(value)
        case .list(let values): try container.encode(values)
        }
    }
}

public enum FilterOperator: String, CaseIterable, Hashable, Sendable, Codable {
    case eq, ne, `in`, notIn = "not_in", gt, gte, lt, lte, isNull = "is_null", notNull = "not_null"

    /// Whether the operator compares against a value (`is_null` and `not_null` do not).
    public var takesValue: Bool { self != .isNull && self != .notNull }
    /// Whether the value is a list.
    public var takesList: Bool { self == .in || self == .notIn }
}

/// `column op value`, or `column op <template parameter>` in templates.
public struct Filter: Hashable, Sendable, Codable {
    public var column: SQLIdentifier
    public var op: FilterOperator
    public var value: FilterValue?
    /// In templates: the parameter whose request value is compared.
    public var parameter: String?

    public init(column: SQLIdentifier, op: FilterOperator, value: FilterValue? = nil, parameter: String? = nil) {
        self.column = column
        self.op = op
        self.value = value
        self.parameter = parameter
    }
}

// MARK: - Metrics

public enum MetricType: String, CaseIterable, Hashable, Sendable, Codable {
    case count, countDistinct = "count_distinct", sum, avg, ratio, rollingDistinct = "rolling_distinct"

    /// Whether the type aggregates a column (everything but `count` and `ratio`).
    public var needsColumn: Bool {
        switch self {
        case .count, .ratio: false
        default: true
        }
    }
}

public enum ValueFormat: String, CaseIterable, Hashable, Sendable, Codable {
    case number, percent, currency, duration
}

public struct Metric: Hashable, Sendable, Codable, Identifiable {
    public var id: MetricID
    public var name: String
    public var description: String
    public var owner: TeamID
    public var synonyms: [String]
    public var certified: Bool
    /// `active` unless the owners deprecated or retired it.
    public var status: ReportStatus = .active
    /// Why it was deprecated or retired.
    public var statusReason: String? = nil
    /// The metric to use instead.
    public var replacedBy: MetricID? = nil
    public var source: SourceID
    public var type: MetricType
    public var column: SQLIdentifier?
    public var timeColumn: SQLIdentifier?
    public var window: TimeSpan?
    public var numerator: MetricID?
    public var denominator: MetricID?
    public var filters: [Filter]
    public var dimensions: [DimensionID]
    public var format: ValueFormat
    public var unit: String?
    public var tags: [String]
    public var access: [String]
    /// Whether a rise is good news (`better: higher`, the default) or bad (`better: lower`:
    /// errors, churn); digests colour changes by it.
    public var higherIsBetter: Bool = true
}

// MARK: - Reports and templates

public enum ChartKind: String, CaseIterable, Hashable, Sendable, Codable {
    case line, area, stackedArea = "stacked_area", bar, number, table
    /// Everyone in the population per period, stacked by how many days each was active.
    case ocean
    /// The columns of one row of a source, as label and value (a customer's plan, its owner).
    case facts
    /// Rows of a source as a table, newest first (billing history).
    case records
    /// A/B test results per arm and the cumulative lift over time.
    case experiment

    /// Whether the panel draws a metric (the other kinds read their own sources).
    public var usesMetric: Bool { self != .facts && self != .records }
}

public enum BandMethod: String, CaseIterable, Hashable, Sendable, Codable {
    case none, poisson, wilson, residual
}

public enum Comparison: String, CaseIterable, Hashable, Sendable, Codable {
    case none, previousPeriod = "previous_period", previousYear = "previous_year"
}

public struct Smoothing: Hashable, Sendable, Codable {
    public enum Method: String, CaseIterable, Hashable, Sendable, Codable {
        case trailing, centered
    }
    public var method: Method
    public var window: Int
}

/// What a `facts` or `records` panel reads: columns of a source's rows.
public struct RecordsSpec: Hashable, Sendable, Codable {
    public var source: SourceID
    public var columns: [SQLIdentifier]
    /// The column rows are sorted by, newest (largest) first; `nil`: the source's time column.
    public var order: SQLIdentifier?
    public var limit: Int

    public init(source: SourceID, columns: [SQLIdentifier], order: SQLIdentifier? = nil, limit: Int) {
        self.source = source
        self.columns = columns
        self.order = order
        self.limit = limit
    }
}

/// The engagement levels of an `ocean` panel.
public struct DepthSpec: Hashable, Sendable, Codable {
    /// A count metric of people joining (sign-ups); its running total is everyone there is.
    public var population: MetricID
    /// Active days in a period from which each level starts, ascending: `[1, 2, 4]` is
    /// light (1), regular (2–3) and power (4+); everyone else is dormant.
    public var levels: [Int]
    public var names: [String]

    public init(population: MetricID, levels: [Int], names: [String]) {
        self.population = population
        self.levels = levels
        self.names = names
    }
}

/// Where an `experiment` panel finds exposures and conversions.
public struct ExperimentSpec: Hashable, Sendable, Codable {
    /// Who saw which arm, and when (the source's time column).
    public var assignments: SourceID
    /// Conversions; a unit counts once, at its first conversion after its assignment.
    public var conversions: SourceID
    /// The column naming the unit of randomisation in both sources (`user_id`).
    public var unit: SQLIdentifier
    /// The assignment column naming the arm.
    public var arm: SQLIdentifier
    /// The control arm's value.
    public var control: String
    /// Further columns both sources share and that must match (`experiment_id`).
    public var match: [SQLIdentifier]
    /// Expected share of each arm for the sample-ratio check; empty: equal shares.
    public var split: [String: Double]

    public init(
        assignments: SourceID, conversions: SourceID, unit: SQLIdentifier, arm: SQLIdentifier, control: String,
        match: [SQLIdentifier], split: [String: Double]
    ) {
        self.assignments = assignments
        self.conversions = conversions
        self.unit = unit
        self.arm = arm
        self.control = control
        self.match = match
        self.split = split
    }
}

public struct Panel: Hashable, Sendable, Codable {
    public var title: String
    /// The metric drawn; `nil` only for `facts` and `records` panels, which read `records`.
    public var metric: MetricID?
    public var chart: ChartKind
    public var description: String?
    public var smoothing: Smoothing?
    public var bands: BandMethod
    public var breakdown: DimensionID?
    public var compare: Comparison
    public var annotationTags: [String]
    public var filters: [Filter]
    /// A shorter span than the report's, ending on the same day ("errors in the last 30 days").
    public var range: TimeSpan?
    public var records: RecordsSpec?
    public var depth: DepthSpec?
    public var experiment: ExperimentSpec?

    public init(
        title: String, metric: MetricID?, chart: ChartKind, description: String? = nil, smoothing: Smoothing? = nil,
        bands: BandMethod = .none, breakdown: DimensionID? = nil, compare: Comparison = .none,
        annotationTags: [String] = [], filters: [Filter] = [], range: TimeSpan? = nil, records: RecordsSpec? = nil,
        depth: DepthSpec? = nil, experiment: ExperimentSpec? = nil
    ) {
        self.title = title
        self.metric = metric
        self.chart = chart
        self.description = description
        self.smoothing = smoothing
        self.bands = bands
        self.breakdown = breakdown
        self.compare = compare
        self.annotationTags = annotationTags
        self.filters = filters
        self.range = range
        self.records = records
        self.depth = depth
        self.experiment = experiment
    }

    /// Every metric the panel reads, its own first.
    public var metrics: [MetricID] { [metric, depth?.population].compactMap { $0 } }
}

public struct Link: Hashable, Sendable, Codable {
    public var title: String
    public var url: String
}

/// Where a report or metric is in its life: draft → active → deprecated → retired.
public enum ReportStatus: String, CaseIterable, Hashable, Sendable, Codable {
    case draft, active, deprecated, retired

    /// Whether it is generated, listed and searchable (deprecated ones are, with a warning).
    public var isLive: Bool { self == .active || self == .deprecated }
}

/// What a report page shows.
public enum ReportKind: String, CaseIterable, Hashable, Sendable, Codable {
    /// Panels generated by Almanac each night.
    case dashboard
    /// A page of a report app a team runs, proxied under `/x/{report}/` from a catalog backend.
    case external
}

/// An aggregate dashboard, generated each night, or an external report app the portal fronts.
public struct Report: Hashable, Sendable, Codable, Identifiable {
    public var id: ReportID
    public var title: String
    public var description: String?
    public var owner: TeamID
    public var status: ReportStatus
    /// Why it was deprecated or retired.
    public var statusReason: String? = nil
    /// The report to read instead.
    public var replacedBy: ReportID? = nil
    public var schedule: String?
    public var grain: TimeGrain
    public var range: TimeSpan
    public var tags: [String]
    public var links: [Link]
    public var panels: [Panel]
    public var access: [String]
    /// Set by a template's `date_range` parameter: these days instead of `range` ending on the
    /// data's last day.
    public var fixedRange: ClosedRange<CalendarDay>? = nil
    public var kind: ReportKind = .dashboard
    /// External reports: the backend that serves them.
    public var backend: BackendID? = nil
    /// External reports: the page of the backend the report opens on (`/`, `/queues`).
    public var entry: String = "/"

    /// The distinct metrics the panels use, in panel order.
    public var metrics: [MetricID] {
        var seen = Set<MetricID>()
        return panels.flatMap(\.metrics).filter { seen.insert($0).inserted }
    }
}

public struct Parameter: Hashable, Sendable, Codable {
    public enum Kind: String, CaseIterable, Hashable, Sendable, Codable {
        case string, integer, date, `enum`, entity
        /// `90d`, `12w`, `6m`, `1y` (ending on the data's last day) or `2026-01-01..2026-03-31`.
        case dateRange = "date_range"
    }
    public var name: String
    public var type: Kind
    public var label: String
    public var required: Bool
    public var values: [String]
    public var defaultValue: String?
    /// For `entity` parameters: which entity the value names.
    public var entity: EntityID? = nil
    /// For `entity` parameters: the entity's column the value is matched on (`domain`);
    /// `nil`: its key. Filters receive the key either way.
    public var by: SQLIdentifier? = nil
}

/// A parameterized report, generated on demand.
public struct Template: Hashable, Sendable, Codable, Identifiable {
    public var id: TemplateID
    public var title: String
    public var description: String?
    public var owner: TeamID
    public var entity: EntityID?
    public var grain: TimeGrain
    public var range: TimeSpan
    public var parameters: [Parameter]
    public var panels: [Panel]
    public var tags: [String]
    public var access: [String]

    public var metrics: [MetricID] {
        var seen = Set<MetricID>()
        return panels.flatMap(\.metrics).filter { seen.insert($0).inserted }
    }
}

// MARK: - Entities, annotations

public struct Entity: Hashable, Sendable, Codable, Identifiable {
    public var id: EntityID
    public var name: String
    public var description: String?
    public var source: SourceID
    public var key: SQLIdentifier
    public var label: SQLIdentifier
    public var search: [SQLIdentifier]
    public var template: TemplateID
    public var parameter: String
    public var filters: [Filter]
    public var tags: [String]
    public var access: [String]
    /// Cron schedule for re-reading this entity's values for search; `nil`: the catalog default.
    public var refresh: String?
}

public struct Annotation: Hashable, Sendable, Codable, Identifiable {
    public var id: AnnotationID
    public var date: CalendarDay
    public var end: CalendarDay?
    public var title: String
    public var description: String?
    public var tags: [String]
    public var metrics: [MetricID]
    public var access: [String]
}

// MARK: - Push: subscriptions and triggers

public enum DeliveryChannel: String, CaseIterable, Hashable, Sendable, Codable {
    case email, webhook
}

/// A recipient: an e-mail address or a team (`team:growth`).
public enum Recipient: Hashable, Sendable, Codable, CustomStringConvertible {
    case email(String)
    case team(TeamID)
    case url(String)

    public var description: String {
        switch self {
        case .email(let address): address
        case .team(let team): "team:\(team)"
        case .url(let url): url
        }
    }
}

public struct Subscription: Hashable, Sendable, Codable, Identifiable {
    /// What one digest covers: the last complete day, week (Monday to Sunday) or month.
    public enum Period: String, CaseIterable, Hashable, Sendable, Codable {
        case day, week, month
    }
    public var id: SubscriptionID
    public var title: String
    public var description: String?
    public var owner: TeamID
    public var schedule: String
    public var channel: DeliveryChannel
    public var recipients: [Recipient]
    public var metrics: [MetricID]
    public var report: ReportID?
    public var compare: Comparison
    public var tags: [String]
    public var access: [String]
    /// `nil`: from the schedule (monthly cron: month, one weekday: week, else day).
    public var period: Period? = nil
    /// Each metric with this dimension also shows its largest values in the period
    /// (the sign-up email's referral sources).
    public var breakdown: DimensionID? = nil
}

public struct TriggerCondition: Hashable, Sendable, Codable {
    public enum Measure: String, CaseIterable, Hashable, Sendable, Codable {
        case value, change, pctChange = "pct_change"
    }
    public enum Operator: String, CaseIterable, Hashable, Sendable, Codable {
        case lt, lte, gt, gte
    }
    public var measure: Measure
    public var window: TimeSpan
    public var op: Operator
    public var threshold: Double
    /// Changes are only measured from an earlier value of at least this much (`min_base: 10`),
    /// so a workspace going from 1 weekly user to 2 is not "100% growth".
    public var minimumBase: Double? = nil
}

public struct TriggerAction: Hashable, Sendable, Codable {
    public enum Kind: String, CaseIterable, Hashable, Sendable, Codable {
        case task, webhook, email
    }
    /// Who gets a task: a column holding a person's e-mail (of the entity's source, or of
    /// another source with the entity's key column, such as the CRM's account owner), or a team.
    public enum Assignee: Hashable, Sendable, Codable {
        case column(SQLIdentifier, source: SourceID?)
        case team(TeamID)
    }
    public var kind: Kind
    public var assignee: Assignee?
    /// A Mustache template over ``titlePlaceholders`` (the hit's name, change, values, metric).
    public var title: String
    /// What a title may say: `catalog check` refuses any other `{{name}}`, and Delivery fills
    /// in exactly these.
    public static let titlePlaceholders = ["label", "change", "value", "previous", "metric"]
    public var url: String?
    public var recipients: [Recipient]
    /// A task is due this long after the check that fired it (`due: 3d`).
    public var due: TimeSpan = TimeSpan(3, .days)
}

public struct Trigger: Hashable, Sendable, Codable, Identifiable {
    public var id: TriggerID
    public var title: String
    public var description: String?
    public var owner: TeamID
    public var entity: EntityID
    public var scope: [Filter]
    public var metric: MetricID
    public var condition: TriggerCondition
    public var schedule: String
    public var cooldown: TimeSpan
    public var action: TriggerAction
    public var tags: [String]
    public var access: [String]
}

// MARK: - Backends

/// A report app that a team already runs, fronted by the portal.
public struct Backend: Hashable, Sendable, Codable, Identifiable {
    public var id: BackendID
    public var title: String
    public var description: String?
    public var owner: TeamID
    public var url: String
    public var healthPath: String?
    public var timeout: TimeSpan
    public var tags: [String]
    public var access: [String]
}
