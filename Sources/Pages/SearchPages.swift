import AlmanacCore
import Catalog
import Foundation
public import Rendering
public import Search

extension SearchRequest {
    /// The parsed query with the URL's filters added.
    public var query: SearchQuery {
        var query = SearchQuery(parsing: text)
        if let kind = filters[.kind] { query.kinds.insert(kind.lowercased()) }
        if let team = filters[.team] { query.teams.insert(team.lowercased()) }
        if let tag = filters[.tag] { query.tags.insert(tag.lowercased()) }
        if let status = filters[.status] {
            if let value = SearchStatus(rawValue: status.lowercased()) {
                query.statuses.insert(value)
            } else {
                query.unknownFilters.append("status=\(status)")
            }
        }
        return query
    }
}

public struct SearchHitModel: Encodable, Sendable {
    public var kind: String
    public var kindLabel: String
    public var id: String
    public var title: String
    /// The title, HTML-escaped, with matched words in `<mark>`.
    public var titleHTML: String
    /// A snippet as plain text, and HTML-escaped with matches in `<mark>`.
    public var snippet: String
    public var snippetHTML: String
    public var url: String
    public var teamName: String?
    /// Set only when not active: `deprecated`, `draft`, `retired`.
    public var status: String?
    public var certified: Bool
    public var isEntity: Bool
    /// "Customer dashboard for Globex (globex.com)".
    public var entityLabel: String?
    public var views30: Int
    public var score: Double
    public var explain: String?
}

public struct FacetValueModel: Encodable, Sendable {
    public var label: String
    public var value: String
    public var count: Int
    /// Applies the filter; for a selected value, clears it.
    public var url: String
    public var selected: Bool
}

public struct FacetGroupModel: Encodable, Sendable {
    public var name: String
    public var parameter: String
    public var values: [FacetValueModel]
}

public struct SearchLinkModel: Encodable, Sendable {
    public var text: String
    public var url: String
}

public struct SearchPageModel: Encodable, Sendable {
    public var query: String
    public var total: Int
    public var showingFrom: Int
    public var showingTo: Int
    public var empty: Bool
    public var hits: [SearchHitModel]
    public var facets: [FacetGroupModel]
    public var didYouMean: SearchLinkModel?
    public var previousURL: String?
    public var nextURL: String?
    public var statusHint: String?
    /// Words that matched nothing and were left out, or filters not understood.
    public var notice: String?
    public var corrections: [String: String]
}

public struct SuggestionModel: Encodable, Sendable {
    public var kind: String
    public var kindLabel: String
    public var title: String
    public var url: String
    public var detail: String?
}

public struct SuggestModel: Encodable, Sendable {
    public var query: String
    public var suggestions: [SuggestionModel]
}

