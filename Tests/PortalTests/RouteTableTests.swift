import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Hummingbird
import Portal
import Rendering
import Testing

/// `Route` is the one source of the portal's URLs: the router mounts exactly the paths of
/// `Route.Mount` (pages and their JSON twins), and every link a `Route` makes is a mounted path.
@Suite(.timeLimit(.minutes(10))) struct RouteTableTests {
    /// Every path the router mounts, as registered (`/reports/:id`), whatever it prints (`{id}`).
    static func mounted() async throws -> Set<String> {
        let portal = try await TestPortal.make(dashboards: true)
        return Set(
            buildRouter(portal.environment).routes.map {
                $0.path.description.replacingOccurrences(of: #"\{(\w+)\}"#, with: ":$1", options: .regularExpression)
            })
    }

    @Test func theRouterMountsExactlyTheMountTable() async throws {
        let mounted = try await Self.mounted()
        var table = Set<String>()
        for mount in Route.Mount.allCases where mount != .asset {
            if let page = mount.page { table.insert(page) }
            if let api = mount.api { table.insert(api) }
        }
        #expect(mounted.subtracting(table).isEmpty, "mounted but not in Route.Mount: \(mounted.subtracting(table))")
        #expect(table.subtracting(mounted).isEmpty, "in Route.Mount but not mounted: \(table.subtracting(mounted))")
    }

    @Test func everyRouteLinksToAMountedPathAndItsTwin() {
        let search = SearchRequest(text: "mrr & arr", kind: "metric", team: "finance", tag: "board", status: "active")
        let routes: [Route] = [
            .home, .browse(BrowseFilter(kind: .report, team: TeamID("growth"), tag: "kpi", text: "sign ups")),
            .report(ReportID("growth-overview")), .template(TemplateID("customer")), .glossary,
            .metric(MetricID("mrr")),
            .teams, .team(TeamID("growth")), .adminCatalog, .adminRuns, .adminSearch, .adminDeliveries, .adminTokens,
            .myReports(nil), .myReports(TeamID("growth")), .search(search),
            .templateWith(TemplateID("customer"), parameter: "domain", value: "hooli.com"), .asset("app.css"),
        ]
        for route in routes {
            let path = String(route.path.prefix { $0 != "?" })
            #expect(Self.matches(path, route.mount.rawValue), "\(route.path) is not \(route.mount.rawValue)")
            if let api = route.apiPath {
                let apiPath = String(api.prefix { $0 != "?" })
                #expect(Self.matches(apiPath, route.mount.api ?? "-"), "\(api) is not \(route.mount.api ?? "nil")")
                #expect(api.drop { $0 != "?" } == route.path.drop { $0 != "?" }, "the twin keeps the query: \(api)")
            } else {
                #expect(route.mount.api == nil)
            }
        }
        #expect(
            Route.search(search).path == "/search?q=mrr%20%26%20arr&kind=metric&team=finance&tag=board&status=active")
        #expect(Route.home.apiPath == "/api/home")
    }

    /// A facet's links, built from shared parts, are the links `Route.search` makes one by one.
    @Test func facetLinksAreTheSearchRoutesPaths() {
        let requests = [
            SearchRequest(text: "mrr & arr"),
            SearchRequest(text: "churn", kind: "metric", team: "finance", tag: "board", status: "active"),
            SearchRequest(text: "", team: "growth", limit: 50, offset: 40, debug: true),
            SearchRequest(text: "Zürich — 東京 <b>", tag: "a&b=c", status: "draft", limit: 5),
        ]
        let values: [String?] = [nil, "report", "Growth Team", "x&y=z", "é/?#", ""]
        for request in requests {
            for filter in SearchFilter.allCases {
                let expected = values.map { value in
                    var target = request
                    target.filters[filter] = value
                    return Route.search(target).path
                }
                #expect(request.paths(setting: filter, to: values) == expected, "\(filter) in \(request)")
            }
        }
    }

    /// Whether `path` fits `pattern` segment by segment (`:name` takes one, `**` the rest).
    static func matches(_ path: String, _ pattern: String) -> Bool {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        let expected = pattern.split(separator: "/", omittingEmptySubsequences: false)
        if expected.last == "**" {
            return parts.count >= expected.count
                && zip(parts, expected.dropLast()).allSatisfy { $1.hasPrefix(":") ? !$0.isEmpty : $0 == $1 }
        }
        return parts.count == expected.count
            && zip(parts, expected).allSatisfy { $1.hasPrefix(":") ? !$0.isEmpty : $0 == $1 }
    }
}
