import AlmanacCore
import Catalog
import Foundation
import Testing

@testable import Search

/// Issue 18 on small hand-made documents: partial matches instead of nothing, kind and
/// question words as hints, exact names first, an entity value with words of its template.
@Suite struct SearchAsPeopleTypeTests {
    static let viewer = Viewer(user: "sam", groups: ["growth"])

    static func item(
        _ kind: ItemKind, _ id: String, _ title: String, description: String = "", synonyms: [String] = []
    )
        -> SearchDocument
    {
        SearchDocument(
            kind: kind.rawValue, kindLabel: kind.rawValue.capitalized, target: .item(ItemKey(kind, id)), title: title,
            keywords: [id], synonyms: synonyms, description: description, popularityKey: "\(kind.rawValue)/\(id)")
    }

    static func customer(_ name: String) -> SearchDocument {
        SearchDocument(
            kind: "customer", kindLabel: "Customer",
            target: .entityValue(
                entity: EntityID("customer"), template: TemplateID("customer"), parameter: "domain",
                value: name.lowercased() + ".com"), title: name)
    }

    static let catalog: [SearchDocument] = [
        item(
            .template, "customer", "Customer overview",
            description: "The ocean chart, billing and errors of one customer."),
        item(.metric, "mrr", "MRR", description: "Monthly recurring revenue."),
        item(.metric, "net_new_mrr", "Net new MRR", description: "New MRR minus churned MRR, the headline MRR figure."),
        item(.report, "revenue-overview", "Revenue overview", description: "MRR, MRR, MRR and more MRR."),
        item(.team, "marketing", "Marketing", description: "Campaigns and the website."),
        item(.report, "marketing-team-goals", "Marketing team goals", description: "What the team aims for."),
        item(.report, "ocean-review", "Ocean review", description: "A review of ocean charts across customers."),
    ]

    static func index() -> SearchIndex {
        let index = SearchIndex()
        _ = index.updateCatalog(catalog, synonyms: [])
        index.replaceEntityValues("customer", ["Hooli", "Globex Corporation", "Initech"].map(customer))
        return index
    }

    static func titles(_ results: SearchResults) -> [String] { results.hits.map(\.document.title) }

    @Test func noResultWithEveryWordShowsThoseWithSomeAndSaysSo() {
        let results = Self.index().search("initech zebrafish ocean", viewer: Self.viewer)
        #expect(results.total > 0)
        // "zebrafish" matches nothing anywhere and is left out as before; no result has both
        // "initech" and "ocean" as words of its own, but Initech's template draws the ocean
        // chart, so Initech covers both and comes first.
        #expect(Self.titles(results).first == "Initech")
        #expect(results.ignoredWords == ["zebrafish"])
        let partial = Self.index().search("initech review", viewer: Self.viewer)
        #expect(Set(Self.titles(partial).prefix(2)) == ["Initech", "Ocean review"])
        #expect(partial.partialWords != nil, "the page says no result has all the words")
    }

    @Test func anItemWithAllTheWordsRanksAboveOnesWithSome() {
        let results = Self.index().search("ocean review customers", viewer: Self.viewer)
        #expect(Self.titles(results).first == "Ocean review")
        #expect(results.partialWords == nil)
    }

    @Test func kindAndQuestionWordsAreHintsNotRequirements() {
        let index = Self.index()
        #expect(Self.titles(index.search("marketing team", viewer: Self.viewer)).first == "Marketing")
        #expect(Self.titles(index.search("hooli dashboard", viewer: Self.viewer)).first == "Hooli")
        #expect(Self.titles(index.search("what is mrr", viewer: Self.viewer)).first == "MRR")
        // Only hints: they are the words searched for.
        #expect(!index.search("team", viewer: Self.viewer).hits.isEmpty)
        // Hints never show up as words left out.
        #expect(index.search("how many customers use hooli", viewer: Self.viewer).ignoredWords.isEmpty)
    }

    @Test func anExactNameOutranksPartialNames() {
        let index = Self.index()
        for query in ["MRR", "mrr", "Mrr.", "net_new_mrr"] {
            let expected = query == "net_new_mrr" ? "Net new MRR" : "MRR"
            #expect(Self.titles(index.search(query, viewer: Self.viewer)).first == expected, "\(query)")
        }
        // The letter-count check before the full comparison lets names beyond ASCII through,
        // whatever their ASCII pieces look like ("in" of "Inés" is a stop word).
        #expect(QueryRun.mayBe("Inés", ofLetters: ["ines".utf8.count]))
        #expect(QueryRun.mayBe("Forêt", ofLetters: ["foret".utf8.count]))
        #expect(QueryRun.mayBe("MRR", ofLetters: [3]) && !QueryRun.mayBe("Net new MRR", ofLetters: [3]))
        // It still turns away most names beyond ASCII without folding them.
        #expect(!QueryRun.mayBe("Zürich weekly revenue by channel", ofLetters: [3]))
    }

    /// The check's bounds hold the count the full comparison finds, for every kind of name:
    /// what the analyzer makes of a name, stop words aside, is never outside them.
    @Test(arguments: [
        "MRR", "Net new MRR", "Inés", "Forêt", "Zürich", "Zu\u{308}rich", "On\u{2011}call rotation",
        "in\u{2013}app purchases", "Rock’n’roll", "São Paulo", "Straße", "Œuvre", "ﬁnance", "東京 sales",
        "Revenue – Europe", "Ｍｒｒ of the month", "ｏｆ", "José García", "½ year", "Ünïcödé wïth àccents",
        "per-seat ARR", "A/B tests for the app",
    ])
    func theLetterBoundsHoldTheAnalyzedCount(_ name: String) {
        let count = Analyzer.words(name).filter { !Analyzer.stopWords.contains($0) }.reduce(0) {
            $0 + $1.utf8.count
        }
        let bounds = QueryRun.letterBounds(name)
        #expect(bounds.low <= count && count <= bounds.high, "\(name): \(count) not in \(bounds)")
    }

    @Test func anEntityValueWithWordsOfItsTemplateOpensThatTemplateForIt() {
        let results = Self.index().search("hooli ocean", viewer: Self.viewer)
        #expect(Self.titles(results).first == "Hooli")
        guard case .entityValue(_, let template, _, let value) = results.hits.first?.document.target else {
            Issue.record("not an entity value")
            return
        }
        #expect(template.rawValue == "customer" && value == "hooli.com")
        #expect(results.partialWords == nil, "Hooli covers both words through its template")
    }

    @Test func aRestrictedTemplateLendsNoWordsToItsValues() {
        let index = SearchIndex()
        var template = Self.item(.template, "customer", "Customer overview", description: "The ocean chart.")
        template.access = [["executives"]]
        _ = index.updateCatalog([template], synonyms: [])
        index.replaceEntityValues("customer", [Self.customer("Hooli")])
        // The viewer may not see the template: "ocean" is unknown to them, left out, and
        // Hooli is found for its own word only.
        let results = index.search("hooli ocean", viewer: Self.viewer)
        #expect(Self.titles(results) == ["Hooli"])
        #expect(results.ignoredWords == ["ocean"])
    }
}
