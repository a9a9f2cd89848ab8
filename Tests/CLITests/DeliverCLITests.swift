import AlmanacCore
import AlmanacTestSupport
import Foundation
import Storage
import Testing

extension BinaryTests {
    /// `almanac deliver` against the tiny demo warehouse, as an operator runs it.
    @Suite(.timeLimit(.minutes(10))) struct DeliverCLITests {
        @Test func aDryRunPrintsEveryMessageAndWhoIsLeftOutAndWritesNothing() throws {
            let directory = try TemporaryDirectory(prefix: "almanac-deliver-cli")
            let state = directory.file("state.sqlite")
            let result = try CLITests.almanac(
                [
                    "deliver", "--dry-run", "--catalog", "Catalog", "--state", state, "--warehouse",
                    TestWarehouse.tinyDemo, "--as-of", TestWarehouse.asOf.description,
                ],
                environment: ["ALMANAC_PUBLIC_URL": "https://reports.larkspur.io"])
            #expect(result.status == 0, "\(result.stderr)\(result.stdout)")
            let out = result.stdout
            #expect(out.contains("with data as of 2026-11-25; nothing is written"))
            #expect(out.contains("subscription/daily-signups\n  Wednesday 25 November 2026: 9 to send"))
            #expect(
                out.contains(
                    "→ email chloe.dubois@larkspur.io: Daily sign-up email: Wednesday 25 November 2026 · Sign-ups "))
            #expect(
                out.contains(
                    "- email michael.osei@larkspur.io: left out (not sent: michael.osei@larkspur.io not in the subscription's access groups)"
                ))
            #expect(out.contains("trigger/upgrade-opportunity\n  checked "))
            #expect(out.contains("no task tracker is configured"))
            let outbox = directory.file("outbox")
            #expect(!FileManager.default.fileExists(atPath: outbox), "a dry run writes no mail")
            // One job, with the e-mail's text.
            let one = try CLITests.almanac([
                "deliver", "--dry-run", "daily-signups", "--bodies", "--catalog", "Catalog", "--state", state,
                "--warehouse", TestWarehouse.tinyDemo, "--as-of", TestWarehouse.asOf.description,
            ])
            #expect(one.status == 0)
            #expect(!one.stdout.contains("finance-monthly-mrr"))
            #expect(one.stdout.contains("      Sign-ups: ") && one.stdout.contains("?from=email"))
        }

        @Test func nowSendsOneJobAndSaysWhatHappened() throws {
            let directory = try TemporaryDirectory(prefix: "almanac-deliver-cli")
            let state = directory.file("state.sqlite")
            let arguments = [
                "--catalog", "Catalog", "--state", state, "--warehouse", TestWarehouse.tinyDemo, "--as-of",
                TestWarehouse.asOf.description,
            ]
            let sent = try CLITests.almanac(["deliver", "--now", "finance-monthly-mrr"] + arguments)
            #expect(sent.status == 0, "\(sent.stderr)")
            #expect(
                sent.stdout.contains(
                    "subscription/finance-monthly-mrr: October 2026: 3 to send, 1 recipient without access left out"))
            #expect(sent.stdout.contains("  email helen.park@larkspur.io: sent"))
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.file("outbox"))
            #expect(files.filter { $0.hasSuffix(".eml") }.count == 3)
            // An unknown job and a trigger that cannot deliver are clear errors.
            let unknown = try CLITests.almanac(["deliver", "--now", "weekly-nothing"] + arguments)
            #expect(
                unknown.status == 1
                    && unknown.stderr.contains("'weekly-nothing' is neither a subscription nor a trigger"))
            let tracker = try CLITests.almanac(["deliver", "--now", "upgrade-opportunity"] + arguments)
            #expect(tracker.status == 1 && tracker.stderr.contains("set ALMANAC_TASKS_URL"))
        }
    }
}
