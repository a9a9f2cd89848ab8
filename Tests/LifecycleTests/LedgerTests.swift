import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Logging
import Storage
import Synchronization
import Testing

/// Actions recorded in a real SQLite state store, folded into the catalog the portal serves,
/// overridden by later file edits, reviewed on a clock, and exported back to the files.
@Suite(.timeLimit(.minutes(10))) struct LedgerTests {
    /// A copy of the demo catalog, its state store synced at `start`, and a movable clock.
    struct Fixture {
        let directory: TemporaryDirectory
        let catalogPath: String
        let store: CatalogStore
        let state: SQLiteStateStore
        let clock: ManualClock
        let lifecycle: LifecycleService

        init(start: Date = Date(timeIntervalSince1970: 1_780_000_000)) async throws {
            directory = try TemporaryDirectory(prefix: "almanac-ledger")
            catalogPath = try CatalogFixture.copyDemo(into: directory)
            store = try CatalogStore(directory: catalogPath)
            state = try SQLiteStateStore(path: directory.file("state.sqlite"))
            try await state.migrate()
            clock = ManualClock(now: start)
            lifecycle = LifecycleService(catalog: store, state: state, logger: Logger(label: "test"), clock: clock)
            try await sync()
        }

        /// What the portal does after every catalog load.
        func sync() async throws {
            let declared = store.declared
            let items = LifecycleLedger.itemStates(declared)
            _ = try await state.syncCatalogItems(items, catalogVersion: declared.version, at: clock.date)
            try await lifecycle.reloadOverlay()
        }

        func report(_ id: String) -> Report? { store.current.report(ReportID(id)) }

        /// Makes activation-funnel, which nobody opens, a retirement candidate: the policy flags
        /// reports known for 30 days (deprecated 14 days after), 40 days pass, and every other
        /// live report gets five views.
        func makeActivationFunnelACandidate() async throws {
            var settings = try String(contentsOfFile: catalogPath + "/almanac.yaml", encoding: .utf8)
            settings = settings.replacingOccurrences(of: "older_than: 60d", with: "older_than: 30d")
                .replacingOccurrences(of: "auto_deprecate_after: 30d", with: "auto_deprecate_after: 14d")
            try settings.write(toFile: catalogPath + "/almanac.yaml", atomically: true, encoding: .utf8)
            _ = store.reloadIfChanged(force: true)
            clock.advance(by: .days(40))
            var views: [ViewEvent] = []
            for report in store.current.reports
            where report.status.isLive && report.id.rawValue != "activation-funnel" {
                for n in 0..<5 {
                    views.append(
                        ViewEvent(
                            itemKind: "report", itemID: report.id.rawValue, viewer: "user\(n)",
                            viewedAt: clock.date.addingTimeInterval(-Double(n) * 3600)))
                }
            }
            try await state.recordViews(views)
        }
    }

    let priya = Viewer(user: "priya.raman@larkspur.io")
    let admin = Viewer(user: "root", isAdmin: true)

    @Test func actionsAreAppendedAndServedAsAnOverlay() async throws {
        let fixture = try await Fixture()
        let before = fixture.store.current.revision
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(
                action: .deprecate, kind: .report, id: "activation-funnel", reason: "Merged into the overview",
                replacement: "growth-overview"), by: priya)
        var report = try #require(fixture.report("activation-funnel"))
        #expect(report.status == .deprecated && report.statusReason == "Merged into the overview")
        #expect(report.replacedBy == ReportID("growth-overview"))
        #expect(fixture.store.current.revision != before, "caches key on the revision")
        #expect(
            fixture.store.declared.report(ReportID("activation-funnel"))?.status == .active, "the files are untouched")

        fixture.clock.advance(by: .days(1))
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .transfer, kind: .report, id: "activation-funnel", team: "product"), by: priya)
        // Priya is no longer an owner; product's members and admins are.
        await #expect(throws: LifecycleError.self) {
            try await fixture.lifecycle.perform(
                LifecycleRequest(action: .restore, kind: .report, id: "activation-funnel"), by: priya)
        }
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .restore, kind: .report, id: "activation-funnel"), by: admin)
        report = try #require(fixture.report("activation-funnel"))
        #expect(report.status == .active && report.statusReason == nil && report.owner == TeamID("product"))
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .certify, kind: .metric, id: "app_users"), by: admin)
        #expect(fixture.store.current.metric(MetricID("app_users"))?.certified == true)

        let history = try await fixture.state.lifecycleEvents(kind: "report", id: "activation-funnel")
        #expect(
            history.prefix(3).map(\.action) == [.restored, .ownershipTransferred, .deprecated],
            "every action stays in the log, newest first")
        #expect(history[2].actor == "priya.raman@larkspur.io" && history[2].replacement == "growth-overview")
        #expect(history[1].value == "product")
    }

    @Test func aFileThatChangesTheStatusLaterWinsAndUnrelatedEditsDoNot() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .deprecate, kind: .report, id: "activation-funnel", reason: "Old"), by: priya)
        // An unrelated edit to the same file keeps the action.
        fixture.clock.advance(by: .days(1))
        let file = fixture.catalogPath + "/reports/activation-funnel.yaml"
        try CatalogFixture.edit(file, replacing: "title: Activation funnel", with: "title: Activation funnel (weekly)")
        _ = fixture.store.reloadIfChanged(force: true)
        try await fixture.sync()
        #expect(fixture.report("activation-funnel")?.status == .deprecated)
        #expect(fixture.report("activation-funnel")?.title == "Activation funnel (weekly)")
        // Someone sets the status in git afterwards: the file speaks.
        fixture.clock.advance(by: .days(1))
        try CatalogFixture.edit(file, replacing: "status: active", with: "status: draft")
        _ = fixture.store.reloadIfChanged(force: true)
        try await fixture.sync()
        #expect(fixture.report("activation-funnel")?.status == .draft)
        #expect(fixture.store.overlay.isEmpty)
    }

    @Test func theReviewFlagsUnflagsAndDeprecatesAfterTheGracePeriod() async throws {
        let fixture = try await Fixture()
        try await fixture.makeActivationFunnelACandidate()
        let reviewer = RetirementReviewer(lifecycle: fixture.lifecycle)
        var outcome = try await reviewer.review()
        #expect(outcome.flagged == ["activation-funnel"] && outcome.deprecated.isEmpty)
        #expect(try await reviewer.review() == RetirementReviewer.Outcome(), "flagged once")

        fixture.clock.advance(by: .days(15))
        // Views from the last 40 days still count (window 90d); activation-funnel is still quiet.
        outcome = try await reviewer.review()
        #expect(outcome.deprecated == ["activation-funnel"])
        let report = try #require(fixture.report("activation-funnel"))
        #expect(report.status == .deprecated && report.statusReason?.contains("Deprecated automatically") == true)
        let history = try await fixture.state.lifecycleEvents(kind: "report", id: "activation-funnel")
        #expect(history.first?.action == .deprecated && history.first?.actor == nil)

        // Views come back: the flag is lifted (the deprecation stays, for its owners to undo).
        try await fixture.state.recordViews(
            (0..<6).map {
                ViewEvent(
                    itemKind: "report", itemID: "activation-funnel", viewer: "u\($0)", viewedAt: fixture.clock.date)
            })
        outcome = try await reviewer.review()
        #expect(outcome.unflagged == ["activation-funnel"])
    }

    @Test func exportWritesTheOverlayIntoTheFilesAndGitTakesOver() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(
                action: .retire, kind: .report, id: "activation-funnel", reason: "Nobody reads it: \"0 views\"",
                replacement: "growth-overview"), by: priya)
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .restore, kind: .report, id: "legacy-signup-dashboard"), by: priya)
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .uncertify, kind: .metric, id: "signups"), by: admin)
        let patches = LifecycleExport.patches(
            overlay: fixture.store.overlay, declared: fixture.store.declared, directory: fixture.catalogPath)
        let yaml = LifecycleExport.yaml(patches, generatedAt: fixture.clock.date)
        #expect(
            yaml.contains(
                "reports/activation-funnel.yaml:\n  status: retired\n  status_reason: \"Nobody reads it: \\\"0 views\\\"\"\n  replaced_by: growth-overview\n"
            ))
        #expect(
            yaml.contains(
                "reports/legacy-signup-dashboard.yaml:\n  status: active\n  status_reason: null\n  replaced_by: null\n")
        )
        #expect(yaml.contains("metrics/signups.yaml:\n  certified: false\n"))

        let written = try LifecycleExport.write(patches, directory: fixture.catalogPath)
        #expect(written.count == 3)
        let text = try String(
            contentsOfFile: fixture.catalogPath + "/reports/legacy-signup-dashboard.yaml", encoding: .utf8)
        #expect(text.contains("status: active\n") && !text.contains("status_reason") && !text.contains("replaced_by"))
        #expect(text.contains("panels:"), "the rest of the file is as it was")
        let reloaded = try #require(CatalogLoader.load(directory: fixture.catalogPath).catalog)
        #expect(reloaded.report(ReportID("activation-funnel"))?.statusReason == "Nobody reads it: \"0 views\"")
        #expect(reloaded.metric(MetricID("signups"))?.certified == false)
        // Once the files say it, the overlay has nothing left to add.
        fixture.clock.advance(by: .days(1))
        _ = fixture.store.reloadIfChanged(force: true)
        try await fixture.sync()
        #expect(fixture.store.overlay.isEmpty)
        #expect(fixture.report("activation-funnel")?.status == .retired)
    }

    @Test func aFailedExportPutsEveryFileBack() async throws {
        let fixture = try await Fixture()
        let file = fixture.catalogPath + "/reports/activation-funnel.yaml"
        let before = try Data(contentsOf: URL(fileURLWithPath: file))
        let broken = LifecycleExport.FilePatch(
            file: "reports/activation-funnel.yaml", item: ItemKey(.report, "activation-funnel"),
            keys: [("status", "bogus")])
        #expect(throws: LifecycleExportError.self) {
            try LifecycleExport.write([broken], directory: fixture.catalogPath)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == before)
    }

    @Test func actionsTakenWhileAnExportTravelsThroughGitAreKept() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .deprecate, kind: .report, id: "activation-funnel", reason: "Old"), by: priya)
        let patches = LifecycleExport.patches(
            overlay: fixture.store.overlay, declared: fixture.store.declared, directory: fixture.catalogPath)
        _ = try LifecycleExport.write(patches, directory: fixture.catalogPath)
        // Retired in the portal before the exported files are deployed (picked up below).
        fixture.clock.advance(by: .days(1))
        _ = try await fixture.lifecycle.perform(
            LifecycleRequest(action: .retire, kind: .report, id: "activation-funnel", reason: "Gone"), by: priya)
        fixture.clock.advance(by: .days(1))
        _ = fixture.store.reloadIfChanged(force: true)
        try await fixture.sync()
        #expect(fixture.store.declared.report(ReportID("activation-funnel"))?.status == .deprecated)
        #expect(fixture.report("activation-funnel")?.status == .retired, "the retirement after the export stands")
        #expect(fixture.report("activation-funnel")?.statusReason == "Gone")
    }

    @Test func aStatusSetInGitVoidsTheReviewsFlag() async throws {
        let fixture = try await Fixture()
        fixture.clock.advance(by: .days(100))
        let reviewer = RetirementReviewer(lifecycle: fixture.lifecycle)
        _ = try await reviewer.review()  // nothing is read: every live report is flagged
        var report = try await reviewer.report()
        #expect(report.candidates.first { $0.id == "activation-funnel" }?.flaggedAt != nil)
        // The owners set the status in git (here: deprecated by hand): the flag is void.
        let file = fixture.catalogPath + "/reports/activation-funnel.yaml"
        try CatalogFixture.edit(file, replacing: "status: active", with: "status: deprecated")
        _ = fixture.store.reloadIfChanged(force: true)
        try await fixture.sync()
        report = try await reviewer.report()
        #expect(report.candidates.first { $0.id == "activation-funnel" }?.flaggedAt == nil)
        let outcome = try await reviewer.review()
        #expect(outcome.flagged.contains("activation-funnel"), "flagged again, from now")
    }
}
