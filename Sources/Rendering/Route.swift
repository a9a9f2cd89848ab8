public import AlmanacCore
public import Catalog

/// Every page of the portal, with its path; templates get URLs from here and never
/// concatenate them, and the Portal's router mounts the same paths.
public enum Route: Hashable, Sendable {
    case home
    case browse(BrowseFilter)
    case report(ReportID)
    case template(TemplateID)
    case glossary
    case metric(MetricID)
    case teams
    case team(TeamID)
    case adminCatalog
    case adminRuns
    /// What people searched for: no results, results nobody opens, what they open.
    case adminSearch
    case adminDeliveries
    /// API tokens: issue, list, revoke.
    case adminTokens
    /// The retirement candidates and usage of the viewer's teams' reports (one team, when given).
    case myReports(TeamID?)
    case search(SearchRequest)
    /// A template with its entity parameter filled in (an entity hit in search).
    case templateWith(TemplateID, parameter: String, value: String)
    case asset(String)

    /// The page's path, with its query string where it has one.
    public var path: String {
        switch self {
        case .home, .glossary, .teams, .adminCatalog, .adminRuns, .adminSearch, .adminDeliveries, .adminTokens:
            mount.rawValue
        case .browse(let filter): mount.rawValue + filter.queryString
        case .report(let id): mount.filled(id.rawValue)
        case .template(let id): mount.filled(id.rawValue)
        case .metric(let id): mount.filled(id.rawValue)
        case .team(let id): mount.filled(id.rawValue)
        case .myReports(let team):
            mount.rawValue + (team.map { "?team=\(URLEncoding.queryValue($0.rawValue))" } ?? "")
        case .search(let request): mount.rawValue + request.queryString
        case .templateWith(let id, let parameter, let value):
            mount.filled(id.rawValue) + "?\(URLEncoding.queryValue(parameter))=\(URLEncoding.queryValue(value))"
        case .asset(let name): mount.filled(name)
        }
    }

    /// The JSON twin of the page, where it has one: `/api` before the page's path and query
    /// (`/api/home` for `/`).
    public var apiPath: String? {
        guard mount.api != nil else { return nil }
        let path = self.path
        return path == "/" ? Mount.home.api : "/api" + path
    }

    /// The mounted path that serves this route.
    public var mount: Mount {
        switch self {
        case .home: .home
        case .browse: .browse
        case .report: .report
        case .template, .templateWith: .template
        case .glossary: .glossary
        case .metric: .metric
        case .teams: .teams
        case .team: .team
        case .adminCatalog: .adminCatalog
        case .adminRuns: .adminRuns
        case .adminSearch: .adminSearch
        case .adminDeliveries: .adminDeliveries
        case .adminTokens: .adminTokens
        case .myReports: .myReports
        case .search: .search
        case .asset: .asset
        }
    }

    /// The page of a catalog object, for kinds that have one.
    public static func item(_ key: ItemKey) -> Route? {
        switch key.kind {
        case .report: .report(ReportID(key.id))
        case .template: .template(TemplateID(key.id))
        case .metric: .metric(MetricID(key.id))
        case .team: .team(TeamID(key.id))
        default: nil
        }
    }
}

extension Route {
    /// Every path the portal serves, as the router writes it (`:id` stands for a value,
    /// `**` for the rest of the path). The router mounts exactly these (a test walks it), and
    /// ``Route`` builds every link from them, so a page cannot link to a path nothing serves.
    public enum Mount: String, CaseIterable, Hashable, Sendable {
        case home = "/"
        case browse = "/browse"
        case reports = "/reports"
        case report = "/reports/:id"
        case reportPanel = "/reports/:id/panels/:file"
        case reportData = "/reports/:id/data"
        case templates = "/templates"
        case template = "/templates/:id"
        case templatePanel = "/templates/:id/panels/:file"
        case templateData = "/templates/:id/data"
        case glossary = "/glossary"
        case metric = "/glossary/:id"
        case teams = "/teams"
        case team = "/teams/:id"
        case myReports = "/me/reports"
        case search = "/search"
        case suggest = "/suggest"
        case lifecycle = "/lifecycle/:kind/:id"
        case adminCatalog = "/admin/catalog"
        case adminRuns = "/admin/runs"
        case adminSearch = "/admin/search"
        case adminDeliveries = "/admin/deliveries"
        case adminTokens = "/admin/tokens"
        case adminToken = "/admin/tokens/:id"
        case adminTokenRevoke = "/admin/tokens/:id/revoke"
        case externalReport = "/x/:report"
        case externalReportPath = "/x/:report/**"
        case healthz = "/healthz"
        case readyz = "/readyz"
        case metrics = "/metrics"
        /// Static files, served by the file middleware rather than a route.
        case asset = "/static/**"

        /// The path with each `:name` (and a final `**`) replaced by `values`, in order.
        public func filled(_ values: String...) -> String {
            var remaining = values[...]
            var result = ""
            result.reserveCapacity(rawValue.utf8.count + values.reduce(0) { $0 + $1.utf8.count })
            var first = true
            for segment in rawValue.split(separator: "/", omittingEmptySubsequences: false) {
                if !first { result += "/" }
                first = false
                if segment.hasPrefix(":") || segment == "**", let value = remaining.popFirst() {
                    result += value
                } else {
                    result += segment
                }
            }
            return result
        }

        /// The page's path, or `nil` when only its JSON twin exists.
        public var page: String? {
            switch self {
            case .reportData, .templateData, .suggest, .adminToken, .asset: nil
            default: rawValue
            }
        }

        /// The JSON twin's path (`/api` before the page's, `/api/home` for `/`), or `nil` when
        /// there is none: panel files, report apps, health and metrics, static files.
        public var api: String? {
            switch self {
            case .home: "/api/home"
            case .reportPanel, .templatePanel, .externalReport, .externalReportPath, .healthz, .readyz, .metrics,
                .asset:
                nil
            default: "/api" + rawValue
            }
        }
    }
}

/// What the browse page lists: a kind, a team, a tag and a text filter, all optional.
public struct BrowseFilter: Hashable, Sendable, Codable {
    public var kind: ItemKind?
    public var team: TeamID?
    public var tag: String?
    public var text: String?

    public init(kind: ItemKind? = nil, team: TeamID? = nil, tag: String? = nil, text: String? = nil) {
        self.kind = kind
        self.team = team
        self.tag = tag
        self.text = text
    }

    var queryString: String {
        var parts: [String] = []
        if let kind { parts.append("kind=\(kind.rawValue)") }
        if let team { parts.append("team=\(team.rawValue)") }
        if let tag { parts.append("tag=\(URLEncoding.queryValue(tag))") }
        if let text, !text.isEmpty { parts.append("q=\(URLEncoding.queryValue(text))") }
        return parts.isEmpty ? "" : "?" + parts.joined(separator: "&")
    }

    /// The same filter with one facet replaced.
    public func with(kind: ItemKind?? = .none, team: TeamID?? = .none, tag: String?? = .none) -> BrowseFilter {
        var copy = self
        if case .some(let kind) = kind { copy.kind = kind }
        if case .some(let team) = team { copy.team = team }
        if case .some(let tag) = tag { copy.tag = tag }
        return copy
    }
}

public enum URLEncoding {
    /// Percent-encodes everything but unreserved characters (RFC 3986).
    public static func queryValue(_ text: String) -> String {
        var result: [UInt8] = []
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.append(byte)
            default:
                result.append(UInt8(ascii: "%"))
                result.append(hexDigits[Int(byte >> 4)])
                result.append(hexDigits[Int(byte & 0xF)])
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789ABCDEF".utf8)
}
