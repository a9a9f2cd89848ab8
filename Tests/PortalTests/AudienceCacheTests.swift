import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Generators
import HTTPTypes
import Hummingbird
import Portal
import Storage
import Testing

/// Pages are rendered once per audience (what a reader may see, and the teams they belong
/// to), not once per reader: people in the same groups share a render and each sees their own
/// name; people in different groups never receive each other's page.
@Suite(.timeLimit(.minutes(10))) struct AudienceCacheTests {
    static let executive = identity("erin.exec@larkspur.io", groups: ["executives"])
    static let plain = identity("pat.doe@larkspur.io", groups: ["everyone"])
    /// The same audience as `plain`: a group no access list names changes nothing.
    static let plainToo = identity("sam.roe@larkspur.io", groups: ["everyone", "book-club"])
    /// A member of the growth team by e-mail (owner controls on growth's reports).
    static let growthMember = identity("priya.raman@larkspur.io", groups: ["everyone"])

    static let pages = [
        "/", "/browse", "/reports", "/glossary", "/teams", "/teams/executives", "/search?q=executive",
        "/search?q=weekly&kind=report", "/reports/growth-overview", "/glossary/signups", "/templates",
    ]

    @Test func readersInDifferentGroupsNeverReceiveEachOthersPage() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
        try await portal.test { client in
            for path in Self.pages {
                // Interleaved, so each render is in the cache when the other reader asks.
                let executive = try await client.get(path, headers: Self.executive)
                let plain = try await client.get(path, headers: Self.plain)
                let executiveAgain = try await client.get(path, headers: Self.executive)
                #expect([executive.status, plain.status, executiveAgain.status] == [.ok, .ok, .ok], "\(path)")
                #expect(
                    !plain.text.contains("executive-weekly") && !plain.text.contains("Executive weekly"),
                    "\(path): a restricted report reached a plain reader")
                #expect(!plain.text.contains("board-metrics"), "\(path)")
                #expect(plain.text.contains("pat.doe@larkspur.io") && !plain.text.contains("erin.exec"), "\(path)")
                #expect(
                    executiveAgain.text.contains("erin.exec@larkspur.io") && !executiveAgain.text.contains("pat.doe"))
                if ["/browse", "/reports", "/search?q=executive", "/teams/executives"].contains(path) {
                    #expect(
                        executive.text.contains("/reports/executive-weekly"), "\(path): the executive's page lists it")
                    #expect(
                        executiveAgain.text.contains("/reports/executive-weekly"),
                        "\(path): and still does from the cache")
                }
            }
        }
    }

    @Test func readersOfOneAudienceShareOneRenderWithTheirOwnNames() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
        try await portal.test { client in
            for path in Self.pages {
                // The first reads load the usage totals and generate the dashboard on demand.
                _ = try await client.get(path, headers: Self.plain)
                _ = try await client.get(path, headers: Self.plain)
                let before = portal.environment.pageCacheFigures.rendered
                let other = try await client.get(path, headers: Self.plainToo)
                #expect(other.status == .ok)
                #expect(portal.environment.pageCacheFigures.rendered == before, "\(path): rendered again")
                #expect(other.text.contains("sam.roe@larkspur.io") && !other.text.contains("pat.doe"), "\(path)")
            }
            // Owner controls depend on the team, not on the groups: a member of growth gets
            // its own render of growth's report, with the lifecycle forms nobody else sees.
            let member = try await client.get("/reports/growth-overview", headers: Self.growthMember)
            let plain = try await client.get("/reports/growth-overview", headers: Self.plain)
            #expect(member.text.contains("lifecycle-forms") && member.text.contains("priya.raman"))
            #expect(!plain.text.contains("lifecycle-forms") && !plain.text.contains("priya.raman"))
        }
    }

    /// `/api/search`'s and `/api/suggest`'s answers are kept like the search page: one search per audience and
    /// words, shared by its readers, never sent to another audience; with the cache off every
    /// request searches, with the same answers.
    @Test func searchAnswersAreSharedWithinAnAudienceAndNeverAcrossIt() async throws {
        let paths = [
            "/api/search?q=executive", "/api/search?q=weekly&kind=report", "/api/search?q=executive&limit=3",
            "/api/suggest?q=execu",
        ]
        var answers: [String: String] = [:]
        for cacheBytes in [32 << 20, 0] {
            let portal = try await TestPortal.make(
                auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), searchCacheBytes: cacheBytes)
            let seen = try await portal.test { client in
                var seen: [String: String] = [:]
                for path in paths {
                    // Interleaved, so each answer is kept when the other audience asks.
                    let executive = try await client.get(path, headers: Self.executive)
                    let plain = try await client.get(path, headers: Self.plain)
                    let searched = portal.environment.searchCacheFigures?.searched
                    let plainToo = try await client.get(path, headers: Self.plainToo)
                    let executiveAgain = try await client.get(path, headers: Self.executive)
                    #expect(portal.environment.searchCacheFigures?.searched == searched, "\(path): searched again")
                    #expect([executive, plain, plainToo, executiveAgain].allSatisfy { $0.status == .ok }, "\(path)")
                    #expect(executive.text.contains("executive-weekly"), "\(path): the executive finds it")
                    #expect(executiveAgain.text == executive.text, "\(path)")
                    #expect(
                        !plain.text.contains("executive-weekly") && !plain.text.contains("board-metrics"),
                        "\(path): a restricted report reached a plain reader")
                    #expect(plainToo.text == plain.text, "\(path)")
                    seen["executive " + path] = executive.text
                    seen["plain " + path] = plain.text
                }
                let figures = portal.environment.searchCacheFigures
                #expect(cacheBytes == 0 ? figures == nil : figures?.searched == paths.count * 2)
                return seen
            }
            for (request, answer) in seen {
                #expect(
                    answers[request] == nil || answers[request] == answer, "\(request): the cache changed the answer")
                answers[request] = answer
            }
        }
    }

    @Test func audiencesThatSeeTheSameDashboardKeepItOnce() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
        try await portal.test { client in
            let path = "/reports/growth-overview"
            _ = try await client.get(path, headers: Self.plain)  // generated on demand, not kept
            let first = try await client.get(path, headers: Self.plain)
            let held = portal.environment.pageCacheFigures.bytes
            let other = try await client.get(path, headers: Self.executive)
            let added = portal.environment.pageCacheFigures.bytes - held
            #expect(first.status == .ok && other.status == .ok)
            #expect(first.text.contains("class=\"dashboard") && other.text.contains("class=\"dashboard"))
            #expect(
                added < other.body.readableBytes / 2,
                "a second audience's page added \(added) bytes; the dashboard (most of its \(other.body.readableBytes)) is shared"
            )
        }
    }

    @Test func theViewCountOnACachedPageIsLiveAndEveryViewIsRecordedOnce() async throws {
        let portal = try await TestPortal.make(auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true)
        try await portal.test { client in
            var shown: [Int] = []
            for reader in 0..<5 {
                let page = try await client.get(
                    "/glossary/signups", headers: identity("reader\(reader)@larkspur.io", groups: ["everyone"]))
                let count = page.text.firstMatch(of: /<dd>([0-9,]+) in all/).map { String($0.1) }
                shown.append(Int(count?.replacingOccurrences(of: ",", with: "") ?? "") ?? -1)
            }
            #expect(shown == [1, 2, 3, 4, 5], "each reader sees the count with their own view: \(shown)")
            await portal.environment.views.flush()
            let counts = try await portal.environment.state.viewCounts(kind: "metric", since: nil)
            #expect(counts["metric/signups"] == 5)
        }
    }

    /// The short version of Benchmarks/soak.sh: many readers and a mix of pages at once, a
    /// page cache small enough to evict: no error, every view recorded exactly once, and the
    /// cache within its bound in bytes.
    @Test func aShortSoakLosesNoViewAndKeepsTheCacheInItsBound() async throws {
        let capacity = 1 << 20
        let portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"]), dashboards: true, pageCacheBytes: capacity)
        let domains = [try await TemplateRenderTests.domain(1), try await TemplateRenderTests.domain(2)]
        let groupSets = [["everyone"], ["everyone", "finance"], ["executives"], ["growth", "product"]]
        let mix: [(path: String, countsView: Bool)] =
            [
                ("/reports/growth-overview", true), ("/reports/revenue-overview", true), ("/glossary/signups", true),
                ("/api/reports/growth-overview", true), ("/", false), ("/browse", false), ("/glossary", false),
                ("/teams", false), ("/search?q=signups", false), ("/api/suggest?q=sig", false),
                ("/search?q=revenue", false),
            ] + domains.map { ("/templates/customer?domain=\($0)", true) }
        let counted = try await portal.test { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        var counted = 0
                        for request in 0..<50 {
                            let n = worker * 50 + request
                            let (path, countsView) = mix[(n * 7) % mix.count]
                            let headers = identity(
                                "reader\(n % 300)@larkspur.io", groups: groupSets[n % groupSets.count])
                            let response = try await client.get(path, headers: headers)
                            #expect(response.status == .ok, "\(path) for reader \(n % 300)")
                            if countsView && response.status == .ok { counted += 1 }
                        }
                        return counted
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        await portal.environment.views.flush()
        let stored = try await portal.environment.state.viewCounts(kind: nil, since: nil).values.reduce(0, +)
        #expect(stored == counted, "views in the state store vs view-counting requests answered")
        let figures = portal.environment.pageCacheFigures
        #expect(figures.bytes <= capacity, "the page cache holds \(figures.bytes) bytes, over its \(capacity)")
        #expect(figures.entries > 0)
    }

    @Test func metricsAreValidPrometheusTextWithTheFamiliesAnOperatorNeeds() async throws {
        let portal = try await TestPortal.make(dashboards: true)
        let domain = try await TemplateRenderTests.domain(1)
        let exposition = try await portal.test { client in
            for path in [
                "/reports/growth-overview", "/reports/growth-overview", "/search?q=signups", "/search?q=zzzqqqxx",
                "/api/search?q=signups", "/api/search?q=signups",
                "/api/suggest?q=sig", "/templates/customer?domain=\(domain)", "/no-such-page",
            ] {
                _ = try await client.get(path)
            }
            await portal.environment.views.flush()
            let response = try await client.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            return response.text
        }
        let required = [
            "http_server_requests_total", "http_server_request_duration_seconds", "almanac_cache_requests_total",
            "almanac_cache_bytes", "almanac_cache_capacity_bytes", "almanac_search_duration_seconds",
            "almanac_search_zero_results_total", "almanac_views_recorded_total", "almanac_views_written_total",
            "almanac_views_buffered", "almanac_warehouse_query_duration_seconds",
            "almanac_state_query_duration_seconds",
            "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds",
        ]
        let families = try Self.parse(exposition, requiring: required)
        func samples(_ family: String) -> [(name: String, labels: [String: String], value: Double)] {
            guard let entry = families[family] as? [String: Any], let rows = entry["samples"] as? [[Any]] else {
                return []
            }
            return rows.compactMap { row in
                guard row.count == 3, let name = row[0] as? String, let labels = row[1] as? [String: String] else {
                    return nil
                }
                return (name, labels, (row[2] as? Double) ?? (row[2] as? Int).map(Double.init) ?? .nan)
            }
        }
        // prometheus_client names a counter's family without `_total`.
        let requests = samples("http_server_requests")
        #expect(
            requests.contains {
                $0.labels["http_route"] == "/reports/{id}" && $0.labels["http_response_status_code"] == "200"
                    && $0.value >= 2
            }, "requests per route and status")
        #expect(
            samples("http_server_request_duration_seconds").contains {
                $0.name.hasSuffix("_bucket") && $0.labels["http_route"] == "/reports/{id}" && $0.labels["le"] == "+Inf"
            }, "a latency histogram per route")
        #expect(samples("almanac_cache_requests").contains { $0.labels["cache"] == "page" && $0.value > 0 })
        #expect(
            samples("almanac_cache_requests").contains {
                $0.labels["cache"] == "search" && $0.labels["result"] == "hit" && $0.value > 0
            }, "search answers kept")
        #expect(samples("almanac_search_zero_results").contains { $0.labels["kind"] == "search" && $0.value >= 1 })
        #expect(samples("process_resident_memory_bytes").first.map { $0.value > 1_000_000 } == true)
    }

    /// Parses a Prometheus text exposition with the official Python client's parser
    /// (`scripts/check-metrics`), failing on any error or missing family.
    static func parse(_ exposition: String, requiring families: [String]) throws -> [String: Any] {
        let directory = try TemporaryDirectory(prefix: "almanac-metrics")
        let file = directory.file("metrics.txt")
        try exposition.write(toFile: file, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments =
            ["python3", Repository.root + "/scripts/check-metrics", "--json"]
            + families.flatMap { ["--require", $0] } + [file]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(
            process.terminationStatus == 0,
            "scripts/check-metrics refused the exposition (run scripts/install-prerequisites --tests if prometheus_client is missing): \(message)"
        )
        let object = try JSONSerialization.jsonObject(with: data.isEmpty ? Data("{}".utf8) : data)
        return try #require(object as? [String: Any])
    }
}

