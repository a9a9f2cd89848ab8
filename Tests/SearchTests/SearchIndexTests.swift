import AlmanacCore
import Catalog
import Foundation
import Pages
import Rendering
import Search
import Testing

/// The index on small hand-made documents, one behaviour at a time.
@Suite(.timeLimit(.minutes(10))) struct SearchIndexTests {
    static func document(
        _ id: String, _ title: String, kind: String = "report", description: String = "", tags: [String] = [],
        synonyms: [String] = [], team: String = "growth", status: SearchStatus = .active, certified: Bool = false,
        access: [[String]] = []
    ) -> SearchDocument {
        SearchDocument(
            kind: kind, kindLabel: kind.capitalized, target: .item(ItemKey(.report, id)), title: title, tags: tags,
            synonyms: synonyms, description: description, team: team, teamName: team.capitalized,
            ownerWords: [team], status: status, certified: certified, access: access, popularityKey: "report/\(id)")
    }

    static let everyone = Viewer(user: "sam", groups: ["growth"])

    func ids(_ results: SearchResults) -> [String] {
        results.hits.map { hit in
            if case .item(let key) = hit.document.target { return key.id }
            return "?"
        }
    }

    func index(_ documents: [SearchDocument], synonyms: [[String]] = []) -> SearchIndex {
        let index = SearchIndex()
        index.updateCatalog(documents, synonyms: synonyms)
        return index
    }

    @Test func aTitleMatchOutranksADescriptionMatch() {
        let index = index([
            Self.document("a", "Pipeline health", description: "Mentions churn in passing."),
            Self.document("b", "Churn overview", description: "Everything about losing customers."),
        ])
        #expect(ids(index.search("churn", viewer: Self.everyone)) == ["b", "a"])
    }

    @Test func tagsAndSynonymsRankBetweenTitleAndDescription() {
        let index = index([
            Self.document("desc", "Alpha", description: "about attrition"),
            Self.document("syn", "Beta", synonyms: ["attrition rate"]),
            Self.document("tag", "Gamma", tags: ["attrition"]),
            Self.document("title", "Attrition overview"),
        ])
        #expect(ids(index.search("attrition", viewer: Self.everyone)) == ["title", "tag", "syn", "desc"])
        // A synonym that is the query itself is an exact name: it comes first (issue 18).
        let exact = self.index([
            Self.document("tag", "Gamma", tags: ["attrition"]),
            Self.document("syn", "Beta", synonyms: ["attrition"]),
        ])
        #expect(ids(exact.search("attrition", viewer: Self.everyone)) == ["syn", "tag"])
    }

    @Test func popularityCertificationAndDeprecationReorderEqualMatches() {
        let index = index([
            Self.document("old", "Revenue dashboard", status: .deprecated),
            Self.document("plain", "Revenue dashboard"),
            Self.document("certified", "Revenue dashboard", certified: true),
            Self.document("popular", "Revenue dashboard"),
        ])
        index.updatePopularity(["report/popular": Popularity(views7: 200, views30: 900, views90: 2000)])
        let results = index.search("revenue", viewer: Self.everyone)
        #expect(ids(results) == ["popular", "certified", "plain", "old"])
        #expect(results.hits.last?.document.status == .deprecated, "deprecated is kept and labelled, last")
        #expect(results.hits.first?.views30 == 900)
    }

    @Test func draftsShowToOwnersAndRetiredOnlyWhenAskedFor() {
        let index = index([
            Self.document("live", "Signup funnel"),
            Self.document("draft", "Signup funnel v2", team: "marketing", status: .draft),
            Self.document("gone", "Signup funnel 2019", team: "marketing", status: .retired),
        ])
        let outsider = Viewer(user: "sam", groups: ["growth"])
        let results = index.search("signup", viewer: outsider)
        #expect(ids(results) == ["live"])
        #expect(results.hiddenStatuses == 2)
        #expect(ids(index.search("signup status:retired", viewer: outsider)) == ["gone"])
        #expect(
            Set(ids(index.search("signup", viewer: Viewer(user: "mo", groups: ["marketing"])))) == ["live", "draft"],
            "a retired report has left search, even for its owners")
        let facet = results.facets.first { $0.name == "status" }
        #expect(
            facet?.values.map(\.value) == ["active", "draft", "retired"], "the status facet shows how to find them")
    }

    @Test func restrictedDocumentsNeverAppearOutsideTheirGroups() {
        let index = index([
            Self.document("open", "Board pack overview", tags: ["board"]),
            Self.document(
                "secret", "Board metrics", tags: ["board", "secret-tag"], team: "executives", access: [["executives"]]),
        ])
        let outsider = Viewer(user: "sam", groups: ["growth"])
        let results = index.search("board", viewer: outsider)
        #expect(ids(results) == ["open"])
        #expect(results.total == 1)
        for facet in results.facets {
            #expect(!facet.values.contains { $0.value == "executives" || $0.value == "secret-tag" }, "\(facet.name)")
        }
        #expect(index.suggest("boa", viewer: outsider).count == 1)
        #expect(index.search("metrics", viewer: outsider).total == 0)
        let insider = Viewer(user: "julia", groups: ["executives"])
        #expect(Set(ids(index.search("board", viewer: insider))) == ["open", "secret"])
        #expect(index.search("board", viewer: .localDeveloper).total == 2, "admins see everything")
    }

    @Test func prefixesTyposSynonymsAndPhrases() {
        let index = index(
            [
                Self.document("signups", "Daily signups", description: "New accounts per day."),
                Self.document("retention", "Retention cohorts", description: "Who comes back."),
                Self.document("active", "Weekly active users", description: "Users active in a week."),
                Self.document("users", "Users by plan", description: "Active accounts by weekly plan."),
            ], synonyms: [["signups", "registrations"]])
        #expect(ids(index.search("sig", viewer: Self.everyone)) == ["signups"])
        #expect(ids(index.search("retension", viewer: Self.everyone)) == ["retention"])
        #expect(index.search("retension", viewer: Self.everyone).didYouMean == "retention")
        #expect(ids(index.search("singups", viewer: Self.everyone)) == ["signups"])
        #expect(ids(index.search("registrations", viewer: Self.everyone)) == ["signups"])
        #expect(ids(index.search("actve users", viewer: Self.everyone)).first == "active")
        #expect(ids(index.search("\"weekly active\"", viewer: Self.everyone)) == ["active"])
        #expect(Set(ids(index.search("weekly active", viewer: Self.everyone))) == ["active", "users"])
    }

    @Test func aWordThatMatchesNothingIsLeftOutAndSaid() {
        let index = index([Self.document("churn", "Churn overview")])
        let results = index.search("churn zzqqxx", viewer: Self.everyone)
        #expect(ids(results) == ["churn"])
        #expect(results.ignoredWords == ["zzqqxx"])
        #expect(index.search("zzqqxx", viewer: Self.everyone).total == 0)
    }

    @Test func highlightsAndSnippetsMarkTheMatchedWords() {
        let description =
            "A long description that talks about many things before it finally gets to the point where churn matters a lot."
        let index = index([Self.document("c", "Churned MRR", description: description)])
        let hit = try! #require(index.search("churn", viewer: Self.everyone).hits.first)
        #expect(hit.title.parts.first == .init(text: "Churned", matched: true))
        #expect(hit.snippet.parts.contains { $0.matched && $0.text == "churn" })
        #expect(hit.snippet.plain.hasPrefix("…"))
    }

    @Test func facetsCountEachDimensionWithTheOtherFiltersApplied() {
        let index = index([
            Self.document("a", "Revenue", kind: "report", team: "finance"),
            Self.document("b", "Revenue", kind: "metric", team: "finance"),
            Self.document("c", "Revenue", kind: "metric", team: "sales"),
        ])
        let results = index.search("revenue kind:metric", viewer: Self.everyone)
        #expect(results.total == 2)
        let kinds = Dictionary(
            uniqueKeysWithValues: results.facets.first { $0.name == "kind" }!.values.map { ($0.value, $0.count) })
        #expect(kinds == ["report": 1, "metric": 2], "the kind facet ignores the kind filter, so you can switch")
        let teams = Dictionary(
            uniqueKeysWithValues: results.facets.first { $0.name == "team" }!.values.map { ($0.value, $0.count) })
        #expect(teams == ["finance": 1, "sales": 1])
    }

    @Test func pagingIsStableAndComplete() {
        let documents = (0..<57).map { Self.document("r\($0)", "Report number \($0)") }
        let index = index(documents)
        var seen: [String] = []
        for offset in stride(from: 0, to: 60, by: 20) {
            seen += ids(
                index.search("report", viewer: Self.everyone, options: SearchOptions(limit: 20, offset: offset)))
        }
        #expect(seen.count == 57)
        #expect(Set(seen).count == 57)
    }

    @Test func catalogUpdatesAreIncremental() {
        var documents = (0..<2_000).map { Self.document("r\($0)", "Report \($0)", description: "filler text") }
        let index = index(documents)
        #expect(index.statistics.generation == 1)
        documents[7] = Self.document("r7", "Quarterly pipeline review")
        documents.append(Self.document("new", "Brand new pipeline"))
        documents.remove(at: 3)
        let reindexed = index.updateCatalog(documents)
        #expect(reindexed == 2, "only the changed and the added document are indexed again")
        #expect(Set(ids(index.search("pipeline", viewer: Self.everyone))) == ["r7", "new"])
        #expect(index.search("\"report 7\"", viewer: Self.everyone).total == 0, "the old version is gone")
        #expect(index.search("\"report 3\"", viewer: Self.everyone).total == 0, "the removed one is gone")
        #expect(index.statistics.catalogDocuments == 2_000)
        #expect(index.updateCatalog(documents) == 0, "nothing changed, nothing indexed")
        // A big change rebuilds everything.
        let renamed = documents.map { document -> SearchDocument in
            var copy = document
            copy.description = "renamed"
            return copy
        }
        #expect(index.updateCatalog(renamed) == renamed.count)
        #expect(index.search("renamed", viewer: Self.everyone).total == 2_000)
    }

    /// Caches key search results by what the index holds: popularity and clicks move the
    /// generation only, a change to the documents moves both.
    @Test func theDocumentsGenerationMovesWithTheDocumentsAlone() {
        var documents = (0..<20).map { Self.document("r\($0)", "Report \($0)") }
        let index = index(documents)
        var last = (all: index.generation, documents: index.documentsGeneration)
        func moved() -> (all: Bool, documents: Bool) {
            let now = (all: index.generation, documents: index.documentsGeneration)
            defer { last = now }
            return (now.all != last.all, now.documents != last.documents)
        }
        index.updatePopularity(["report/r1": Popularity(views7: 2, views30: 9, views90: 20)])
        #expect(moved() == (true, false))
        index.updateQueryClicks(["report": ["report/r2": 3]])
        #expect(moved() == (true, false))
        documents[4] = Self.document("r4", "Quarterly review")
        index.updateCatalog(documents)
        #expect(moved() == (true, true))
        index.replaceEntityValues("customer", [])
        #expect(moved() == (true, true))
        index.retainEntities([])
        #expect(moved() == (true, true))
    }

    @Test func entityValuesLiveInTheirOwnSegments() {
        let index = index([Self.document("customer-template", "Customer overview")])
        let values = ["Globex Corporation", "Initech", "Acme Corporation"].enumerated().map { number, name in
            SearchDocument(
                kind: "customer", kindLabel: "Customer",
                target: .entityValue(
                    entity: "customer", template: "customer", parameter: "workspace_id", value: String(number + 1)),
                title: name, keywords: [name.lowercased().split(separator: " ")[0] + ".com"])
        }
        index.replaceEntityValues("customer", values)
        let results = index.search("globex.com", viewer: Self.everyone)
        guard case .entityValue(_, _, let parameter, let value) = results.hits.first?.document.target else {
            Issue.record("expected an entity hit, got \(results.hits.map(\.document.title))")
            return
        }
        #expect(parameter == "workspace_id" && value == "1")
        #expect(index.search("corporation", viewer: Self.everyone).total == 2)
        index.replaceEntityValues("customer", Array(values.prefix(1)))
        #expect(index.search("corporation", viewer: Self.everyone).total == 1)
        index.retainEntities([])
        #expect(index.search("corporation", viewer: Self.everyone).total == 0)
    }

    @Test func anEditedDocumentRanksAsItWouldAfterARebuild() throws {
        var documents = (0..<2_000).map { Self.document("r\($0)", "Report \($0)", description: "filler text") }
        documents.append(Self.document("steady", "Quarterly pipeline review", description: "pipeline of deals"))
        let index = index(documents)
        documents[5] = Self.document("r5", "Quarterly pipeline review", description: "pipeline of deals")
        #expect(index.updateCatalog(documents) == 1)
        let hits = index.search("pipeline", viewer: Self.everyone, options: SearchOptions(explain: true)).hits
        #expect(hits.count == 2, "\(hits.map { $0.explanation ?? "" })")
        let scores = Dictionary(
            uniqueKeysWithValues: hits.map { hit -> (String, Double) in
                guard case .item(let key) = hit.document.target else { return ("?", 0) }
                return (key.id, hit.score)
            })
        let steady = try #require(scores["steady"])
        let edited = try #require(scores["r5"])
        // Within 10%: the base keeps the document frequencies it was built with (here the
        // word was in one document, now in two), as every segmented index does until it merges.
        #expect(
            Swift.abs(steady - edited) < steady * 0.1,
            "the same text scores the same after an incremental edit: \(hits.map { $0.explanation ?? "" })")
    }

    @Test func pagesOfTiedPrefixMatchesNeitherRepeatNorSkip() {
        var documents: [SearchDocument] = []
        for number in 0..<40 {
            documents.append(Self.document("a\(number)", "Report \(number)"))
            documents.append(Self.document("b\(number)", "Reporting \(number)"))
            documents.append(Self.document("c\(number)", "Represent \(number)"))
        }
        let index = index(documents)
        let all = ids(index.search("rep", viewer: Self.everyone, options: SearchOptions(limit: 100)))
        var paged: [String] = []
        for offset in stride(from: 0, to: 100, by: 7) {
            paged += ids(
                index.search(
                    "rep", viewer: Self.everyone, options: SearchOptions(limit: min(7, 100 - offset), offset: offset)))
        }
        #expect(paged == all)
        let deep = ids(index.search("rep", viewer: Self.everyone, options: SearchOptions(limit: 10, offset: 110)))
        #expect(
            deep
                == Array(
                    ids(index.search("rep", viewer: Self.everyone, options: SearchOptions(limit: 100, offset: 20)))
                        .suffix(10)))
    }

    @Test func nothingIsCalledHiddenWhenAStatusIsAskedFor() {
        let index = index([
            Self.document("live", "Signup funnel"),
            Self.document("gone", "Signup funnel 2019", team: "marketing", status: .retired),
        ])
        let results = index.search("signup status:retired", viewer: Viewer(user: "sam", groups: ["growth"]))
        #expect(ids(results) == ["gone"])
        #expect(results.hiddenStatuses == 0)
    }

    @Test func wordsOnlyInRestrictedDocumentsAreUnknownToOutsiders() {
        let index = index([
            Self.document("open", "Churn overview"),
            Self.document("secret", "Project Zephyrus churn plan", access: [["executives"]]),
        ])
        let outsider = Viewer(user: "sam", groups: ["growth"])
        let typo = index.search("zephyrs", viewer: outsider)
        #expect(typo.didYouMean == nil && typo.total == 0, "no correction towards a restricted word")
        let secretWord = index.search("churn zephyrus", viewer: outsider)
        let unknownWord = index.search("churn xyzzyq", viewer: outsider)
        #expect(ids(secretWord) == ids(unknownWord) && ids(secretWord) == ["open"])
        #expect(secretWord.ignoredWords == ["zephyrus"], "told apart from a made-up word by nothing")
        #expect(index.search("zephyrs", viewer: Viewer(user: "julia", groups: ["executives"])).didYouMean == "zephyrus")
    }

    @Test func hostileTextInTheCatalogIsEscapedInHighlights() {
        let nasty = ["<script>alert(1)</script> churn", "<\u{338}b onmouseover=x> churn", "\"' churn & <i>"]
        let index = index(
            nasty.enumerated().map { Self.document("n\($0.offset)", $0.element, description: $0.element) })
        for hit in index.search("churn", viewer: Self.everyone).hits {
            for text in [hit.title, hit.snippet] {
                let html = text.parts.map { part in
                    let escaped = Markup.escape(part.text, quotes: ["\"", "'"])
                    return part.matched ? "<mark>\(escaped)</mark>" : escaped
                }.joined()
                let bare = html.replacingOccurrences(of: "<mark>", with: "").replacingOccurrences(
                    of: "</mark>", with: "")
                #expect(!bare.contains("<") && !bare.contains("\""), "\(html)")
            }
        }
    }

    @Test func aFacetSwitchesAFilterTypedIntoTheBox() {
        let request = SearchRequest(text: #"churn kind:report tag:"data quality" weekly"#)
        #expect(SearchRequest.removingTypedFilter("kind", from: request.text) == #"churn tag:"data quality" weekly"#)
        #expect(SearchRequest.removingTypedFilter("tag", from: request.text) == "churn kind:report weekly")
        #expect(SearchRequest.removingTypedFilter("team", from: request.text) == request.text)
    }

    @Test func didYouMeanKeepsTheQueryAsTyped() {
        let index = index([Self.document("retention", "Retention cohorts", tags: ["data quality"])])
        let results = index.search(#"Retension tag:"data quality""#, viewer: Self.everyone)
        #expect(results.didYouMean == #"retention tag:"data quality""#)
    }

    @Test func twoPeopleOfOneNameInATeamAreOneHit() {
        let person = SearchDocument(
            kind: "person", kindLabel: "Person", target: .person(team: "growth", name: "Sam Lee"), title: "Sam Lee")
        let documents = CatalogDocuments.deduplicated([person, person])
        #expect(documents.count == 1)
    }

    /// The common search (no facets, filters or phrases, a first page) takes a leaner loop; both
    /// loops turn candidates away on the last kept result, a deep page does not. They must keep
    /// the same results, in the same order, with the same counts, for every kind of reader: many ties,
    /// drafts, retired and restricted documents, popularity, several segments.
    @Test func theLeanScanKeepsWhatTheFullScanKeeps() {
        var random = SeededGenerator(state: 20_261_207)
        let words = [
            "revenue", "churn", "pipeline", "signup", "retention", "weekly", "board", "cohort", "reviews", "retail",
            "attrition",
        ]
        let teams = ["growth", "marketing", "finance", "executives"]
        var documents: [SearchDocument] = []
        var popularity: [String: Popularity] = [:]
        for number in 0..<1_500 {
            let title = (0..<Int.random(in: 1...3, using: &random)).map { _ in words.randomElement(using: &random)! }
            let team = teams.randomElement(using: &random)!
            let status: SearchStatus = [.active, .active, .active, .deprecated, .draft, .retired].randomElement(
                using: &random)!
            let access: [[String]] = Int.random(in: 0..<5, using: &random) == 0 ? [["executives"]] : []
            documents.append(
                Self.document(
                    "r\(number)", title.joined(separator: " "),
                    description: words.randomElement(using: &random)!, team: team, status: status,
                    certified: Int.random(in: 0..<7, using: &random) == 0, access: access))
            if Int.random(in: 0..<3, using: &random) == 0 {
                let views = Int.random(in: 0..<50, using: &random)
                popularity["report/r\(number)"] = Popularity(views7: views, views30: views * 3, views90: views * 9)
            }
        }
        // Synonyms and prefixes give a word several terms, whose candidates come out of document order.
        let index = index(documents, synonyms: [["churn", "attrition"]])
        index.updatePopularity(popularity)
        // A second segment: documents edited after the build.
        index.updateCatalog(
            documents.map { document in
                var document = document
                if document.title.hasPrefix("board") { document.description += " weekly" }
                return document
            }, synonyms: [["churn", "attrition"]])
        let readers = [
            Viewer(user: "sam", groups: ["growth"]), Viewer(user: "julia", groups: ["executives"]),
            Viewer(user: "mo", groups: ["marketing", "finance"]), .localDeveloper, Viewer(user: nil),
        ]
        let queries =
            words + [
                "revenue churn", "weekly board", "cohort retention signup", "rev", "re", "ret", "chur", "pipelin",
                "board r",
            ]
        for reader in readers {
            for query in queries {
                let deep = index.search(
                    query, viewer: reader, options: SearchOptions(limit: 250, facets: true, snippets: false))
                for limit in [1, 3, 10, 25] {
                    let lean = index.search(
                        query, viewer: reader, options: SearchOptions(limit: limit, facets: false, snippets: false))
                    let full = index.search(
                        query, viewer: reader, options: SearchOptions(limit: limit, facets: true, snippets: false))
                    #expect(ids(lean) == ids(full), "\(query) for \(reader.user ?? "anonymous"), \(limit)")
                    #expect(lean.hits.map(\.score) == full.hits.map(\.score), "\(query), \(limit)")
                    #expect(lean.total == full.total, "\(query) for \(reader.user ?? "anonymous")")
                    #expect(lean.hiddenStatuses == full.hiddenStatuses, "\(query)")
                    // A deep page keeps every candidate and sorts once (no floor); it counts the same.
                    // (Its order may differ: an exact name is lifted from a larger pool.)
                    #expect(deep.total == full.total && deep.hiddenStatuses == full.hiddenStatuses, "\(query)")
                    #expect(deep.facets == full.facets, "\(query)")
                }
            }
        }
    }
}

/// A seeded generator (Knuth's MMIX linear congruential one, its high bits), so a failure names a
/// corpus that can be built again.
private struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 32 | state << 32
    }
}
