import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Search
import Testing

/// `/search`, `/api/search` and `/api/suggest` through the portal's routes.
@Suite(.timeLimit(.minutes(10))) struct SearchHTTPTests {
    func hits(_ body: [String: Any]) -> [[String: Any]] { body["hits"] as? [[String: Any]] ?? [] }

    func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    @Test func searchReturnsHitsFacetsHighlightsAndExplanations() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            let response = try await client.get("/api/search?q=churn&limit=5")
            #expect(response.status == .ok)
            let body = try json(response)
            let first = try #require(hits(body).first)
            // "churn" is one of churned_workspaces' synonyms: an exact name, first.
            #expect(first["kind"] as? String == "metric")
            #expect(first["id"] as? String == "churned_workspaces")
            #expect(first["url"] as? String == "/glossary/churned_workspaces")
            #expect((first["titleHTML"] as? String)?.contains("<mark>Churned</mark>") == true)
            #expect(first["explain"] == nil)
            #expect((body["total"] as? Int ?? 0) >= 5)
            let facets = try #require(body["facets"] as? [[String: Any]])
            #expect(facets.map { $0["parameter"] as? String } == ["kind", "team", "status", "tag"])

            let debug = try json(try await client.get("/api/search?q=churned%20mrr&limit=1&debug=1"))
            let explanation = try #require(hits(debug).first?["explain"] as? String)
            #expect(explanation.contains("'churned' → churn (exact)"))
            #expect(explanation.contains("certified ×1.3"))
            #expect(explanation.contains("exact name"))

            let filtered = try json(try await client.get("/api/search?q=churn&kind=report"))
            #expect(hits(filtered).allSatisfy { $0["kind"] as? String == "report" })
            let page2 = try json(try await client.get("/api/search?q=churn&limit=2&offset=2"))
            #expect(hits(page2).count == 2)
            #expect(hits(page2).first?["id"] as? String != first["id"] as? String)
        }
    }

    @Test func badParametersAreNamedButAnyQueryTextIsFine() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            for (query, parameter) in [
                ("limit=0", "limit"), ("limit=abc", "limit"), ("offset=-1", "offset"), ("status=gone", "status"),
                ("debug=maybe", "debug"), ("kind=\(String(repeating: "k", count: 65))", "kind"),
            ] {
                let response = try await client.get("/api/search?q=churn&\(query)")
                #expect(response.status == .badRequest, "\(query)")
                #expect(text(response).contains("Parameter '\(parameter)'"), "\(query)")
            }
            let empty = try await client.get("/api/search")
            #expect(empty.status == .ok)
            #expect(try json(empty)["total"] as? Int == 0)
        }
    }

    @Test func restrictedItemsNeverAppearInResultsCountsFacetsOrSuggestions() async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false))
        try await portal.test { client in
            let ann = identity("ann@larkspur.io", groups: ["growth"])
            let julia = identity("julia@larkspur.io", groups: ["executives"])
            for query in ["executive weekly", "status:draft board", "finance monthly close", "exec"] {
                let outsider = try json(try await client.get("/api/search?q=\(encoded(query))", headers: ann))
                let ids = hits(outsider).compactMap { $0["id"] as? String }
                #expect(!ids.contains("executive-weekly") && !ids.contains("board-metrics"), "\(query)")
                #expect(!ids.contains("finance-monthly-close"), "\(query)")
                let tags = (outsider["facets"] as? [[String: Any]] ?? []).first { $0["parameter"] as? String == "tag" }
                let tagValues = (tags?["values"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
                #expect(!tagValues.contains("executive"), "\(query): the executive tag is only on restricted items")
                let suggestions = try json(try await client.get("/api/suggest?q=\(encoded(query))", headers: ann))
                let urls = (suggestions["suggestions"] as? [[String: Any]] ?? []).compactMap { $0["url"] as? String }
                #expect(!urls.contains { $0.contains("executive-weekly") || $0.contains("board-metrics") }, "\(query)")
            }
            let insider = try json(try await client.get("/api/search?q=executive+weekly", headers: julia))
            #expect(hits(insider).contains { $0["id"] as? String == "executive-weekly" })
            let tags = (insider["facets"] as? [[String: Any]] ?? []).first { $0["parameter"] as? String == "tag" }
            #expect((tags?["values"] as? [[String: Any]] ?? []).contains { $0["value"] as? String == "executive" })
            let owner = try json(try await client.get("/api/search?q=board+metrics", headers: julia))
            #expect(hits(owner).contains { $0["id"] as? String == "board-metrics" }, "drafts show to their owners")
        }
    }

    @Test func theSearchPageEscapesHighlightsAndSuggestsCorrections() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            let page = try await client.get("/search?q=retension")
            #expect(page.status == .ok)
            let html = text(page)
            #expect(html.contains("Did you mean"))
            #expect(html.contains("<mark>retention</mark>") || html.contains("<mark>Retention</mark>"))
            #expect(html.contains("href=\"/reports/user-retention\""))
            let hostile = text(try await client.get("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"))
            #expect(!hostile.contains("<script>alert"))
            #expect(hostile.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
            // The search box's form sends spaces as "+"; a literal plus arrives as %2B.
            let form = try json(try await client.get("/api/search?q=weekly+active+users&limit=1"))
            #expect(form["query"] as? String == "weekly active users")
            #expect(hits(form).first?["id"] as? String == "weekly_active_users")
            #expect(try json(try await client.get("/api/search?q=C%2B%2B"))["query"] as? String == "C++")
            let frame = text(try await client.get("/"))
            #expect(frame.contains("action=\"/search\""))
            #expect(frame.contains("role=\"combobox\""))
        }
    }

    @Test func suggestionsComeBackForPrefixes() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            let body = try json(try await client.get("/api/suggest?q=sig"))
            let suggestions = try #require(body["suggestions"] as? [[String: Any]])
            #expect(suggestions.first?["url"] as? String == "/glossary/signups")
            #expect(suggestions.count <= 8)
            #expect(try await client.get("/api/suggest?q=sig&limit=500").status == .badRequest)
        }
    }

    @Test func aCatalogEditIsSearchableWithinSeconds() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        let portal = try await TestPortal.make(catalog: catalog)
        try await portal.test { client in
            #expect(try json(try await client.get("/api/search?q=zeppelin"))["total"] as? Int == 0)
            try CatalogFixture.edit(
                catalog + "/reports/sync-health.yaml", replacing: "title: Sync health",
                with: "title: Zeppelin sync health")
            try await Self.catalogEditReachesSearch(portal) {
                $0.report("sync-health")?.title == "Zeppelin sync health"
            }
            let found = try await eventually {
                let body = try json(try await client.get("/api/search?q=zeppelin"))
                return hits(body).first?["id"] as? String == "sync-health"
            }
            #expect(found)
            try FileManager.default.removeItem(atPath: catalog + "/reports/sync-health.yaml")
            try await Self.catalogEditReachesSearch(portal) { $0.report("sync-health") == nil }
            let gone = try await eventually {
                try json(try await client.get("/api/search?q=zeppelin"))["total"] as? Int == 0
            }
            #expect(gone)
        }
    }

    /// Lets a running portal pick up an edit of its catalog files, as it does within seconds:
    /// its watcher looks (the clock passes the watcher's longest wait) and swaps in the edit,
    /// which `applied` recognises; then the search indexer gets its next look.
    static func catalogEditReachesSearch(_ portal: TestPortal, applied: (Catalog) -> Bool) async throws {
        portal.clock.advance(by: CatalogWatcher.longestWait)
        #expect(try await eventually { applied(portal.environment.catalog.current) }, "the watcher took the edit")
        portal.clock.advance(by: .seconds(1))
    }

    @Test func entityValuesFromTheWarehouseOpenTheirTemplate() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            var first: [String: Any]?
            let found = try await eventually {
                first = hits(try json(try await client.get("/api/search?q=globex.com"))).first
                return first?["kind"] as? String == "customer"
            }
            #expect(found)
            #expect(first?["url"] as? String == "/templates/customer?domain=globex.com")
            #expect((first?["entityLabel"] as? String)?.hasPrefix("Customer dashboard for Globex") == true)
            let html = text(try await client.get("/search?q=globex"))
            #expect(html.contains("Customer dashboard for Globex Corporation (globex.com)"))
            #expect(html.contains("href=\"/templates/customer?domain=globex.com\""))
        }
    }

    @Test func hostileStringsOverHTTPAlwaysGetAnAnswer() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            var generator = HostileStrings(seed: 7)
            var queries = HostileStrings.fixed
            while queries.count < 600 { queries.append(generator.string()) }
            for query in queries {
                let q = encoded(String(query.prefix(2_000)))
                for path in ["/api/search?q=\(q)", "/api/suggest?q=\(q)", "/search?q=\(q)"] {
                    let response = try await client.get(path)
                    #expect(response.status == .ok, "\(path.prefix(120))")
                }
            }
        }
    }

    @Test func entityValuesLeaveSearchAsSoonAsTheirAccessTightens() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        let portal = try await TestPortal.make(
            catalog: catalog, auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false),
            dashboards: true)
        try await portal.test { client in
            let ann = identity("ann@larkspur.io", groups: ["growth"])
            let loaded = try await eventually {
                hits(try json(try await client.get("/api/search?q=globex.com", headers: ann))).first?["kind"] as? String
                    == "customer"
            }
            #expect(loaded)
            try CatalogFixture.edit(
                catalog + "/entities/customer.yaml", replacing: "tags: [customers]",
                with: "tags: [customers]\naccess: [customer-success]")
            try await Self.catalogEditReachesSearch(portal) {
                $0.entity(EntityID("customer"))?.access == ["customer-success"]
            }
            let gone = try await eventually {
                !hits(try json(try await client.get("/api/search?q=globex.com", headers: ann))).contains {
                    $0["kind"] as? String == "customer"
                }
            }
            #expect(gone, "an outsider no longer finds customers")
            let member = identity("olivia@larkspur.io", groups: ["customer-success"])
            let back = try await eventually {
                hits(try json(try await client.get("/api/search?q=globex.com", headers: member))).first?["kind"]
                    as? String == "customer"
            }
            #expect(back, "members of the group find them again once re-read")
        }
    }

    /// A search answered while an edit that tightens access is in the catalog but not yet in
    /// the index (the indexer looks a moment later) is never served once the index has it,
    /// even where pages out of date are served while they render again.
    @Test func aSearchAnsweredBeforeTheIndexCaughtUpIsNotServedAfterIt() async throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        let portal = try await TestPortal.make(
            catalog: catalog, auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false),
            dashboards: true, pageStaleSeconds: 60)
        try await portal.test { client in
            let ann = identity("ann@larkspur.io", groups: ["growth"])
            let paths = ["/api/search?q=globex.com", "/search?q=globex.com"]
            let indexed = try await eventually {
                Self.findsCustomers(try await client.get(paths[0], headers: ann).text)
            }
            #expect(indexed, "the warehouse's customers are indexed")
            #expect(Self.findsCustomers(try await client.get(paths[1], headers: ann).text))
            try CatalogFixture.edit(
                catalog + "/entities/customer.yaml", replacing: "tags: [customers]",
                with: "tags: [customers]\naccess: [customer-success]")
            portal.clock.advance(by: CatalogWatcher.longestWait)
            let edited = try await eventually {
                portal.environment.catalog.current.entity(EntityID("customer"))?.access == ["customer-success"]
            }
            #expect(edited, "the watcher took the edit")
            // The catalog has the edit, the index not yet: both answers come from the old index.
            let generation = portal.environment.search.generation
            for path in paths { _ = try await client.get(path, headers: ann) }
            portal.clock.advance(by: .seconds(1))
            let reindexed = try await eventually {
                guard portal.environment.search.generation != generation else { return false }
                return !Self.findsCustomers(try await client.get(paths[0], headers: ann).text)
            }
            #expect(reindexed, "the indexer took the edit")
            for path in paths {
                let text = try await client.get(path, headers: ann).text
                #expect(!Self.findsCustomers(text), "\(path): an outsider still found customers")
            }
        }
    }

    /// Whether a search page or answer lists a customer (an entity value of `customer`).
    static func findsCustomers(_ text: String) -> Bool {
        text.contains("\"kind\":\"customer\"") || text.contains("/templates/customer?domain=globex.com")
    }
}
