import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Search
import Storage
import Testing

/// The search log (issue 18): each search typed into the box and the results opened from it,
/// per day and normalised query and never who searched, shown to admins at /admin/search with
/// what to paste, and feeding the ranking.
@Suite(.timeLimit(.minutes(10))) struct SearchLogTests {
    static let admin = identity("marta.kowalczyk@larkspur.io", groups: ["data-platform"])
    static let reader = identity("pat.doe@larkspur.io", groups: ["everyone"])

    static func from(_ query: String, _ headers: HTTPFields = reader) -> HTTPFields {
        var fields = headers
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? query
        fields[.referer] = "http://localhost/search?q=\(encoded)"
        return fields
    }

    @Test func searchesAndTheResultsOpenedAreLoggedWithoutWhoAndShownToAdmins() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]))
        try await portal.test { client in
            for path in [
                "/search?q=zorblax", "/search?q=Zorblax%20", "/search?q=signups", "/search?q=SIGNUPS",
                "/search?q=weekly%20active%20users", "/search?q=signups&offset=20",
            ] {
                let response = try await client.get(path, headers: Self.reader)
                #expect(response.status == .ok, "\(path)")
            }
            #expect(try await client.get("/glossary/signups", headers: Self.from("Signups")).status == .ok)
            #expect(try await client.get("/glossary/signups", headers: Self.from("signups")).status == .ok)
            #expect(try await client.get("/reports/daily-signups", headers: Self.from("signups")).status == .ok)
            await portal.environment.views.flush()

            let stats = try await portal.environment.state.searchQueries(since: 0, limit: 10)
            let byQuery = Dictionary(uniqueKeysWithValues: stats.map { ($0.query, $0) })
            #expect(byQuery["zorblax"]?.searches == 2 && byQuery["zorblax"]?.zeroResults == 2)
            // The second page of a search is not a second search.
            #expect(byQuery["signups"]?.searches == 2 && byQuery["signups"]?.zeroResults == 0)
            #expect(byQuery["signups"]?.clicks == 3 && byQuery["signups"]?.topItem == "metric/signups")
            #expect(byQuery["weekly active users"]?.clicks == 0)
            let clicks = try await portal.environment.state.searchClicks(since: 0)
            #expect(clicks["signups"] == ["metric/signups": 2, "report/daily-signups": 1])

            // Nothing in the log names who searched or opened.
            let logged = stats.map { "\($0)" }.joined() + "\(clicks)"
            #expect(!logged.contains("pat.doe"))

            let page = try await client.get("/admin/search", headers: Self.admin)
            #expect(page.status == .ok)
            #expect(page.text.contains("zorblax") && page.text.contains("synonyms: [zorblax]"))
            #expect(page.text.contains("/glossary/signups"), "the result opened most after “signups”")
            let api = try json(try await client.get("/api/admin/search", headers: Self.admin))
            let noResults = try #require(api["noResults"] as? [[String: Any]])
            #expect(noResults.first?["query"] as? String == "zorblax")
            #expect(noResults.first?["synonymsLine"] as? String == "synonyms: [zorblax]")
            let unopened = try #require(api["unopened"] as? [[String: Any]])
            #expect(unopened.contains { $0["query"] as? String == "weekly active users" && $0["topResultURL"] != nil })

            #expect(try await client.get("/admin/search", headers: Self.reader).status == .forbidden)
            #expect(try await client.get("/api/admin/search", headers: Self.reader).status == .forbidden)
        }
    }

    @Test func resultsOpenedAfterAQueryRankHigherForThatQuery() async throws {
        let index = SearchIndex()
        let documents = ["alpha", "beta"].map { id in
            SearchDocument(
                kind: "report", kindLabel: "Report", target: .item(ItemKey(.report, id)), title: "Revenue \(id)",
                description: id == "alpha" ? "revenue revenue" : "", popularityKey: "report/\(id)")
        }
        _ = index.updateCatalog(documents, synonyms: [])
        let viewer = Viewer(user: "sam", groups: [])
        let before = index.search("revenue", viewer: viewer).hits.map(\.document.title)
        #expect(before.first == "Revenue alpha")
        index.updateQueryClicks(["revenue": ["report/beta": 20]])
        let after = index.search("Revenue ", viewer: viewer).hits.map(\.document.title)
        #expect(after.first == "Revenue beta", "opened 20 times after “revenue”: \(after)")
        // Another query is not affected.
        #expect(index.search("revenue alpha", viewer: viewer).hits.first?.document.title == "Revenue alpha")
    }
}
