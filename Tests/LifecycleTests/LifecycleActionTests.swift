import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Storage
import Testing

/// Every transition and permission of ``LifecycleService/validate``, on the demo catalog.
@Suite(.timeLimit(.minutes(10))) struct LifecycleActionTests {
    let catalog = TestWarehouse.demoCatalog
    let now = Date(timeIntervalSince1970: 1_790_000_000)
    /// A member of growth, by e-mail.
    let priya = Viewer(user: "priya.raman@larkspur.io", groups: ["everyone"])
    /// Someone in no team.
    let outsider = Viewer(user: "visitor@larkspur.io", groups: ["everyone"])
    let admin = Viewer(user: "root@larkspur.io", groups: ["data-platform"], isAdmin: true)

    func act(
        _ action: LifecycleAction, _ id: String, by viewer: Viewer? = nil, reason: String? = nil,
        replacement: String? = nil, team: String? = nil, in catalog: Catalog? = nil
    ) throws(LifecycleError) -> LifecycleEvent {
        try act(action, .report, id, by: viewer, reason: reason, replacement: replacement, team: team, in: catalog)
    }

    func act(
        _ action: LifecycleAction, _ kind: ItemKind, _ id: String, by viewer: Viewer? = nil,
        reason: String? = nil, replacement: String? = nil, team: String? = nil, in catalog: Catalog? = nil
    ) throws(LifecycleError) -> LifecycleEvent {
        try LifecycleService.validate(
            LifecycleRequest(action: action, kind: kind, id: id, reason: reason, replacement: replacement, team: team),
            by: viewer ?? priya, in: catalog ?? self.catalog, now: now)
    }

    func error(_ body: () throws -> LifecycleEvent) -> LifecycleError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? LifecycleError
        }
    }

    @Test func onlyTheOwningTeamsMembersAndAdminsMayAct() throws {
        // activation-funnel is owned by growth.
        let event = try act(.deprecate, "activation-funnel", reason: "Superseded")
        #expect(event.action == .deprecated && event.actor == "priya.raman@larkspur.io" && event.detail == "Superseded")
        #expect(try act(.deprecate, "activation-funnel", by: admin, reason: "Superseded").actor == "root@larkspur.io")
        // The local part of a member's e-mail, and an SSO group named like the team, are members too.
        _ = try act(.deprecate, "activation-funnel", by: Viewer(user: "priya.raman"), reason: "x")
        _ = try act(.deprecate, "activation-funnel", by: Viewer(user: "someone", groups: ["growth"]), reason: "x")
        guard
            case .forbidden(let message) = error({ try act(.deprecate, "activation-funnel", by: outsider, reason: "x") }
            )
        else {
            Issue.record("an outsider may not deprecate")
            return
        }
        #expect(message.contains("Growth"), "names the owners: \(message)")
        #expect(error { try act(.certify, .metric, "signups", by: outsider) } != nil)
    }

    @Test func aRestrictedItemIsNotFoundForThoseWhoMayNotSeeIt() throws {
        // board-metrics is restricted to executives.
        let report = try #require(catalog.report(ReportID("board-metrics")))
        #expect(!report.access.isEmpty)
        let insider = Viewer(user: "x@larkspur.io", groups: ["growth"])
        #expect(
            error { try act(.retire, "board-metrics", by: insider, reason: "x") }
                == .notFound("there is no report 'board-metrics'"))
        #expect(
            error { try act(.retire, "no-such-report", reason: "x") }
                == .notFound("there is no report 'no-such-report'"))
    }

    @Test func transitionsFollowDraftActiveDeprecatedRetired() throws {
        // board-metrics: draft (executives); legacy-signup-dashboard: deprecated; mobile-2-launch-tracker: retired.
        #expect(try act(.activate, "board-metrics", by: admin).action == .activated)
        #expect(error { try act(.activate, "activation-funnel") } != nil, "only drafts are activated")
        #expect(try act(.retire, "legacy-signup-dashboard", reason: "gone").action == .retired, "deprecated → retired")
        #expect(try act(.retire, "activation-funnel", reason: "gone").action == .retired, "active → retired")
        #expect(try act(.restore, "legacy-signup-dashboard").action == .restored, "deprecated → active")
        #expect(try act(.restore, "mobile-2-launch-tracker", by: admin).action == .restored, "retired → active")
        guard case .conflict = error({ try act(.retire, "mobile-2-launch-tracker", by: admin, reason: "x") }) else {
            Issue.record("a retired report cannot be retired again")
            return
        }
        guard case .conflict = error({ try act(.deprecate, "legacy-signup-dashboard", reason: "x") }) else {
            Issue.record("a deprecated report cannot be deprecated again")
            return
        }
        guard case .conflict = error({ try act(.restore, "activation-funnel") }) else {
            Issue.record("an active report cannot be restored")
            return
        }
    }

    @Test func deprecatingAndRetiringNeedAReasonAndAValidReplacement() throws {
        #expect(
            error { try act(.deprecate, "activation-funnel") } == .invalid(field: "reason", "say why it is deprecated"))
        #expect(
            error { try act(.retire, "activation-funnel", reason: "   ") }
                == .invalid(field: "reason", "say why it is retired"))
        #expect(
            error { try act(.deprecate, "activation-funnel", reason: "x", replacement: "nope") }
                == .invalid(field: "replacement", "there is no report 'nope'"))
        #expect(
            error { try act(.deprecate, "activation-funnel", reason: "x", replacement: "activation-funnel") }
                == .invalid(field: "replacement", "report 'activation-funnel' cannot replace itself"))
        #expect(
            error { try act(.deprecate, "activation-funnel", reason: "x", replacement: "mobile-2-launch-tracker") }
                == .invalid(field: "replacement", "report 'mobile-2-launch-tracker' is not active itself"))
        let event = try act(.deprecate, "activation-funnel", reason: "Merged", replacement: "growth-overview")
        #expect(event.replacement == "growth-overview")
        #expect(error { try act(.deprecate, "activation-funnel", reason: String(repeating: "x", count: 501)) } != nil)
    }

    @Test func transferNeedsAnotherExistingTeam() throws {
        let event = try act(.transfer, "activation-funnel", team: "marketing")
        #expect(event.action == .ownershipTransferred && event.value == "marketing")
        #expect(
            error { try act(.transfer, "activation-funnel", team: "nobody") }
                == .invalid(field: "team", "there is no team 'nobody' that you can see"))
        guard case .conflict = error({ try act(.transfer, "activation-funnel", team: "growth") }) else {
            Issue.record("a transfer to the owner itself is refused")
            return
        }
        #expect(
            error { try act(.transfer, "activation-funnel") }
                == .invalid(field: "team", "name the team that takes it over"))
        let template = try #require(catalog.templates.first)
        let owner = try #require(catalog.team(template.owner))
        let member = Viewer(user: try #require(owner.members.first?.email))
        #expect(try act(.transfer, .template, template.id.rawValue, by: member, team: "finance").value == "finance")
    }

    @Test func certificationIsForMetricsAndChangesSomething() throws {
        let certified = try #require(catalog.metrics.first { $0.certified })
        let plain = try #require(catalog.metrics.first { !$0.certified && $0.access.isEmpty })
        #expect(try act(.uncertify, .metric, certified.id.rawValue, by: admin).action == .uncertified)
        #expect(try act(.certify, .metric, plain.id.rawValue, by: admin).action == .certified)
        guard case .conflict = error({ try act(.certify, .metric, certified.id.rawValue, by: admin) }) else {
            Issue.record("certifying a certified metric is refused")
            return
        }
        guard case .invalid(field: "action", _) = error({ try act(.certify, .report, "activation-funnel") }) else {
            Issue.record("reports are not certified")
            return
        }
        guard case .invalid(field: "action", _) = error({ try act(.keep, .metric, plain.id.rawValue, by: admin) })
        else {
            Issue.record("keep is for reports")
            return
        }
    }

    @Test func keepSnoozesForThePolicysPeriod() throws {
        let event = try act(.keep, "activation-funnel")
        #expect(event.action == .kept)
        let expected = CalendarDay(now.addingTimeInterval(Double(catalog.settings.retirement.keepFor.seconds)))
        #expect(event.value == expected.description)
        guard case .conflict = error({ try act(.keep, "mobile-2-launch-tracker", by: admin) }) else {
            Issue.record("a retired report is not kept")
            return
        }
    }

    @Test func aMetricUsedByLiveReportsIsRetiredOnlyWithAReplacement() throws {
        let used = MetricID("signups")
        let users = LifecycleService.lineage(of: used, in: catalog)
        #expect(users.contains("report 'growth-overview'"), "\(users)")
        guard
            case .invalid(field: "replacement", let message) = error({
                try act(.retire, .metric, "signups", by: admin, reason: "x")
            })
        else {
            Issue.record("retiring a used metric without a replacement is refused")
            return
        }
        #expect(message.contains("report 'growth-overview'"))
        let event = try act(.retire, .metric, "signups", by: admin, reason: "Renamed", replacement: "activated_users")
        #expect(event.replacement == "activated_users")
        // Deprecating needs no replacement: the reports keep working.
        _ = try act(.deprecate, .metric, "signups", by: admin, reason: "Renamed soon")
        // A metric nothing uses can be retired without one.
        let unused = catalog.metrics.first {
            LifecycleService.lineage(of: $0.id, in: catalog).isEmpty && $0.access.isEmpty
        }
        if let unused {
            #expect(try act(.retire, .metric, unused.id.rawValue, by: admin, reason: "unused").action == .retired)
        }
    }

    @Test func whatUsesAMetricIsNamedOnlyWhenTheActorMaySeeIt() throws {
        // signups (growth) is used by executive-weekly, which only executives may see.
        guard
            case .invalid(field: "replacement", let message) = error({
                try act(.retire, .metric, "signups", reason: "x")
            })
        else {
            Issue.record("retiring a used metric without a replacement is refused")
            return
        }
        #expect(!message.contains("executive-weekly"), "\(message)")
        #expect(message.contains("report 'growth-overview'") && message.contains("1 more you cannot see"))
        // Nor can a report be handed to a team the actor may not see.
        var hidden = catalog
        hidden.teams = hidden.teams.map { team in
            var team = team
            if team.id == TeamID("finance") { team.access = ["finance"] }
            return team
        }
        #expect(
            error { try act(.transfer, "activation-funnel", team: "finance", in: hidden) }
                == .invalid(field: "team", "there is no team 'finance' that you can see"))
    }
}
