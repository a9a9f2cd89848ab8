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
        guard var components = URLComponents(string: server), let host = components.host, let user = components.user
        else { throw FixtureError("ALMANAC_TEST_POSTGRES_URL '\(server)' is not a postgres:// URL") }
        let name = "almanac_\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
        let configuration = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        let client = PostgresClient(configuration: configuration, backgroundLogger: Logger(label: "test-postgres"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            try await client.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
            group.cancelAll()
        }
        components.path = "/" + name
        return components.string!
    }
}
