import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Testing

/// Every page and its JSON twin, over real HTTP on loopback, as the local developer.
@Suite(.timeLimit(.minutes(10))) struct PortalPageTests {
    @Test func everyPageRendersWithItsContent() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            let pages: [(String, [String])] = [
                (
                    "/",
                    ["Larkspur’s reporting portal", "Certified metrics", "Recently changed reports", "/teams/growth"]
                ),
                ("/browse", ["Everything", "Growth overview", "Sign-ups"]),
                ("/browse?kind=metric&tag=acquisition", ["Metrics tagged ‘acquisition’", "Sign-ups"]),
                ("/browse?team=finance", ["owned by Finance", "Revenue overview"]),
                ("/browse?q=twitter%20campaign", ["Twitter campaign performance"]),
                ("/reports", ["Reports", "Growth overview"]),
                (
                    "/reports/growth-overview",
                    [
                        "Growth overview", "Daily sign-ups", "Poisson 95% interval", "/glossary/signups",
                        "daily at 05:00 UTC",
                    ]
                ),
                ("/templates/customer", ["Parameters", "domain", "date_range"]),
                ("/glossary", ["Metric glossary", "Weekly active users"]),
                (
                    "/glossary/signups",
                    [
                        "Sign-ups", "Definition.", "Number of rows in users", "registrations", "Growth overview",
                        "Compiled SQL", "PostgreSQL / Redshift", "TO_CHAR(CAST(t.&quot;signed_up_at&quot; AS DATE)",
                        "date(t.&quot;signed_up_at&quot;)",
                    ]
                ),
                ("/teams", ["Teams", "Customer Success"]),
                ("/teams/growth", ["Growth", "People", "Sign-ups"]),
                ("/admin/catalog", ["Catalog status", "Serving the newest catalog"]),
                ("/admin/runs", ["Runs", "No runs recorded yet."]),
            ]
            for (path, needles) in pages {
                let response = try await client.get(path)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8", "\(path)")
                let body = text(response)
                for needle in needles {
                    #expect(body.contains(needle), "\(path) should contain \(needle)")
                }
                // aria-expanded="false" is the one legitimate "false" in a page.
                let checked = body.replacingOccurrences(of: "aria-expanded=\"false\"", with: "")
                #expect(
                    !checked.contains(">false<") && !checked.contains("\"false\""), "\(path) leaks a nil as 'false'")
            }
        }
    }

    @Test func pagesHaveJSONTwins() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            let report = try json(try await client.get("/api/reports/growth-overview"))
            #expect(report["title"] as? String == "Growth overview")
            #expect((report["panels"] as? [Any])?.count == 4)
            let metric = try json(try await client.get("/api/glossary/signups"))
            #expect(metric["certified"] as? Bool == true)
            #expect((metric["synonyms"] as? [String])?.contains("registrations") == true)
            let reports = try json(try await client.get("/api/reports"))
            #expect(reports["total"] as? Int == 33)
            let teams = try json(try await client.get("/api/teams"))
            #expect((teams["teams"] as? [Any])?.count == 10)
            let team = try json(try await client.get("/api/teams/growth"))
            #expect(team["name"] as? String == "Growth")
            let glossary = try json(try await client.get("/api/glossary"))
            #expect(glossary["count"] as? Int == 74)
        }
    }

    @Test func everyKindCanBeBrowsed() async throws {
        let portal = try await TestPortal.make()
        let counts = portal.environment.catalog.current.counts
        try await portal.test { client in
            for kind in ItemKind.allCases {
                let body = try json(try await client.get("/api/browse?kind=\(kind.rawValue)"))
                #expect(body["total"] as? Int == counts[kind], "\(kind)")
                let items = body["items"] as? [[String: Any]] ?? []
                #expect(items.allSatisfy { $0["kind"] as? String == kind.rawValue }, "\(kind)")
            }
        }
    }

    @Test func errorsHaveOneShapeInTwoRenderings() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            for path in [
                "/reports/no-such-report", "/glossary/nope", "/teams/nobody", "/templates/nope", "/no/such/page",
            ] {
                let page = try await client.get(path)
                #expect(page.status == .notFound, "\(path)")
                #expect(text(page).contains("class=\"error-page\""), "\(path)")
                #expect(page.headers[HTTPField.Name("X-Request-ID")!] != nil)
                let api = try await client.get("/api" + path)
                #expect(api.status == .notFound, "/api\(path)")
                let body = try json(api)
                #expect(body["ok"] as? Bool == false)
                #expect(body["status"] as? Int == 404)
                #expect((body["error"] as? String)?.isEmpty == false)
            }
            let bad = try await client.get("/api/browse?kind=bogus")
            #expect(bad.status == .badRequest)
            #expect(
                try json(bad)["error"] as? String
                    == "Parameter 'kind': 'bogus' is not a kind; use one of team, source, metric, report, template, entity, annotation, subscription, trigger, backend"
            )
            let badPage = try await client.get("/browse?kind=bogus")
            #expect(badPage.status == .badRequest)
            #expect(text(badPage).contains("Parameter &#39;kind&#39;"))
        }
    }

    @Test func responsesCarrySecurityHeaders() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            for path in ["/", "/api/reports", "/nope"] {
                let response = try await client.get(path)
                let csp = response.headers[HTTPField.Name("Content-Security-Policy")!] ?? ""
                #expect(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "\(path)")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            }
            let css = try await client.get("/static/almanac.css")
            #expect(css.status == .ok)
            #expect(text(css).contains("--accent"))
        }
    }

    @Test func healthAndReadiness() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration())  // nobody signed in
        try await portal.test { client in
            let health = try await client.get("/healthz")
            #expect(health.status == .ok)
            #expect(text(health) == "ok\n")
            let ready = try await client.get("/readyz")
            #expect(ready.status == .ok)
            let body = try json(ready)
            #expect(body["ok"] as? Bool == true)
            #expect(body["stateStore"] as? String == "ok")
            #expect(body["catalogVersion"] as? String == portal.environment.catalog.current.version)
        }
    }

    @Test func viewsAreCountedAndShownAsMostViewed() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            for _ in 0..<3 { _ = try await client.get("/reports/revenue-overview") }
            _ = try await client.get("/glossary/mrr")
            let home = try json(try await client.get("/api/home"))
            let viewed = try #require(home["mostViewed"] as? [[String: Any]])
            #expect(viewed.first?["title"] as? String == "Revenue overview")
            #expect(viewed.first?["views"] as? Int == 3)
            let report = try json(try await client.get("/api/reports/revenue-overview"))
            #expect(report["views"] as? Int == 4)  // the API view counts too
        }
    }

    @Test func catalogTextIsEscaped() async throws {
        let portal = try await TestPortal.make { catalog in
            try CatalogFixture.edit(
                catalog + "/reports/growth-overview.yaml", replacing: "title: Growth overview",
                with: "title: \"Growth <script>alert(1)</script> & co\"")
        }
        try await portal.test { client in
            for path in ["/reports/growth-overview", "/browse?kind=report", "/teams/growth"] {
                let body = text(try await client.get(path))
                #expect(!body.contains("<script>alert(1)"), "\(path)")
                #expect(body.contains("Growth &lt;script&gt;alert(1)&lt;/script&gt; &amp; co"), "\(path)")
            }
        }
    }
}
