import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Portal
import Storage
import Testing

/// Every route of the portal's own route table × every kind of caller × every kind of item:
/// statuses as access says, no server error, and no marker of a hidden item in any body.
/// A route added later is walked without anyone remembering to list it.
@Suite(.timeLimit(.minutes(10))) struct AccessMatrixTests {
    /// A kind of item, with the report that stands for it and who may see it.
    struct Case: CustomStringConvertible {
        var name: String
        var report: String
        var metric: String = "signups"
        /// Groups that may see the report (empty: everyone signed in).
        var allowed: [String]
        /// The owning team (its id is also a group of its members).
        var owner: String
        var status: ReportStatus = .active
        var external = false
        /// Text only someone who may see the report (or `hiddenMetric`) has any business reading.
        var markers: [String]
        /// A metric restricted to `metricGroups` inside the (public) report.
        var metricGroups: [String] = []
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "public", report: "growth-overview", allowed: [], owner: "growth",
            markers: []),
        Case(
            name: "restricted report", report: "executive-weekly", allowed: ["executives"], owner: "executives",
            markers: ["Executive weekly</", "\"Executive weekly\""]),
        Case(
            name: "restricted metric inside a public report", report: "revenue-overview", metric: "mrr", allowed: [],
            owner: "finance", markers: ["the number in the board pack", "revenue-overview-panel-1"],
            metricGroups: ["finance"]),
        Case(
            name: "draft", report: "activation-funnel", allowed: [], owner: "growth", status: .draft, markers: []),
        Case(
            name: "retired", report: "mobile-2-launch-tracker", allowed: [], owner: "product", status: .retired,
            markers: []),
        Case(
            name: "external", report: "support-insights", allowed: ["support", "customer-success"], owner: "support",
            external: true, markers: ["ticket explorer", "Support insights</"]),
    ]

    /// Who is calling.
    struct Caller: CustomStringConvertible {
        var name: String
        var groups: [String]
        var user: String
        var scopes: [APITokenRecord.Scope]? = nil
        var anonymous = false
        var description: String { name }
        var isToken: Bool { scopes != nil }
    }

    static func callers(for item: Case) -> [Caller] {
        let allowed = item.allowed.first ?? item.metricGroups.first ?? "growth"
        return [
            Caller(name: "no identity", groups: [], user: "", anonymous: true),
            Caller(name: "plain", groups: ["everyone"], user: "pat.doe@larkspur.io"),
            Caller(name: "unrelated group", groups: ["marketing"], user: "kim.lee@larkspur.io"),
            Caller(name: "allowed group", groups: [allowed], user: "alex.allowed@larkspur.io"),
            Caller(name: "owner", groups: [item.owner], user: "owner@larkspur.io"),
            Caller(name: "admin", groups: ["data-platform"], user: "marta.kowalczyk@larkspur.io"),
            Caller(name: "read token", groups: [allowed], user: "svc-read", scopes: [.read]),
            Caller(name: "lifecycle token", groups: [item.owner], user: "svc-lifecycle", scopes: [.lifecycle]),
            Caller(name: "admin token", groups: ["data-platform"], user: "svc-admin", scopes: [.admin]),
        ]
    }

    /// Whether `caller` may see something restricted to `groups` (as the portal decides it).
    static func allows(_ caller: Caller, _ groups: [String]) -> Bool {
        !caller.anonymous
            && (groups.isEmpty || caller.groups.contains("data-platform")
                || !Set(groups).isDisjoint(with: caller.groups))
    }

    @Test(arguments: cases) func everyRouteHoldsForEveryCaller(_ item: Case) async throws {
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true,
            editCatalog: { catalog in
                try CatalogFixture.edit(
                    catalog + "/metrics/mrr.yaml", replacing: "tags: [revenue, mrr, board]",
                    with: "tags: [revenue, mrr, board]\naccess: [finance]")
                try CatalogFixture.edit(
                    catalog + "/reports/activation-funnel.yaml", replacing: "status: active", with: "status: draft")
            })
        // Paths as registered (`/reports/:id`), whatever the router prints (`/reports/{id}`).
        let routes = buildRouter(portal.environment).routes.map {
            (
                $0.method,
                $0.path.description.replacingOccurrences(of: #"\{(\w+)\}"#, with: ":$1", options: .regularExpression)
            )
        }
        #expect(routes.count > 40, "the route table is walked, not a list kept by hand")
        try await portal.test { client in
            var requests = 0
            // The restricted MRR headline, as finance sees it: fetched once, looked for everywhere.
            let headline = item.metricGroups.isEmpty ? nil : try await Self.headline(client)
            if !item.metricGroups.isEmpty { #expect(headline != nil) }
            for caller in Self.callers(for: item) {
                var headers = HTTPFields()
                if let scopes = caller.scopes {
                    let token = try await portal.environment.tokens.issue(
                        name: caller.name, subject: caller.user, groups: caller.groups, scopes: scopes, by: "test")
                    headers[.authorization] = "Bearer \(token.secret)"
                } else if !caller.anonymous {
                    headers = identity(caller.user, groups: caller.groups)
                }
                let seesReport = Self.allows(caller, item.allowed)
                let seesMetric = seesReport && Self.allows(caller, item.metricGroups)
                for (method, template) in routes {
                    let path = Self.fill(template, item)
                    var request = headers
                    var body: ByteBuffer?
                    if method == .post || method == .delete {
                        request[.contentType] = "application/x-www-form-urlencoded"
                        // Never changes anything: deprecating needs a reason; tokens need a name.
                        body = ByteBuffer(string: "action=deprecate")
                    }
                    let response = try await client.execute(
                        uri: path, method: method, headers: request, body: body)
                    requests += 1
                    let status = response.status.code
                    let what = "\(caller) \(method) \(path) → \(status)"
                    let proxied = template.hasPrefix("/x/")
                    #expect(status < 500 || (proxied && [502, 503, 504].contains(status)), "\(what)")

                    // No marker of a hidden item, in any body.
                    let hidden = (seesReport ? [] : item.markers) + (seesMetric ? [] : item.markers)
                    for marker in hidden where response.text.contains(marker) {
                        Issue.record("\(what) shows '\(marker)' of the \(item) item")
                    }
                    if !seesMetric, let headline {
                        #expect(!response.text.contains(headline), "\(what) shows the restricted headline")
                    }

                    // Statuses.
                    let publicRoute = ["/healthz", "/readyz", "/metrics"].contains(template)
                    if publicRoute { continue }
                    if caller.anonymous {
                        #expect(status == 401, "\(what)")
                        continue
                    }
                    if let scopes = caller.scopes {
                        if !template.hasPrefix("/api/") {
                            #expect(status == 400, "\(what): tokens are for /api")
                            continue
                        }
                        let needed: APITokenRecord.Scope =
                            template.hasPrefix("/api/admin")
                            ? .admin
                            : template.hasPrefix("/api/lifecycle") ? .lifecycle : method == .get ? .read : .admin
                        if !scopes.contains(needed) {
                            #expect(status == 403, "\(what): the token lacks the \(needed) scope")
                            continue
                        }
                    }
                    if template.contains("/admin") {
                        let isAdmin = caller.groups.contains("data-platform")
                        if !isAdmin { #expect(status == 403, "\(what)") }
                        continue
                    }
                    guard Self.targetsReport(template) else { continue }
                    if !seesReport {
                        #expect(status == 404, "\(what): hidden and missing look alike")
                        continue
                    }
                    if template.hasPrefix("/x/") {
                        // Only external reports are fronted; this one's app is not running.
                        #expect(
                            item.external ? [308, 502, 503, 504].contains(status) : status == 404,
                            "\(what): the app of an external report, and nothing else")
                        continue
                    }
                    switch (template, item.status, item.external) {
                    case (let t, _, _) where t.hasPrefix("/lifecycle") || t.hasPrefix("/api/lifecycle"):
                        let owns = caller.groups.contains(item.owner) || caller.groups.contains("data-platform")
                        #expect(owns ? [400, 409].contains(status) : status == 403, "\(what)")
                    case (_, .retired, _):
                        #expect(status == 410, "\(what)")
                    case ("/reports/:id", _, _), ("/api/reports/:id", _, _):
                        #expect(status == 200, "\(what)")
                    case (_, .draft, _), (_, _, true):
                        #expect(status == 404, "\(what): nothing generated for it")
                    case ("/reports/:id/panels/:file", _, _):
                        #expect(status == (seesMetric ? 200 : 403), "\(what)")
                    case ("/api/reports/:id/data", _, _):
                        #expect(status == 200, "\(what)")
                    default:
                        break
                    }
                }
            }
            #expect(requests > 300)
        }
    }

    /// Whether the route is about the case's report (its page, data, files, app or lifecycle).
    static func targetsReport(_ template: String) -> Bool {
        template.hasPrefix("/reports/:id") || template.hasPrefix("/api/reports/:id")
            || template.hasPrefix("/lifecycle/") || template.hasPrefix("/api/lifecycle/")
            || template.hasPrefix("/x/")
    }

    /// A route's path with its parameters filled in for `item`.
    static func fill(_ template: String, _ item: Case) -> String {
        var path = template
        if template.hasPrefix("/glossary/") || template.hasPrefix("/api/glossary/") {
            path = path.replacingOccurrences(of: ":id", with: item.metric)
        } else if template.contains("/teams/") {
            path = path.replacingOccurrences(of: ":id", with: item.owner)
        } else if template.contains("/templates/") {
            path = path.replacingOccurrences(of: ":id", with: "customer")
        } else if template.contains("/tokens/") {
            path = path.replacingOccurrences(of: ":id", with: "tok_missing")
        }
        path = path.replacingOccurrences(of: ":kind", with: "report")
        path = path.replacingOccurrences(of: ":id", with: item.report)
        path = path.replacingOccurrences(of: ":report", with: item.report)
        path = path.replacingOccurrences(of: ":file", with: "panel-1.csv")
        path = path.replacingOccurrences(of: "**", with: "index.html")
        return path
    }

    /// The restricted MRR headline, as finance sees it.
    static func headline(_ client: PortalClient) async throws -> String? {
        let data = try json(
            try await client.get(
                "/api/reports/revenue-overview/data", headers: identity("fin@larkspur.io", groups: ["finance"])))
        return (data["panels"] as? [[String: Any]])?.first?["headline"] as? String
    }
}
