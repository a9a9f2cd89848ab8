import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Lifecycle
import Storage
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
extension BinaryTests {
    /// `almanac lifecycle …` and `almanac usage stale` as an owner would use them.
    @Suite(.timeLimit(.minutes(10))) struct LifecycleCLITests {
        let directory: TemporaryDirectory
        let catalog: String
        let state: String

        init() throws {
            directory = try TemporaryDirectory(prefix: "almanac-lifecycle-cli")
            catalog = try CatalogFixture.copyDemo(into: directory)
            state = directory.file("state.sqlite")
        }

        func almanac(_ arguments: [String]) throws -> CLITests.Result {
            try CLITests.almanac(arguments + ["--catalog", catalog, "--state", state])
        }

        @Test func ownersActAndTheCatalogFilesFollowOnExport() throws {
            let deprecated = try almanac([
                "lifecycle", "deprecate", "report/activation-funnel", "--as", "priya.raman@larkspur.io", "--reason",
                "Merged into the overview", "--replacement", "growth-overview",
            ])
            #expect(deprecated.status == 0, "\(deprecated.stderr)")
            #expect(deprecated.stdout.hasPrefix("report/activation-funnel is deprecated, owned by growth"))

            let outsider = try almanac([
                "lifecycle", "retire", "report/activation-funnel", "--as", "ceo@example.com", "--reason", "x",
            ])
            #expect(outsider.status == 1 && outsider.stderr.contains("not a member of any team"))
            let notOwner = try almanac([
                "lifecycle", "retire", "report/daily-signups", "--as", "priya.raman@larkspur.io", "--reason", "x",
            ])
            #expect(notOwner.status == 1 && notOwner.stderr.contains("only members of Marketing"), "\(notOwner.stderr)")
            let guarded = try almanac([
                "lifecycle", "retire", "metric/signups", "--as", "marta.kowalczyk@larkspur.io", "--reason", "renamed",
            ])
            #expect(guarded.status == 1 && guarded.stderr.contains("'replacement'"), "\(guarded.stderr)")
            let badItem = try almanac(["lifecycle", "restore", "reports/x", "--as", "priya.raman@larkspur.io"])
            #expect(badItem.status != 0 && badItem.stderr.contains("reports/x"))

            let history = try almanac(["lifecycle", "history", "report/activation-funnel"])
            #expect(
                history.stdout.contains(
                    "deprecated  priya.raman@larkspur.io  Merged into the overview; use growth-overview"))

            let patch = try almanac(["lifecycle", "export"])
            #expect(
                patch.stdout.contains(
                    "reports/activation-funnel.yaml:\n  status: deprecated\n  status_reason: \"Merged into the overview\"\n  replaced_by: growth-overview\n"
                ))
            let written = try almanac(["lifecycle", "export", "--write"])
            #expect(written.status == 0 && written.stdout.contains("reports/activation-funnel.yaml"))
            let file = try String(contentsOfFile: catalog + "/reports/activation-funnel.yaml", encoding: .utf8)
            #expect(
                file.contains(
                    "status: deprecated\nstatus_reason: \"Merged into the overview\"\nreplaced_by: growth-overview\n"))
            #expect(try CLITests.almanac(["catalog", "check", catalog]).status == 0)
            #expect(try almanac(["lifecycle", "export"]).stdout.hasSuffix("{}\n"), "git now says it")
        }

        @Test func usageStalePrintsEachTeamsCandidates() async throws {
            // The store has known the catalog for 100 days; every live report but two was read last week.
            let store = try SQLiteStateStore(path: state)
            try await store.migrate()
            let declared = try #require(CatalogLoader.load(directory: catalog).catalog)
            let now = Date()
            _ = try await store.syncCatalogItems(
                LifecycleLedger.itemStates(declared), catalogVersion: declared.version,
                at: now.addingTimeInterval(-100 * 86_400))
            var views: [ViewEvent] = []
            for report in declared.reports where !["activation-funnel", "daily-signups"].contains(report.id.rawValue) {
                for n in 0..<6 {
                    views.append(
                        ViewEvent(
                            itemKind: "report", itemID: report.id.rawValue, viewer: "u\(n)",
                            viewedAt: now.addingTimeInterval(-3 * 86_400)))
                }
            }
            views.append(ViewEvent(itemKind: "report", itemID: "daily-signups", viewer: "u", viewedAt: now))
            try await store.recordViews(views)

            let table = try almanac(["usage", "stale"])
            #expect(table.status == 0, "\(table.stderr)")
            #expect(table.stdout.contains("fewer than 5 views in the last 90d, known for more than 60d"))
            #expect(table.stdout.contains("Growth (growth)\n  REPORT"))
            #expect(table.stdout.contains("Marketing (marketing)"))
            let row = try #require(table.stdout.split(separator: "\n").first { $0.contains("daily-signups") })
            #expect(
                row.split(separator: " ", omittingEmptySubsequences: true).prefix(4) == [
                    "daily-signups", "active", "1", "1",
                ])
            let growthOnly = try almanac(["usage", "stale", "--team", "growth", "--format", "json"])
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(growthOnly.stdout.utf8)) as? [String: Any])
            let candidates = try #require(object["candidates"] as? [[String: Any]])
            #expect(candidates.map { $0["id"] as? String } == ["activation-funnel"])
            #expect(try almanac(["usage", "stale", "--team", "nobody"]).status == 1)
        }

        @Test func aRunningPortalPicksUpActionsTakenOnTheCommandLine() async throws {
            let (process, port) = try CLITests.serve(state: state)
            defer { if process.isRunning { process.terminate() } }
            func status(_ path: String) async throws -> Int {
                let (_, response) = try await CLITests.get("http://127.0.0.1:\(port)\(path)")
                return (response as? HTTPURLResponse)?.statusCode ?? 0
            }
            #expect(try await status("/reports/activation-funnel") == 200)
            let retired = try CLITests.almanac([
                "lifecycle", "retire", "report/activation-funnel", "--as", "priya.raman@larkspur.io", "--reason",
                "Gone",
                "--catalog", "Catalog", "--state", state,
            ])
            #expect(retired.status == 0, "\(retired.stderr)")
            #expect(
                try await eventually { try await status("/reports/activation-funnel") == 410 },
                "the portal polls the state store every 2 s")
        }
    }
}
