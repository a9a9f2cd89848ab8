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
        case .home: "/"
        case .browse(let filter): "/browse" + filter.queryString
        case .report(let id): "/reports/\(id.rawValue)"
        case .template(let id): "/templates/\(id.rawValue)"
        case .glossary: "/glossary"
        case .metric(let id): "/glossary/\(id.rawValue)"
        case .teams: "/teams"
        case .team(let id): "/teams/\(id.rawValue)"
        case .adminCatalog: "/admin/catalog"
        case .adminRuns: "/admin/runs"
        case .adminSearch: "/admin/search"
        case .adminDeliveries: "/admin/deliveries"
        case .adminTokens: "/admin/tokens"
        case .myReports(let team): "/me/reports" + (team.map { "?team=\(URLEncoding.queryValue($0.rawValue))" } ?? "")
        case .search(let request): "/search" + request.queryString
        case .templateWith(let id, let parameter, let value):
            "/templates/\(id.rawValue)?\(URLEncoding.queryValue(parameter))=\(URLEncoding.queryValue(value))"
        case .asset(let name): "/static/\(name)"
        }
    }

    /// The JSON twin of the page, where it has one.
    public var apiPath: String? {
        switch self {
        case .home: "/api/home"
        case .browse(let filter): "/api/browse" + filter.queryString
        case .report(let id): "/api/reports/\(id.rawValue)"
        case .template(let id): "/api/templates/\(id.rawValue)"
        case .glossary: "/api/glossary"
        case .metric(let id): "/api/glossary/\(id.rawValue)"
        case .teams: "/api/teams"
        case .team(let id): "/api/teams/\(id.rawValue)"
        case .adminCatalog: "/api/admin/catalog"
        case .adminRuns: "/api/admin/runs"
        case .adminSearch: "/api/admin/search"
        case .adminDeliveries: "/api/admin/deliveries"
        case .adminTokens: "/api/admin/tokens"
        case .myReports(let team):
            "/api/me/reports" + (team.map { "?team=\(URLEncoding.queryValue($0.rawValue))" } ?? "")
        case .search(let request): "/api/search" + request.queryString
        case .templateWith(let id, _, _): "/api/templates/\(id.rawValue)"
        case .asset: nil
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

enum URLEncoding {
    /// Percent-encodes everything but unreserved characters (RFC 3986).
    static func queryValue(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                result.append(Character(UnicodeScalar(byte)))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return result
    }
}
