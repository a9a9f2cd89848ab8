import AlmanacCore
import Foundation
import Logging
import PostgresNIO

/// The PostgreSQL server the test script started (`scripts/with-postgres`), with a fresh
/// database per caller.
///
/// There is no fallback and no skip: without `ALMANAC_TEST_POSTGRES_URL` a test that needs
/// PostgreSQL fails and says how to run it.
public enum TestPostgres {
    /// How long a test waits for a connection: far beyond any healthy server, so that a busy
    /// machine (a build beside the suite) cannot fail a test that is not about timeouts.
    public static let connectTimeout: Duration = .seconds(120)

    public static var serverURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["ALMANAC_TEST_POSTGRES_URL"], !url.isEmpty else {
                throw FixtureError(
                    "ALMANAC_TEST_POSTGRES_URL is not set: run the tests with scripts/test, or wrap the command in scripts/with-postgres (e.g. scripts/with-postgres swift test --filter WarehouseTests)"
                )
            }
            return url
        }
    }

    /// Creates an empty database named `almanac_<prefix>_<random>` and returns its URL.
    public static func makeDatabase(prefix: String) async throws -> String {
        let server = try serverURL
        guard var components = URLComponents(string: server) else {
            throw FixtureError("ALMANAC_TEST_POSTGRES_URL '\(server)' is not a postgres:// URL")
        }
        let name = "almanac_\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        let client = PostgresClient(
            configuration: try configuration(server), backgroundLogger: Logger(label: "test-postgres"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        components.path = "/" + name
        return components.string!
    }
}

extension TestPostgres {
    /// How to reach the database of `url` (a test server's: no TLS).
    static func configuration(_ url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let host = components.host, let user = components.user
        else { throw FixtureError("'\(url)' is not a postgres:// URL") }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
    }

    /// The first column of each row `sql` returns in `url`'s database, as text (NULL as `nil`).
    public static func column(_ url: String, _ sql: String) async throws -> [String?] {
        let client = PostgresClient(
            configuration: try configuration(url), backgroundLogger: Logger(label: "test-postgres"))
        return try await withThrowingTaskGroup(of: [String?].self) { group in
            group.addTask {
                await client.run()
                return []
            }
            defer { group.cancelAll() }
            var values: [String?] = []
            for try await row in try await client.query(PostgresQuery(unsafeSQL: sql)) {
                values.append(try row.decode(String?.self))
            }
            return values
        }
    }
}

/// A transaction of the test's own that holds a lock (`LOCK TABLE … IN EXCLUSIVE MODE`) in a
/// database until ``release()``: a portal's statement that needs the table waits meanwhile,
/// which stops a job midway at a known point without changing the portal.
public final class HeldPostgresLock: Sendable {
    private let held = Gate()
    private let release = Gate()
    private let task: Task<Void, any Error>

    /// Opens a connection to `url`, begins a transaction and runs `lock` in it; returns once the
    /// lock is held.
    public init(_ url: String, lock: String) async throws {
        let client = PostgresClient(
            configuration: try TestPostgres.configuration(url), backgroundLogger: Logger(label: "test-postgres"))
        let (held, release, tried) = (self.held, self.release, Gate())
        task = Task {
            // Whatever happens, the initializer stops waiting.
            defer { tried.open() }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                try await client.withConnection { connection in
                    let logger = Logger(label: "test-postgres")
                    _ = try await connection.query("BEGIN", logger: logger)
                    _ = try await connection.query(PostgresQuery(unsafeSQL: lock), logger: logger)
                    held.open()
                    tried.open()
                    await release.wait()
                    _ = try await connection.query("COMMIT", logger: logger)
                }
            }
        }
        await tried.wait()
        // A lock that could not be taken: its error, not a wait for ever.
        if !held.isOpen { try await task.value }
    }

    /// Ends the transaction, and with it the lock; returns once it has ended.
    public func release() async throws {
        release.open()
        try await task.value
    }
}
