import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Storage
import Testing

/// What each view is recorded with: where the viewer came from, page or API, a template
/// render's parameters, and only people (not crawlers or monitors).
@Suite(.timeLimit(.minutes(10))) struct ViewRecordingTests {
    @Test func viewsKnowWhereTheyCameFromAndWhatTheyWere() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.test { client in
            func get(_ path: String, _ fields: [String: String] = [:]) async throws {
                var headers = HTTPFields()
                for (name, value) in fields { headers[HTTPField.Name(name)!] = value }
                let response = try await client.get(path, headers: headers)
                #expect(response.status == .ok, "\(path)")
            }
            let origin = "http://localhost"  // requests in process come to Host: localhost
            try await get("/reports/growth-overview", ["Referer": "\(origin)/search?q=growth"])
            try await get("/glossary/signups", ["Referer": "\(origin)/"])
            try await get("/reports/growth-overview?from=email")
            try await get("/reports/growth-overview", ["Referer": "https://elsewhere.example/search"])
            try await get("/api/reports/growth-overview")
            try await get("/reports/growth-overview", ["User-Agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"])
            try await get("/reports/growth-overview", ["User-Agent": "kube-probe/1.29"])
            let domain = try await TemplateRenderTests.domain(1)
            try await get("/templates/customer?domain=\(domain)&period=90d")
            try await get("/templates/customer?period=90d&domain=\(domain)")
            try await get("/templates/customer?domain=\(domain)&period=30d")
            await portal.environment.views.flush()

            let views = try await portal.environment.state.recentViews(limit: 20).reversed().map { $0 }
            #expect(views.count == 8, "the crawler and the probe are not counted: \(views.map(\.itemID))")
            #expect(views.map(\.source) == [.search, .home, .email, .direct, .direct, .direct, .direct, .direct])
            #expect(views.map(\.channel) == [.page, .page, .page, .page, .api, .page, .page, .page])
            #expect(views[1].itemKind == "metric" && views[1].itemID == "signups")
            let renders = views.suffix(3)
            #expect(renders.allSatisfy { $0.itemKind == "template" && $0.parametersHash != nil })
            #expect(renders[renders.startIndex].parametersHash == renders[renders.startIndex + 1].parametersHash)
            #expect(renders[renders.startIndex].parametersHash != renders[renders.startIndex + 2].parametersHash)
            #expect(views.prefix(5).allSatisfy { $0.parametersHash == nil })
        }
    }

    @Test func concurrentViewsAreEachCountedOnce() async throws {
        let portal = try await TestPortal.make()
        try await portal.test { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<8 {
                    group.addTask {
                        for request in 0..<40 {
                            let path = (task + request) % 2 == 0 ? "/reports/growth-overview" : "/glossary/signups"
                            let response = try await client.get(path)
                            #expect(response.status == .ok)
                        }
                    }
                }
                try await group.waitForAll()
            }
            await portal.environment.views.flush()
            let counts = try await portal.environment.state.viewCounts(kind: nil, since: nil)
            #expect(counts == ["report/growth-overview": 160, "metric/signups": 160])
            #expect(try await portal.environment.state.recentViews(limit: 1000).count == 320)
            #expect(portal.environment.views.count(kind: "report", id: "growth-overview") == 160)
        }
    }
}
