import AlmanacCore
import Catalog
import Foundation
import Rendering
public import Storage

/// `/admin/search`: what the search box is asked and where it fails, from the search log
/// (searches and the results opened from them, per day and normalised query; never who).
public struct AdminSearchModel: Encodable, Sendable {
    public struct Row: Encodable, Sendable {
        public var query: String
        public var searchURL: String
        public var searches: Int
        public var zeroResults: Int
        public var clicks: Int
        /// The result opened most often after this query, when the reader may see it.
        public var openedItem: String?
        public var openedURL: String?
        public var openedClicks: Int
        /// What search answers now, first.
        public var topResult: String?
        public var topResultURL: String?
        /// A line to paste into the `synonyms:` of the item people meant.
        public var synonymsLine: String
    }
    public var days: Int
    public var searches: Int
    public var distinctQueries: Int
    /// Queries that found nothing, most searched first.
    public var noResults: [Row]
    /// Queries with results that nobody opened.
    public var unopened: [Row]
    /// Queries whose results people opened, with the one they open most.
    public var opened: [Row]
}

extension PageBuilder {
    /// - Parameters:
    ///   - stats: the search log's queries over `days`, most searched first.
    ///   - topResult: what search answers first now, for a query (title and URL), as the reader.
    public func adminSearch(
        _ stats: [SearchQueryStats], days: Int, limit: Int = 50,
        topResult: (String) -> (title: String, url: String)?
    ) -> AdminSearchModel {
        func row(_ stat: SearchQueryStats, withTopResult: Bool) -> AdminSearchModel.Row {
            var search = SearchRequest(text: stat.query)
            search.offset = 0
            let opened = stat.topItem.flatMap(link(toClicked:))
            let top = withTopResult ? topResult(stat.query) : nil
            return AdminSearchModel.Row(
                query: stat.query, searchURL: Route.search(search).path, searches: stat.searches,
                zeroResults: stat.zeroResults, clicks: stat.clicks, openedItem: opened?.title, openedURL: opened?.url,
                openedClicks: opened == nil ? 0 : stat.topItemClicks, topResult: top?.title, topResultURL: top?.url,
                synonymsLine: Self.synonymsLine(stat.query))
        }
        let noResults = stats.filter { $0.zeroResults > 0 }.sorted {
            ($1.zeroResults, $0.query) < ($0.zeroResults, $1.query)
        }
        let unopened = stats.filter { $0.zeroResults < $0.searches && $0.clicks == 0 }
        let opened = stats.filter { $0.clicks > 0 }.sorted { ($1.clicks, $0.query) < ($0.clicks, $1.query) }
        return AdminSearchModel(
            days: days, searches: stats.reduce(0) { $0 + $1.searches }, distinctQueries: stats.count,
            noResults: noResults.prefix(limit).map { row($0, withTopResult: false) },
            unopened: unopened.prefix(limit).map { row($0, withTopResult: true) },
            opened: opened.prefix(limit).map { row($0, withTopResult: false) })
    }

    /// The page of a clicked result (`kind/id` or `template/id?parameter=value`) when this
    /// reader may see it: an item the reader may not see is not named.
    func link(toClicked key: String) -> (title: String, url: String)? {
        let (item, parameters) = key.split(separator: "?", maxSplits: 1).map(String.init).splitFirst
        let parts = item.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, canSee(kind: parts[0], id: parts[1]),
            let kind = ItemKind(rawValue: parts[0])
        else { return nil }
        if kind == .template, let parameters,
            let equals = parameters.firstIndex(of: "="),
            let template = view.template(TemplateID(parts[1]))
        {
            let name = String(parameters[..<equals])
            let value = String(parameters[parameters.index(after: equals)...])
            return (
                "\(template.title): \(value)",
                Route.templateWith(TemplateID(parts[1]), parameter: name, value: value).path
            )
        }
        // Only reports, metrics, templates and teams have a route, and each has a title.
        let itemKey = ItemKey(kind, parts[1])
        guard let route = Route.item(itemKey) else { return nil }
        return (title(of: itemKey), route.path)
    }

    /// `synonyms: [the query]`, quoted for YAML when it must be.
    static func synonymsLine(_ query: String) -> String {
        let special = CharacterSet(charactersIn: ":,[]{}#&*!|>'\"%@`\\")
        let needsQuotes = query.rangeOfCharacter(from: special) != nil || query.hasPrefix("-") || query.hasPrefix("?")
        guard needsQuotes else { return "synonyms: [\(query)]" }
        let escaped = query.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "synonyms: [\"\(escaped)\"]"
    }
}

extension Array where Element == String {
    /// The first element and the second, if any.
    fileprivate var splitFirst: (String, String?) { (self.first ?? "", self.count > 1 ? self[1] : nil) }
}
