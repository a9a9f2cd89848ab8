import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Portal
import Testing

/// A parameterized template generated on demand from its URL, and parameters checked.
@Suite struct TemplateRenderTests {
    @Test func aTemplateURLWithParametersShowsItsDashboard() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.application().test(.live) { client in
            let page = try await client.get("/templates/customer?workspace_id=1")
            #expect(page.status == .ok)
            let html = text(page)
            #expect(html.contains("Dashboard for Customer workspace 1"))
            #expect(html.contains("Ocean chart"))
            #expect(html.contains("<svg"), "charts are drawn")
            #expect(!html.contains("/reports/customer/panels/"), "no downloads point at artifacts that do not exist")
            #expect(html.contains("name=\"workspace_id\" value=\"1\""), "the form keeps the value")

            let definition = try await client.get("/templates/customer")
            #expect(definition.status == .ok)
            #expect(text(definition).contains("Generate the dashboard"))
        }
    }

    @Test func aBadOrMissingParameterIsA400ThatNamesIt() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.application().test(.live) { client in
            for (query, parameter, words) in [
                ("workspace_id=acme", "workspace_id", "not a whole number"),
                ("workspaceid=1", "workspaceid", "not a parameter"),
                ("workspace_id=", "workspace_id", "required"),
            ] {
                let page = try await client.get("/templates/customer?\(query)")
                #expect(page.status == .badRequest, "\(query)")
                #expect(text(page).contains("Parameter &#39;\(parameter)&#39;"), "\(query)")
                let api = try await client.get("/api/templates/customer?\(query)")
                #expect(api.status == .badRequest)
                let error = try json(api)["error"] as? String ?? ""
                #expect(error.contains("Parameter '\(parameter)'") && error.contains(words), "\(query): \(error)")
            }
        }
    }

    @Test func searchOpensTheTemplateForTheEntityItFound() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.application().test(.live) { client in
            var url: String?
            _ = try await eventually(timeout: .seconds(30)) {
                let body = try json(try await client.get("/api/search?q=globex.com"))
                url = (body["hits"] as? [[String: Any]])?.first?["url"] as? String
                return url?.hasPrefix("/templates/customer?") == true
            }
            let target = try #require(url)
            let page = try await client.get(target)
            #expect(page.status == .ok)
            #expect(text(page).contains("Ocean chart"))
        }
    }

    @Test func identicalRendersAreComputedOnceAndKept() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        try await portal.application().test(.live) { client in
            let before = portal.environment.templateRenders.computed
            try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<6 {
                    group.addTask { try await client.get("/templates/customer?workspace_id=2").status }
                }
                for try await status in group { #expect(status == .ok) }
            }
            #expect(portal.environment.templateRenders.computed == before + 1, "six at once, computed once")
            #expect(try await client.get("/templates/customer?workspace_id=2").status == .ok)
            #expect(portal.environment.templateRenders.computed == before + 1, "then served from the cache")
            #expect(try await client.get("/templates/customer?workspace_id=3").status == .ok)
            #expect(portal.environment.templateRenders.computed == before + 2, "other values are another render")
        }
    }
}