extension PageBuilder {
    /// The search page (and `/api/search`) for results already filtered for this viewer.
    public func search(_ request: SearchRequest, results: SearchResults) -> SearchPageModel {
        let hits = results.hits.map { hit(for: $0, debug: request.debug) }
        var facets: [FacetGroupModel] = []
        for facet in results.facets {
            guard let filter = SearchFilter(rawValue: facet.name) else { continue }
            var selectedValues = Set([request.filters[filter]?.lowercased()].compactMap { $0 })
            switch filter {
            case .kind: selectedValues.formUnion(results.query.kinds)
            case .team: selectedValues.formUnion(results.query.teams)
            case .tag: selectedValues.formUnion(results.query.tags)
            case .status: selectedValues.formUnion(results.query.statuses.map(\.rawValue))
            }
            // A team the viewer may not see is not named, as on every other page.
            let values = filter == .team ? facet.values.filter { view.team(TeamID($0.value)) != nil } : facet.values
            guard !values.isEmpty else { continue }
            // The filter typed into the text is taken out once per facet, not once per value.
            let selected = values.map { selectedValues.contains($0.value.lowercased()) }
            let urls = request.with(filter, nil).paths(
                setting: filter, to: zip(values, selected).map { item, isSelected in isSelected ? nil : item.value })
            facets.append(
                FacetGroupModel(
                    name: filter.label, parameter: filter.rawValue,
                    values: values.indices.map { index in
                        FacetValueModel(
                            label: values[index].label, value: values[index].value, count: values[index].count,
                            url: urls[index], selected: selected[index])
                    }))
        }
        let from = results.total == 0 ? 0 : min(results.total, request.offset + 1)
        let to = min(results.total, request.offset + hits.count)
        var previous: String?
        if request.offset > 0 {
            var copy = request
            copy.offset = max(0, request.offset - request.limit)
            previous = Route.search(copy).path
        }
        var next: String?
        if to < results.total {
            var copy = request
            copy.offset = to
            next = Route.search(copy).path
        }
        var didYouMean: SearchLinkModel?
        if let corrected = results.didYouMean {
            var copy = request
            copy.text = corrected
            copy.offset = 0
            didYouMean = SearchLinkModel(text: corrected, url: Route.search(copy).path)
        }
        var notes: [String] = []
        if let partial = results.partialWords, !partial.isEmpty {
            notes.append(
                "No result has all the words; showing those with the most of them (the first has "
                    + "\(partial.map { "“\($0)”" }.joined(separator: " ")))."
            )
        }
        if !results.ignoredWords.isEmpty {
            notes.append(
                "Nothing matched \(results.ignoredWords.map { "“\($0)”" }.joined(separator: ", ")), so it was left out."
            )
        }
        if !results.query.unknownFilters.isEmpty {
            notes.append(
                "Not understood: \(results.query.unknownFilters.joined(separator: ", ")). "
                    + "Filters are kind:, team:, owner:, tag: and status: (active, deprecated, draft, retired).")
        }
        return SearchPageModel(
            query: request.text, total: results.total, showingFrom: from, showingTo: to, empty: hits.isEmpty,
            hits: hits, facets: facets, didYouMean: didYouMean, previousURL: previous,
            nextURL: next,
            statusHint: results.hiddenStatuses > 0
                ? "\(results.hiddenStatuses) draft or retired \(results.hiddenStatuses == 1 ? "item is" : "items are") hidden; add status:draft or status:retired to see \(results.hiddenStatuses == 1 ? "it" : "them")."
                : nil,
            notice: notes.isEmpty ? nil : notes.joined(separator: " "),
            corrections: Dictionary(results.corrections.map { ($0.from, $0.to) }, uniquingKeysWith: { a, _ in a }))
    }

    /// Type-ahead suggestions.
    public func suggestions(_ text: String, hits: [SearchHit]) -> SuggestModel {
        SuggestModel(
            query: text,
            suggestions: hits.map { hit in
                let model = self.hit(for: hit, debug: false)
                var detail: [String] = []
                if let team = model.teamName { detail.append(team) }
                if model.certified { detail.append("certified") }
                if let status = model.status { detail.append(status) }
                return SuggestionModel(
                    kind: model.kind, kindLabel: model.kindLabel, title: model.entityLabel ?? model.title,
                    url: model.url,
                    detail: detail.isEmpty ? nil : detail.joined(separator: " · "))
            })
    }

    public func hit(for hit: SearchHit, debug: Bool) -> SearchHitModel {
        let document = hit.document
        let url: String
        var entityLabel: String?
        var id: String
        switch document.target {
        case .item(let key):
            id = key.id
            url = (Route.item(key) ?? .browse(BrowseFilter(kind: key.kind, text: key.id))).path
        case .person(let team, let name):
            id = name
            url = Route.team(team).path
        case .entityValue(_, let template, let parameter, let value):
            id = value
            url = Route.templateWith(template, parameter: parameter, value: value).path
            let alias = document.keywords.first.map { " (\($0))" } ?? ""
            entityLabel = "\(document.kindLabel) dashboard for \(document.title)\(alias)"
        }
        return SearchHitModel(
            kind: document.kind, kindLabel: document.kindLabel, id: id, title: document.title,
            titleHTML: Self.html(hit.title), snippet: hit.snippet.plain, snippetHTML: Self.html(hit.snippet), url: url,
            teamName: document.team.flatMap { view.team(TeamID($0))?.name },
            status: document.status == .active ? nil : document.status.rawValue,
            certified: document.certified, isEntity: entityLabel != nil, entityLabel: entityLabel,
            views30: hit.views30, score: (hit.score * 1000).rounded() / 1000, explain: debug ? hit.explanation : nil)
    }

    /// Escaped text with matched parts in `<mark>`: the only HTML built outside templates.
    static func html(_ text: HighlightedText) -> String {
        text.parts.map { part in
            let escaped = escape(part.text)
            return part.matched ? "<mark>\(escaped)</mark>" : escaped
        }.joined()
    }

    static func escape(_ text: String) -> String {
        // Most text has nothing to escape.
        guard
            text.utf8.contains(where: {
                $0 < 0x20 || $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27
            })
        else { return text }
        return Markup.escape(text, quotes: ["\"", "'"])
    }
}
