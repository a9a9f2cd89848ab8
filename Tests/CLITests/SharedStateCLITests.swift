import AlmanacTestSupport
import Foundation
import Storage
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension BinaryTests {
    /// `almanac serve --state postgres://…`: several portals, started as real processes, on one
    /// PostgreSQL state store.
    @Suite(.timeLimit(.minutes(10))) struct SharedStateCLITests {
        /// Two portals started together migrate the new database once, and every view either
        /// served is counted once in the shared store.
        @Test func twoPortalsShareOnePostgreSQLStateStore() async throws {
            let url = try await TestPostgres.makeDatabase(prefix: "cli_state")
            let (first, firstPort) = try CLITests.serve(state: url)
            defer { if first.isRunning { first.terminate() } }
            let (second, secondPort) = try CLITests.serve(state: url)
            defer { if second.isRunning { second.terminate() } }
            for port in [firstPort, secondPort] {
                let (data, response) = try await CLITests.get("http://127.0.0.1:\(port)/readyz")
                #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: data, as: UTF8.self))")
            }
            for (port, views) in [(firstPort, 3), (secondPort, 2)] {
                for _ in 0..<views {
                    let (_, page) = try await CLITests.get("http://127.0.0.1:\(port)/glossary/signups")
                    #expect((page as? HTTPURLResponse)?.statusCode == 200)
                }
            }
            for process in [first, second] {
                process.terminate()  // SIGTERM: each writes the views it has buffered
                process.waitUntilExit()
                #expect(process.terminationStatus == 0)
            }
            let store = try PostgresStateStore(url: url, connectTimeout: TestPostgres.connectTimeout)
            defer { store.close() }
            #expect(try await store.viewCounts(kind: nil, since: nil)["metric/signups"] == 5)
            #expect(try await store.appliedMigrations().count == StateMigrationCount.expected)
        }

        /// What one instance changes, the other sees: a lifecycle action taken through the first
        /// portal's API reaches the second within its lifecycle poll (every 2 s: it reads the
        /// newest event id from the shared store, so polling costs one indexed read), and a
        /// token revoked in the shared store is refused by both from the next request (every
        /// use reads the token's row).
        @Test func whatOnePortalChangesTheOtherSees() async throws {
            let url = try await TestPostgres.makeDatabase(prefix: "cli_shared")
            let (first, firstPort) = try CLITests.serve(state: url)
            defer { if first.isRunning { first.terminate() } }
            let (second, secondPort) = try CLITests.serve(state: url)
            defer { if second.isRunning { second.terminate() } }
            func status(_ port: Int, _ path: String, token: String? = nil) async throws -> Int {
                var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
                request.timeoutInterval = 600
                if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
                let (_, response) = try await URLSession.shared.data(for: request)
                return (response as? HTTPURLResponse)?.statusCode ?? 0
            }
            for port in [firstPort, secondPort] {
                #expect(try await status(port, "/reports/activation-funnel") == 200)
            }

            var retire = URLRequest(
                url: URL(string: "http://127.0.0.1:\(firstPort)/api/lifecycle/report/activation-funnel")!)
            retire.httpMethod = "POST"
            retire.setValue("application/json", forHTTPHeaderField: "Content-Type")
            retire.httpBody = Data(#"{"action": "retire", "reason": "Replaced by the growth overview"}"#.utf8)
            retire.timeoutInterval = 600
            let (body, answer) = try await URLSession.shared.data(for: retire)
            #expect((answer as? HTTPURLResponse)?.statusCode == 200, "\(String(decoding: body, as: UTF8.self))")
            #expect(try await status(firstPort, "/reports/activation-funnel") == 410)
            #expect(
                try await eventually { try await status(secondPort, "/reports/activation-funnel") == 410 },
                "the second portal sees the first one's action at its next lifecycle poll")

            let created = try CLITests.almanac([
                "token", "create", "--name", "export", "--subject", "svc-export", "--state", url,
            ])
            #expect(created.status == 0, "\(created.stderr)")
            let lines = created.stdout.split(separator: "\n")
            let secret = try #require(lines.last.map(String.init))
            let id = try #require(lines.first?.split(separator: " ").dropFirst().first.map(String.init))
            for port in [firstPort, secondPort] {
                #expect(try await status(port, "/api/reports", token: secret) == 200)
            }
            let revoked = try CLITests.almanac(["token", "revoke", id, "--state", url])
            #expect(revoked.status == 0, "\(revoked.stderr)")
            for port in [firstPort, secondPort] {
                #expect(try await status(port, "/api/reports", token: secret) == 401)
            }
        }

        /// A server that cannot be reached ends `serve` with the URL, its password hidden.
        @Test func anUnreachableStateStoreIsNamedWithoutItsPassword() throws {
            let closed = try ReservedPort()
            let result = try CLITests.almanac([
                "serve", "--catalog", "Catalog", "--port", "0",
                "--state", "postgres://almanac:s3cret@127.0.0.1:\(closed.port)/state",
            ])
            #expect(result.status != 0)
            #expect(result.stderr.contains("postgres://almanac:***@127.0.0.1:\(closed.port)/state"), "\(result.stderr)")
            #expect(!result.stderr.contains("s3cret") && !result.stdout.contains("s3cret"))
        }
    }
}

/// How many migrations a store of this version has applied (SQLite's count is the reference).
enum StateMigrationCount {
    static var expected: Int {
        get async throws {
            let directory = try TemporaryDirectory()
            let store = try SQLiteStateStore(path: directory.file("state.sqlite"))
            try await store.migrate()
            return try await store.appliedMigrations().count
        }
    }
}
