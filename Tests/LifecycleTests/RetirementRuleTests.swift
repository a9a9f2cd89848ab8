import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Storage
import Testing

/// The candidate rule on constructed histories: views in the window, the report's age,
/// its status, "keep" and the flag that starts the grace period.
@Suite(.timeLimit(.minutes(10))) struct RetirementRuleTests {
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    let day = 86_400.0

    /// The demo catalog with a policy of fewer than 5 views in 30 days, older than 60 days,
    /// kept for 90 days, deprecated 14 days after being flagged.
    var catalog: Catalog {
        var catalog = TestWarehouse.demoCatalog
        catalog.settings.retirement.fewerThan = 5
        catalog.settings.retirement.window = TimeSpan(30, .days)
        catalog.settings.retirement.olderThan = TimeSpan(60, .days)
        catalog.settings.retirement.keepFor = TimeSpan(90, .days)
        catalog.settings.retirement.autoDeprecateAfter = TimeSpan(14, .days)
        return catalog
    }

    /// Every report first seen `age` days ago, except those given.
    func records(age: Double = 100, except ages: [String: Double] = [:]) -> [String: CatalogItemRecord] {
        Dictionary(
            uniqueKeysWithValues: catalog.reports.map { report in
                let seen = now.addingTimeInterval(-(ages[report.id.rawValue] ?? age) * day)
                return (
                    "report/\(report.id.rawValue)",
                    CatalogItemRecord(
                        kind: "report", id: report.id.rawValue, title: report.title, firstSeenAt: seen)
                )
            })
    }

    /// Every live report has 50 views in the window unless given.
    func views(_ overrides: [String: Int]) -> [String: Int] {
        var views = Dictionary(uniqueKeysWithValues: catalog.reports.map { ("report/\($0.id.rawValue)", 50) })
        for (id, count) in overrides { views["report/\(id)"] = count }
        return views
    }

    func evaluate(
        views: [String: Int], records: [String: CatalogItemRecord]? = nil, actions: [LifecycleEvent] = []
    ) -> RetirementReport {
        RetirementRule.evaluate(
            catalog: catalog, windowViews: views, totals: [:], records: records ?? self.records(), actions: actions,
            now: now)
    }

    func event(_ action: LifecycleEvent.Action, _ id: String, daysAgo: Double, value: String? = nil) -> LifecycleEvent {
        LifecycleEvent(
            itemKind: "report", itemID: id, action: action, title: id, actor: "priya",
            at: now.addingTimeInterval(-daysAgo * day),
            value: value)
    }

    @Test func fewerThanNViewsInTheWindowMakesACandidate() {
        let report = evaluate(views: views(["activation-funnel": 4, "growth-overview": 5, "daily-signups": 0]))
        #expect(report.candidates.map(\.id) == ["activation-funnel", "daily-signups"], "5 views is enough; 4 is not")
        let candidate = report.candidates.first { $0.id == "daily-signups" }
        #expect(candidate?.viewsInWindow == 0 && candidate?.ageDays == 100 && candidate?.owner == "marketing")
    }

    @Test func youngReportsAreNeverCandidates() {
        let young = records(except: ["activation-funnel": 59, "daily-signups": 61])
        let report = evaluate(views: views(["activation-funnel": 0, "daily-signups": 0]), records: young)
        #expect(report.candidates.map(\.id) == ["daily-signups"])
        // A report the state store has never seen has no age: not a candidate.
        var unseen = records()
        unseen["report/daily-signups"] = nil
        #expect(evaluate(views: views(["daily-signups": 0]), records: unseen).candidates.isEmpty)
    }

    @Test func draftsAndRetiredReportsAreNotCandidatesButDeprecatedOnesAre() {
        // board-metrics is a draft, mobile-2-launch-tracker retired, legacy-signup-dashboard deprecated.
        let report = evaluate(
            views: views(["board-metrics": 0, "mobile-2-launch-tracker": 0, "legacy-signup-dashboard": 0]))
        #expect(report.candidates.map(\.id) == ["legacy-signup-dashboard"])
        #expect(report.candidates.first?.autoDeprecateOn == nil, "already deprecated: nothing to do automatically")
        #expect(report.reviewed == catalog.reports.filter { $0.status.isLive }.count)
    }

    @Test func keepSnoozesUntilItsDayAndThenTheReportIsACandidateAgain() {
        let quiet = views(["activation-funnel": 1])
        let kept = evaluate(
            views: quiet, actions: [event(.kept, "activation-funnel", daysAgo: 10, value: "2026-09-01")])
        // now is 2026-09-21; kept until 2026-09-01 has passed.
        #expect(CalendarDay(now).description == "2026-09-21")
        #expect(kept.candidates.map(\.id) == ["activation-funnel"] && kept.kept.isEmpty)
        let snoozed = evaluate(
            views: quiet, actions: [event(.kept, "activation-funnel", daysAgo: 10, value: "2026-12-01")])
        #expect(snoozed.candidates.isEmpty)
        #expect(snoozed.kept.map(\.id) == ["activation-funnel"] && snoozed.kept.first?.by == "priya")
        let lastDay = evaluate(
            views: quiet, actions: [event(.kept, "activation-funnel", daysAgo: 1, value: "2026-09-21")])
        #expect(lastDay.candidates.isEmpty, "kept through its last day")
    }

    @Test func theFlagStartsTheGracePeriod() throws {
        let quiet = views(["activation-funnel": 0])
        let fresh = try #require(evaluate(views: quiet).candidates.first)
        #expect(fresh.flaggedAt == nil)
        #expect(fresh.autoDeprecateOn == now.addingTimeInterval(14 * day), "not flagged yet: 14 days from now")
        let flagged = try #require(
            evaluate(views: quiet, actions: [event(.flagged, "activation-funnel", daysAgo: 20)]).candidates.first)
        #expect(flagged.flaggedAt == now.addingTimeInterval(-20 * day))
        #expect(flagged.autoDeprecateOn == now.addingTimeInterval(-6 * day))
        // Unflagged (views came back), then flagged again: the grace period starts over.
        let again = try #require(
            evaluate(
                views: quiet,
                actions: [
                    event(.flagged, "activation-funnel", daysAgo: 40),
                    event(.unflagged, "activation-funnel", daysAgo: 30),
                    event(.flagged, "activation-funnel", daysAgo: 2),
                ]
            ).candidates.first)
        #expect(again.flaggedAt == now.addingTimeInterval(-2 * day))
    }
}
