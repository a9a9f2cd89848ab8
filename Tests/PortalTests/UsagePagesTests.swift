import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Lifecycle
import NIOCore
import Portal
import Storage
import Testing

/// Usage figures on pages (a report's 7/30/90 days, trend and sparkline; most viewed and
/// trending on the home page) and "My reports", over a constructed view history.
@Suite(.timeLimit(.minutes(10))) struct UsagePagesTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)  // 2026-09-21 (UTC)
    static let day = 86_400.0

    /// A portal whose state store has known the catalog for 100 days, with `views` recorded.
    static func portal(views: [ViewEvent]) async throws -> TestPortal {
        let portal = try await LifecycleRoutesTests.portal(now: now)
        let state = portal.environment.state
        try await state.migrate()
        let declared = portal.environment.catalog.declared
        _ = try await state.syncCatalogItems(
            LifecycleLedger.itemStates(declared), catalogVersion: declared.version,
            at: now.addingTimeInterval(-100 * day))
        try await state.recordViews(views)
        return portal
    }

    static func views(
        _ id: String, count: Int, daysAgo: Double, viewers: Int = 1, kind: String = "report"
    ) -> [ViewEvent] {
        (0..<count).map {
            ViewEvent(
                itemKind: kind, itemID: id, viewer: "user\($0 % viewers)@larkspur.io",
                viewedAt: now.addingTimeInterval(-daysAgo * day + Double($0)))
        }
    }

    @Test func aReportPageShowsItsUsageWithTrendAndSparkline() async throws {
        // growth-overview: 12 views by 4 people this week, 6 more 20 days ago, 3 (by 1) 45 days ago.
        let history =
            Self.views("growth-overview", count: 12, daysAgo: 2, viewers: 4)
            + Self.views("growth-overview", count: 6, daysAgo: 20, viewers: 2)
            + Self.views("growth-overview", count: 3, daysAgo: 45)
        let portal = try await Self.portal(views: history)
        try await portal.test { client in
            // Read as a monitor would (not counted), so the figures are exactly the constructed history.
            var monitor = LifecycleRoutesTests.visitor
            monitor[.userAgent] = "kube-probe/1.29"
            let api = try json(try await client.get("/api/reports/growth-overview", headers: monitor))
            let usage = try #require(api["usage"] as? [String: Any])
            let rows = try #require(usage["rows"] as? [[String: Any]])
            #expect(rows.map { $0["views"] as? Int } == [12, 18, 21])
            #expect(rows.map { $0["viewers"] as? Int } == [4, 4, 4])
            #expect(usage["trendText"] as? String == "▲ 500% on the 30 days before (3)")
            let daily = try #require(usage["daily"] as? [Int])
            #expect(daily.count == 90 && daily.reduce(0, +) == 21 && daily[87] == 12)
            let page = text(try await client.get("/reports/growth-overview", headers: monitor))
            #expect(page.contains("<svg class=\"sparkline\""))
            #expect(page.contains("18 views by 4 people in the last 30 days"))
        }
    }

    @Test func theHomePageShowsMostViewedAndTrending() async throws {
        // daily-signups: steady (5 a week for weeks); activation-funnel: quiet last week, busy this week.
        var history: [ViewEvent] = []
        for week in 0..<4 { history += Self.views("daily-signups", count: 5, daysAgo: Double(week * 7 + 1)) }
        history += Self.views("activation-funnel", count: 1, daysAgo: 10)
        history += Self.views("activation-funnel", count: 9, daysAgo: 1)
        let portal = try await Self.portal(views: history)
        try await portal.test { client in
            let home = try json(try await client.get("/api/home", headers: LifecycleRoutesTests.visitor))
            let viewed = try #require(home["mostViewed"] as? [[String: Any]])
            #expect(viewed.map { $0["title"] as? String } == ["Daily sign-ups", "Activation funnel"])
            #expect(viewed.first?["viewsText"] as? String == "20 views in 30 days")
            let trending = try #require(home["trending"] as? [[String: Any]])
            #expect(trending.first?["title"] as? String == "Activation funnel")
            #expect(trending.first?["viewsText"] as? String == "9 views this week, 1 the week before")
            #expect(!trending.contains { $0["title"] as? String == "Daily sign-ups" }, "steady is not trending")
        }
    }

    @Test func myReportsListsTheTeamsCandidatesAndKeepSnoozesThem() async throws {
        // Every live growth report is read except activation-funnel (1 view in 90 days).
        let growth = TestWarehouse.demoCatalog.reports.filter { $0.owner == TeamID("growth") && $0.status.isLive }
            .map(\.id.rawValue)
        var history: [ViewEvent] = []
        for id in growth where id != "activation-funnel" { history += Self.views(id, count: 8, daysAgo: 3) }
        history += Self.views("activation-funnel", count: 1, daysAgo: 30)
        let seeded = try await Self.portal(views: history)
        try await seeded.test { client in
            let mine = try json(try await client.get("/api/me/reports", headers: LifecycleRoutesTests.priya))
            let teams = try #require(mine["teams"] as? [[String: Any]])
            #expect(teams.map { $0["name"] as? String } == ["Growth"])
            let candidates = try #require(teams.first?["candidates"] as? [[String: Any]])
            #expect(candidates.map { $0["id"] as? String } == ["activation-funnel"])
            #expect(
                candidates.first?["viewsInWindow"] as? Int == 1 && candidates.first?["ageText"] as? String == "100 days"
            )
            let page = text(try await client.get("/me/reports", headers: LifecycleRoutesTests.priya))
            #expect(page.contains("Activation funnel") && page.contains("value=\"keep\""))

            let kept = try await LifecycleRoutesTests.post(
                client, "/lifecycle/report/activation-funnel", ["action": "keep"], as: LifecycleRoutesTests.priya)
            #expect(kept.status == .seeOther && kept.headers[.location] == "/me/reports")
            let after = try json(try await client.get("/api/me/reports", headers: LifecycleRoutesTests.priya))
            let team = try #require((after["teams"] as? [[String: Any]])?.first)
            #expect((team["candidates"] as? [[String: Any]])?.isEmpty == true)
            #expect((team["kept"] as? [[String: Any]])?.first?["until"] as? String == "2026-12-20")

            // Another team's page is for its members and admins.
            let other = try await client.get("/api/me/reports?team=growth", headers: LifecycleRoutesTests.visitor)
            #expect(other.status == .forbidden)
            let admin = try await client.get("/api/me/reports?team=growth", headers: LifecycleRoutesTests.admin)
            #expect(admin.status == .ok)
        }
    }
}
