import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Pages
import Rendering
import Search
import Testing

/// Thousands of random and hostile strings through the query path: parsing, searching,
/// suggesting and building the page model. None may crash, break an invariant or show a
/// restricted object to someone outside its groups. (The HTTP twin of this test is in
/// PortalTests/SearchHTTPTests.)
@Suite(.timeLimit(.minutes(10))) struct FuzzTests {
    @Test func tenThousandNastyQueriesNeverBreakAnything() async throws {
        let index = try await RelevanceTests.index.value
        let catalog = TestWarehouse.demoCatalog
        let outsider = Viewer(user: "intern@larkspur.io", groups: ["growth"])
        let restricted = Set(
            index.documents.filter { !$0.isVisible(to: outsider) }.map { document in
                if case .item(let key) = document.target { return key.id }
                return document.title
            })
        #expect(restricted.contains("board-metrics") && restricted.contains("finance-monthly-close"))
        var visibleByTeam: [String: Int] = [:]
        for document in index.documents where document.isVisible(to: outsider) {
            if let team = document.team { visibleByTeam[team, default: 0] += 1 }
        }
        let builder = PageBuilder(view: CatalogView(catalog, viewer: outsider))
        let encoder = JSONEncoder()
        var generator = HostileStrings(seed: 20_261_127)
        var queries = HostileStrings.fixed
        while queries.count < 10_500 { queries.append(generator.string()) }
        var withHits = 0
        for text in queries {
            let request = SearchRequest(text: text, limit: 10, debug: true)
            let results = index.search(
                request.query, viewer: outsider, options: SearchOptions(limit: 10, explain: true))
            #expect(results.hits.count <= 10)
            #expect(results.total >= results.hits.count)
            for hit in results.hits {
                #expect(hit.document.isVisible(to: outsider), "\(text.debugDescription) leaked \(hit.document.title)")
            }
            // Facets count only what the viewer may see: never more of a team than it has visible.
            for facet in results.facets where facet.name == "team" {
                for value in facet.values {
                    #expect(value.count <= visibleByTeam[value.value, default: 0], "\(text.debugDescription)")
                }
            }
            let model = builder.search(request, results: results)
            _ = try encoder.encode(model)
            for hit in model.hits {
                #expect(!hit.titleHTML.contains("<script"), "\(text.debugDescription)")
                #expect(
                    !hit.snippetHTML.replacingOccurrences(of: "<mark>", with: "").replacingOccurrences(
                        of: "</mark>", with: ""
                    ).contains("<"))
            }
            _ = builder.suggestions(text, hits: index.suggest(text, viewer: outsider))
            if !results.hits.isEmpty { withHits += 1 }
        }
        print("Fuzz: \(queries.count) queries, \(withHits) with results, 0 errors")
        #expect(queries.count >= 10_000)
    }
}

/// The hand-written JSON of `/api/search` says exactly what `JSONEncoder` would.
@Suite(.timeLimit(.minutes(10))) struct SearchJSONTests {
    @Test func theWriterMatchesJSONEncoder() async throws {
        let index = try await RelevanceTests.index.value
        let builder = PageBuilder(view: CatalogView(TestWarehouse.demoCatalog, viewer: .localDeveloper))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var generator = HostileStrings(seed: 99)
        var queries = [
            "churn", "retension", "globex", "status:retired", "kind:metric sig", "a/b test", "\"net new mrr\"",
        ]
        queries += HostileStrings.fixed.prefix(40)
        for _ in 0..<200 { queries.append(generator.string()) }
        for text in queries {
            let request = SearchRequest(text: text, limit: 5, debug: true)
            let model = builder.search(
                request, results: index.search(request.query, viewer: .localDeveloper, options: SearchOptions(limit: 5))
            )
            let ours = try JSONSerialization.jsonObject(with: Data(model.jsonBytes())) as? NSDictionary
            let theirs = try JSONSerialization.jsonObject(with: encoder.encode(model)) as? NSDictionary
            #expect(ours != nil && ours == theirs, "\(text.debugDescription)")
        }
    }
}
