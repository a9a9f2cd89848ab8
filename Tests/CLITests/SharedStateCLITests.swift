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
