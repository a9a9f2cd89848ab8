import AlmanacTestSupport
import Foundation
import PostgresNIO
import Testing

@testable import Storage

/// What only the PostgreSQL store has to say: its URL in messages, a schema newer than the
/// binary, opening either backend from a `--state` value. (Its behaviour as a store is the
/// contract suite's.)
@Suite(.timeLimit(.minutes(10))) struct PostgresStateStoreTests {
    @Test func anUnreachableServerIsNamedWithoutItsPassword() async throws {
        let store = try PostgresStateStore(
            url: "postgres://almanac:s3cret-word@127.0.0.1:1/state", connectTimeout: .seconds(1))
        defer { store.close() }
        await #expect {
            try await store.migrate()
        } throws: { error in
            let message = "\(error)"
            return error is StateStoreError && message.contains("postgres://almanac:***@127.0.0.1:1/state")
                && !message.contains("s3cret")
        }
    }

    @Test func aLocationThatIsNotAURLSaysSoRedacted() {
        #expect {
            try PostgresStateStore(url: "postgres://almanac:s3cret-word@/state")
        } throws: { error in
            "\(error)".contains("is not a PostgreSQL URL") && !"\(error)".contains("s3cret")
        }
    }

    @Test func aSchemaNewerThanTheBinaryIsRefused() async throws {
        let url = try await TestPostgres.makeDatabase(prefix: "state_newer")
        let store = try PostgresStateStore(url: url, poolSize: 4, connectTimeout: TestPostgres.connectTimeout)
        defer { store.close() }
        try await store.migrate()
        let logger = store.logger
        try await store.withConnection { connection in
            try await connection.rows(
                "INSERT INTO almanac_migrations (name, applied_at) VALUES (\("v99-from-the-future"), 0)", logger)
        }
        await #expect {
            try await store.migrate()
        } throws: { error in
            let message = "\(error)"
            return message.contains("v99-from-the-future") && message.contains("newer than this binary")
                && message.contains(PostgresURLRedaction.host(of: url))
        }
        // What this binary knows is still listed.
        #expect(try await store.appliedMigrations() == StateMigrations.all.map(\.name))
    }

    @Test func olderStoresAreMigratedForward() async throws {
        let url = try await TestPostgres.makeDatabase(prefix: "state_older")
        let store = try PostgresStateStore(url: url, poolSize: 4, connectTimeout: TestPostgres.connectTimeout)
        defer { store.close() }
        try await store.migrate(through: "v2-view-context")
        #expect(try await store.appliedMigrations() == ["v1-views-lifecycle-runs", "v2-view-context"])
        let logger = store.logger
        // A view written before the rollups existed is counted by them after the migration.
        try await store.withConnection { connection in
            try await connection.rows(
                """
                INSERT INTO views (item_kind, item_id, viewer, viewed_at)
                VALUES ('report', 'growth', 'ann', \(1_790_000_000.0)), ('report', 'growth', NULL, \(1_790_086_400.0))
                """, logger)
        }
        try await store.migrate()
        #expect(try await store.appliedMigrations() == StateMigrations.all.map(\.name))
        #expect(try await store.viewCounts(kind: nil, since: nil) == ["report/growth": 2])
        let day = UsageDay.of(Date(timeIntervalSince1970: 1_790_000_000))
        #expect(try await store.viewTotals(kind: nil, id: nil, in: [day...(day + 1)]) == ["report/growth": [2]])
    }

    @Test func aStateLocationOpensEitherBackend() throws {
        let directory = try TemporaryDirectory(prefix: "almanac-state-open")
        #expect(try StateStores.open(location: directory.file("state.sqlite")) is SQLiteStateStore)
        #expect(try StateStores.open(location: "postgres://almanac@127.0.0.1:1/state") is PostgresStateStore)
    }

    /// Batches whose days come in any order (across midnight, instances with skewed clocks, a
    /// day before the item's newest) give the same rollups in PostgreSQL as in SQLite.
    @Test func rollupsAgreeWithSQLiteWhateverTheOrderOfDays() async throws {
        let directory = try TemporaryDirectory()
        let sqlite = try SQLiteStateStore(path: directory.file("state.sqlite"))
        try await sqlite.migrate()
        let url = try await TestPostgres.makeDatabase(prefix: "state_rollups")
        let postgres = try PostgresStateStore(url: url, connectTimeout: TestPostgres.connectTimeout)
        defer { postgres.close() }
        try await postgres.migrate()
        let base = Date(timeIntervalSince1970: 1_795_737_600)
        var random: UInt64 = 7
        func next(_ bound: Int) -> Int {
            random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((random >> 33) % UInt64(bound))
        }
        for _ in 0..<12 {
            let batch = (0..<(50 + next(200))).map { _ in
                ViewEvent(
                    itemKind: "report", itemID: "r\(next(4))", viewer: next(6) == 0 ? nil : "p\(next(9))",
                    viewedAt: base.addingTimeInterval(Double(next(20)) * 86_400 + Double(next(86_400))))
            }
            try await sqlite.recordViews(batch)
            try await postgres.recordViews(batch)
        }
        let first = UsageDay.of(base)
        let ranges = (0..<20).flatMap { start in [(first + start)...(first + start), (first + start)...(first + 19)] }
        #expect(
            try await postgres.viewTotals(kind: nil, id: nil, in: ranges)
                == sqlite.viewTotals(kind: nil, id: nil, in: ranges))
        for item in ["r0", "r1", "r2", "r3"] {
            #expect(
                try await postgres.dailyViews(kind: "report", id: item, in: first...(first + 19))
                    == sqlite.dailyViews(kind: "report", id: item, in: first...(first + 19)))
            let since = [first, first + 5, first + 15]
            #expect(
                try await postgres.uniqueViewers(kind: "report", id: item, since: since)
                    == sqlite.uniqueViewers(kind: "report", id: item, since: since))
        }
        #expect(try await postgres.viewCounts(kind: nil, since: nil) == sqlite.viewCounts(kind: nil, since: nil))
    }
}

/// The host and port part of a test database's URL, as a message names it.
private enum PostgresURLRedaction {
    static func host(of url: String) -> String {
        URLComponents(string: url).map { "\($0.host ?? ""):\($0.port ?? 5432)" } ?? url
    }

}
