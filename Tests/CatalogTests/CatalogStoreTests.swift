import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Logging
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(10))) struct CatalogStoreTests {
    @Test func aBrokenEditKeepsTheLastGoodCatalogAndAFixSwapsIn() throws {
        let directory = try TemporaryDirectory()
        let path = try CatalogFixture.copyDemo(into: directory)
        let store = try CatalogStore(directory: path)
        let original = store.current
        #expect(store.reloadIfChanged().isUnchanged)

        let metric = path + "/metrics/signups.yaml"
        try CatalogFixture.edit(metric, replacing: "source: users", with: "source: userz")
        guard case .rejected(let diagnostics) = store.reloadIfChanged(force: true) else {
            Issue.record("a broken edit must be rejected")
            return
        }
        #expect(diagnostics.contains { $0.message.contains("unknown source 'userz'") })
        #expect(store.current.version == original.version)
        #expect(!store.status.rejectedDiagnostics.isEmpty)

        try CatalogFixture.edit(metric, replacing: "source: userz", with: "source: users")
        try CatalogFixture.edit(metric, replacing: "name: Sign-ups", with: "name: Sign-ups (all)")
        guard case .updated(let previous, let current) = store.reloadIfChanged(force: true) else {
            Issue.record("a fixed edit must be swapped in")
            return
        }
        #expect(previous.version == original.version)
        #expect(current.metric("signups")?.name == "Sign-ups (all)")
        #expect(store.status.rejectedDiagnostics.isEmpty)
        let changes = CatalogChanges(from: previous, to: current)
        #expect(changes.changed == [ItemKey(.metric, "signups")])
        #expect(changes.added.isEmpty && changes.removed.isEmpty)
    }

    @Test func aStoreDoesNotStartOnABrokenCatalog() throws {
        #expect(throws: CatalogLoadFailure.self) {
            try CatalogStore(directory: BrokenCatalogTests.fixtures + "/broken")
        }
    }
}

extension CatalogReloadOutcome {
    var isUnchanged: Bool {
        if case .unchanged = self { return true }
        return false
    }
}

@Suite(.timeLimit(.minutes(10))) struct AccessPolicyTests {
    let catalog = CatalogLoader.load(directory: BrokenCatalogTests.fixtures + "/minimal").catalog!

    @Test func restrictedItemsAreInvisibleToOutsiders() {
        let outsider = CatalogView(catalog, viewer: Viewer(user: "ann", groups: ["growth"]))
        #expect(outsider.report("board") == nil)
        #expect(outsider.metric("revenue") == nil)
        #expect(outsider.team("finance") == nil)
        #expect(!outsider.reports.contains { $0.id == "board" })
        #expect(!outsider.tagCounts.contains { $0.tag == "finance" })
        #expect(outsider.reports(using: "revenue").isEmpty)
    }

    @Test func groupMembersAndAdminsSeeThem() {
        let member = CatalogView(catalog, viewer: Viewer(user: "fin", groups: ["finance"]))
        #expect(member.report("board") != nil)
        #expect(member.metric("revenue") != nil)
        let admin = CatalogView(catalog, viewer: Viewer(user: "root", groups: [], isAdmin: true))
        #expect(admin.report("board") != nil)
    }

    @Test func aVisibleReportDoesNotMakeItsRestrictedMetricVisible() {
        let view = CatalogView(catalog, viewer: Viewer(user: "ann", groups: ["growth"]))
        #expect(view.metrics.allSatisfy { $0.access.isEmpty })
    }
}

/// The watcher looks at the files on its clock: an edit is taken at the next look, never
/// before, and once however many looks follow.
@Suite(.timeLimit(.minutes(10))) struct CatalogWatcherTests {
    /// The catalogs the watcher swapped in, in order.
    final class Updates: Sendable {
        private let titles = Mutex<[String]>([])
        func add(_ catalog: Catalog) {
            titles.withLock { $0.append(catalog.report("growth-overview")?.title ?? "?") }
        }
        var all: [String] { titles.withLock { $0 } }
    }

    @Test func anEditIsTakenAtTheNextLookAndOnlyOnce() async throws {
        let directory = try TemporaryDirectory()
        let path = try CatalogFixture.copyDemo(into: directory)
        let store = try CatalogStore(directory: path)
        let clock = ManualClock()
        let updates = Updates()
        let watcher = CatalogWatcher(store: store, interval: .seconds(2), clock: clock, logger: Logger(label: "test")) {
            _, current in updates.add(current)
        }
        try await whileRunning([watcher]) { () async throws in
            await clock.sleepers(atLeast: 1)
            try CatalogFixture.edit(
                path + "/reports/growth-overview.yaml", replacing: "title: Growth overview",
                with: "title: Growth at a glance")
            #expect(store.current.report("growth-overview")?.title == "Growth overview", "not before the look")
            // A look comes within the watcher's longest wait, however long its looks take.
            clock.advance(by: CatalogWatcher.longestWait)
            await clock.sleepers(atLeast: 1)
            #expect(updates.all == ["Growth at a glance"])
            #expect(store.current.report("growth-overview")?.title == "Growth at a glance")
            // Later looks find nothing new.
            for _ in 0..<3 {
                clock.advance(by: CatalogWatcher.longestWait)
                await clock.sleepers(atLeast: 1)
            }
            #expect(updates.all == ["Growth at a glance"])
            #expect(store.status.lastCheckedAt == clock.date, "it looked at the last beat too")
        }
    }
}