/// The template cache keeps what it computed, however renders overlap in time.
@Suite(.timeLimit(.minutes(10))) struct TemplateRenderCacheTests {
    static func key(_ domain: String) -> TemplateRenderCache.Key {
        TemplateRenderCache.Key(
            template: "customer", values: ["domain": domain], catalogVersion: "v1", asOf: "2026-11-25")
    }

    @Test func aRenderFinishingLateKeepsTheRendersStartedWhileItComputed() async throws {
        let clock = ManualClock()
        let cache = TemplateRenderCache(clock: clock)
        let (released, release) = AsyncStream<Void>.makeStream()
        let slow = Task {
            try await cache.render(for: Self.key("slow.example")) {
                for await _ in released { break }
                return TemplateRender(html: Data("slow".utf8)) { [:] }
            }
        }
        #expect(try await eventually { cache.computed == 1 }, "the slow render started (at the first second)")
        clock.advance(by: .seconds(1))
        _ = try await cache.render(for: Self.key("quick.example")) { TemplateRender(html: Data("quick".utf8)) { [:] } }
        release.yield()
        _ = try await slow.value
        _ = try await cache.render(for: Self.key("quick.example")) { TemplateRender(html: Data("again".utf8)) { [:] } }
        _ = try await cache.render(for: Self.key("slow.example")) { TemplateRender(html: Data("again".utf8)) { [:] } }
        #expect(cache.computed == 2, "both renders were kept: none computed again")
        clock.advance(by: cache.timeToLive)
        _ = try await cache.render(for: Self.key("quick.example")) { TemplateRender(html: Data("later".utf8)) { [:] } }
        #expect(cache.computed == 3, "after the time to live, computed again")
    }

    @Test func theCacheStaysWithinItsBoundInBytes() async throws {
        let cache = TemplateRenderCache(capacityBytes: 100_000, clock: ManualClock())
        for n in 0..<50 {
            _ = try await cache.render(for: Self.key("d\(n).example")) {
                TemplateRender(html: Data(repeating: 65, count: 10_000)) { [:] }
            }
            #expect(cache.bytes <= 100_000)
        }
        // The most recently used render is still there.
        _ = try await cache.render(for: Self.key("d49.example")) { TemplateRender(html: Data()) { [:] } }
        #expect(cache.computed == 50)
    }
}
