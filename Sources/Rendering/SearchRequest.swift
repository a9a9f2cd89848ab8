import AlmanacCore
import Foundation

/// The filters a search URL can carry besides its text (the same ones can be typed into `q`
/// as `kind:report`).
public enum SearchFilter: String, CaseIterable, Hashable, Sendable, Codable {
    case kind, team, tag, status

    /// The facet's heading on the results page.
    public var label: String {
        switch self {
        case .kind: "Kind"
        case .team: "Team"
        case .tag: "Tag"
        case .status: "Status"
        }
    }
}

/// A search as the URL carries it: `q` plus optional filters (``SearchFilter``), paging and
/// `debug`.
public struct SearchRequest: Hashable, Sendable {
    public var text: String
    public var filters: [SearchFilter: String]
    public var limit: Int
    public var offset: Int
    public var debug: Bool

    public static let defaultLimit = 20

    public init(
        text: String, kind: String? = nil, team: String? = nil, tag: String? = nil, status: String? = nil,
        limit: Int = SearchRequest.defaultLimit, offset: Int = 0, debug: Bool = false
    ) {
        self.text = text
        var filters: [SearchFilter: String] = [:]
        filters[.kind] = kind
        filters[.team] = team
        filters[.tag] = tag
        filters[.status] = status
        self.filters = filters
        self.limit = limit
        self.offset = offset
        self.debug = debug
    }

    public var kind: String? { filters[.kind] }
    public var team: String? { filters[.team] }
    public var tag: String? { filters[.tag] }
    public var status: String? { filters[.status] }

    var queryString: String {
        var query = "?q="
        query.reserveCapacity(64 + text.utf8.count)
        query += URLEncoding.queryValue(text)
        for filter in SearchFilter.allCases {
            if let value = filters[filter] { query += Self.parameter(filter, value) }
        }
        return query + pagingParameters
    }

    /// The search page's path with `filter` set to each of `values` (`nil` clears it), as
    /// `Route.search(…).path` writes it: a results page links every facet value, so the parts
    /// the links share are encoded once.
    public func paths(setting filter: SearchFilter, to values: [String?]) -> [String] {
        var head = Route.Mount.search.rawValue + "?q=" + URLEncoding.queryValue(text)
        var tail = ""
        var isAfter = false
        for other in SearchFilter.allCases {
            if other == filter {
                isAfter = true
            } else if let value = filters[other] {
                if isAfter { tail += Self.parameter(other, value) } else { head += Self.parameter(other, value) }
            }
        }
        tail += pagingParameters
        return values.map { value in value.map { head + Self.parameter(filter, $0) + tail } ?? head + tail }
    }

    private static func parameter(_ filter: SearchFilter, _ value: String) -> String {
        "&" + filter.rawValue + "=" + URLEncoding.queryValue(value)
    }

    private var pagingParameters: String {
        var query = ""
        if limit != Self.defaultLimit { query += "&limit=" + String(limit) }
        if offset > 0 { query += "&offset=" + String(offset) }
        if debug { query += "&debug=1" }
        return query
    }

    /// The same search with one filter set or cleared, from the first page. A filter of the
    /// same key typed into the text goes too, so clicking a facet switches rather than adds.
    public func with(_ filter: SearchFilter, _ value: String?) -> SearchRequest {
        var copy = self
        copy.offset = 0
        copy.text = Self.removingTypedFilter(filter.rawValue, from: text)
        copy.filters[filter] = value
        return copy
    }

    /// `text` without its `key:value` and `key:"a value"` chunks.
    public static func removingTypedFilter(_ key: String, from text: String) -> String {
        // Most texts hold no filter at all: for ASCII text a byte search decides that before the
        // expression (other text goes to the expression, whose case folding is Unicode's).
        guard text.containsIgnoringASCIICase(key + ":") || text.utf8.contains(where: { $0 >= 0x80 }) else {
            return text
        }
        let pattern = "(^|\\s)" + NSRegularExpression.escapedPattern(for: key) + ":(\"[^\"]*\"?|\\S*)"
        guard let expression = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else {
            return text
        }
        let range = NSRange(text.startIndex..., in: text)
        let stripped = expression.stringByReplacingMatches(in: text, range: range, withTemplate: "$1")
        return stripped.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
