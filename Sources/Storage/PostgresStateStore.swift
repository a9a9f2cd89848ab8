import AlmanacCore
public import Foundation
import Logging
import Metrics
import PostgresConnection
import PostgresNIO
public import Scheduling
import Synchronization

/// The state store in PostgreSQL, shared by several portal instances: a pool of postgres-nio
/// connections to one database, with the same tables, the same migration names and the same
/// behaviour as ``SQLiteStateStore`` (the contract suite runs on both).
///
/// SQLite serializes every write; PostgreSQL runs them side by side, so what the SQLite store
/// got from that is asked for here: a claim or a lease is one conditional `UPDATE`, the due
/// deliveries are taken with `FOR UPDATE SKIP LOCKED`, the view rollups lock their items in one
/// order, and the catalog sync, a trigger's firing and the migrations take advisory locks. Every
/// value is bound; no value is ever written into SQL text.
public final class PostgresStateStore: StateStore {
    let client: PostgresClient
    private let runner: Task<Void, Never>
    let logger: Logger
    /// The URL with its password redacted, for messages.
    public let displayLocation: String
    /// How long to wait for a connection before calling the server unreachable.
    let connectTimeout: Duration
    /// Connections leased right now: while any is, waiting for one is a busy pool, not a server
    /// that cannot be reached.
    private let inUse = Atomic<Int>(0)
    private let latency = Metrics.Timer(
        label: "almanac_state_query_duration_seconds", dimensions: [("store", "postgres")])

    /// Connects lazily to `url` (`postgres://user:password@host:5432/database`). Call
    /// ``migrate()`` before use.
    ///
    /// - Throws: ``StateStoreError`` when `url` is not a PostgreSQL URL.
    public init(url: String, poolSize: Int = 8, connectTimeout: Duration = .seconds(5)) throws {
        displayLocation = PostgresURL.redacted(url)
        self.connectTimeout = connectTimeout
        do throws(PostgresURLError) {
            (client, runner, logger) = try PostgresURL.makeClient(
                url, label: "almanac.state.postgres", connections: poolSize, connectTimeout: connectTimeout)
        } catch {
            throw StateStoreError("cannot open the state store: \(error.description)")
        }
    }

    deinit {
        runner.cancel()
    }

    /// Closes the pool's connections.
    public func close() {
        runner.cancel()
    }

    // MARK: Connections

    /// Runs `body` on a pooled connection.
    ///
    /// - Throws: ``StateStoreError`` naming the (redacted) URL when no connection can be had
    ///   within the connect timeout, or when the server refuses a statement.
    @discardableResult
    func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresNIO.PostgresConnection) async throws -> T
    ) async throws -> T {
        let started = ContinuousClock.now
        defer { latency.record(duration: ContinuousClock.now - started) }
        let leased = LeaseFlag()
        do {
            return try await withThrowingTaskGroup(of: Leased<T>.self) { group in
                group.addTask { [self] in
                    .finished(
                        try await client.withConnection { connection in
                            leased.set()
                            inUse.add(1, ordering: .relaxed)
                            defer { inUse.subtract(1, ordering: .relaxed) }
                            return try await body(connection)
                        })
                }
                // NB: the pool keeps retrying a server that is down for about a minute; give up
                // after the connect timeout unless other work holds connections (a busy pool).
                group.addTask { [self] in
                    try await Task.sleep(for: connectTimeout)
                    if !leased.isSet, inUse.load(ordering: .relaxed) == 0 {
                        throw StateStoreError(
                            "cannot reach the state store at \(displayLocation) within \(connectTimeout): check that PostgreSQL is running and the URL, user and password are right"
                        )
                    }
                    return .waited
                }
                while let outcome = try await group.next() {
                    if case .finished(let value) = outcome {
                        group.cancelAll()
                        return value
                    }
                }
                throw CancellationError()
            }
        } catch let error as PSQLError {
            throw translate(error)
        }
    }

    /// Runs `body` in one transaction (`READ COMMITTED`), committed when it returns and rolled
    /// back when it throws. A transaction PostgreSQL ended to break a deadlock or a
    /// serialization failure is run again (twice at most): the concurrent writers this store
    /// is for make them possible, never wrong.
    @discardableResult
    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresNIO.PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await withConnection { [logger] connection in
                    try await connection.rows("BEGIN", logger)
                    do {
                        let value = try await body(connection)
                        try await connection.rows("COMMIT", logger)
                        return value
                    } catch {
                        _ = try? await connection.rows("ROLLBACK", logger)
                        throw error
                    }
                }
            } catch let error as StateStoreError where error.isRetryable && attempt < 3 {
                continue
            }
        }
    }

    /// A server error as the store's error: the server's message, or the URL it cannot reach.
    func translate(_ error: PSQLError) -> StateStoreError {
        let state = error.serverInfo?[.sqlState]
        guard let message = error.serverInfo?[.message] else {
            return StateStoreError(
                "cannot reach the state store at \(displayLocation) (\(error.code)): check that PostgreSQL is running and the URL, user and password are right"
            )
        }
        var translated = StateStoreError("the state store at \(displayLocation) refused a statement: \(message)")
        translated.sqlState = state
        return translated
    }

    // MARK: Migrations

    public func migrate() async throws { try await migrate(through: nil) }

    /// Applies migrations up to and including `last` (all when `nil`); tests build older stores with it.
    func migrate(through last: String?) async throws {
        let migrations =
            last.flatMap { name in
                StateMigrations.all.firstIndex { $0.name == name }.map { Array(StateMigrations.all[...$0]) }
            } ?? StateMigrations.all
        let location = displayLocation
        try await transaction { [logger] connection in
            // One instance migrates at a time: the others wait here, then find the work done.
            // The lock is the transaction's, so it is released however the transaction ends.
            try await connection.rows("SELECT pg_advisory_xact_lock(\(Self.migrationLock))", logger)
            try await connection.rows(
                """
                CREATE TABLE IF NOT EXISTS almanac_migrations (
                    name TEXT PRIMARY KEY,
                    applied_at DOUBLE PRECISION NOT NULL
                )
                """, logger)
            let applied = Set(
                try await connection.rows("SELECT name FROM almanac_migrations", logger).map {
                    try $0[0].decode(String.self)
                })
            let unknown = applied.subtracting(StateMigrations.all.map(\.name)).sorted()
            guard unknown.isEmpty else {
                throw StateStoreError(
                    "the state store at \(location) has migrations this version of Almanac does not know (\(unknown.joined(separator: ", "))): its schema is newer than this binary; run the newer Almanac, or point --state at another database"
                )
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.postgres {
                    try await connection.rows(PostgresQuery(unsafeSQL: statement), logger)
                }
                try await connection.rows(
                    """
                    INSERT INTO almanac_migrations (name, applied_at)
                    VALUES (\(migration.name), \(Date().timeIntervalSince1970))
                    """, logger)
            }
        }
    }

    /// The advisory lock the migrations hold (a constant of this store's own: "almanac state").
    static let migrationLock = 0x616C_6D61_6E61_6301

    public func appliedMigrations() async throws -> [String] {
        try await withConnection { [logger] connection in
            let present =
                try await connection.value(
                    Bool.self, "SELECT to_regclass('almanac_migrations') IS NOT NULL", logger) ?? false
            guard present else { return [] }
            let applied = Set(
                try await connection.rows("SELECT name FROM almanac_migrations", logger).map {
                    try $0[0].decode(String.self)
                })
            return StateMigrations.all.map(\.name).filter(applied.contains)
        }
    }

    // MARK: Job runs

    public func claimJobRun(_ run: JobRunRecord, staleBefore: Date?) async throws -> Bool {
        try await transaction { [logger] connection in
            if let staleBefore {
                // The instance that claimed it stopped midway, or the run failed a while ago: take
                // it over. Of two instances trying at once, the second waits for the first's row
                // and then finds it no longer stale: one wins.
                let stale = staleBefore.timeIntervalSince1970
                let taken = try await connection.count(
                    """
                    UPDATE job_runs SET instance = \(run.instance), claimed_at = \(run.claimedAt.timeIntervalSince1970),
                        late = \(run.late), status = 'running', finished_at = NULL,
                        detail = CASE status WHEN 'running'
                            THEN 'taken over from ' || COALESCE(instance, 'an instance') || ', which stopped midway'
                            ELSE 'tried again after: ' || COALESCE(detail, 'a failure') END
                    WHERE job = \(run.job) AND scheduled_for = \(run.scheduledFor.timeIntervalSince1970) AND (
                        (status = 'running' AND claimed_at < \(stale)) OR (status = 'failed' AND finished_at < \(stale)))
                    RETURNING 1
                    """, logger)
                if taken == 1 { return true }
            }
            return try await connection.count(
                """
                INSERT INTO job_runs (job, scheduled_for, status, late, instance, claimed_at, finished_at, detail)
                VALUES (\(run.job), \(run.scheduledFor.timeIntervalSince1970), \(run.status.rawValue), \(run.late),
                    \(run.instance), \(run.claimedAt.timeIntervalSince1970), \(run.finishedAt?.timeIntervalSince1970),
                    \(run.detail))
                ON CONFLICT DO NOTHING
                RETURNING 1
                """, logger) == 1
        }
    }

    public func finishJobRun(
        job: String, scheduledFor: Date, status: JobRunRecord.Status, detail: String?, at date: Date,
        instance: String?
    ) async throws {
        try await withConnection { [logger] connection in
            try await connection.rows(
                """
                UPDATE job_runs SET status = \(status.rawValue), detail = \(detail), finished_at = \(date.timeIntervalSince1970)
                WHERE job = \(job) AND scheduled_for = \(scheduledFor.timeIntervalSince1970) AND status = 'running'
                    AND (CAST(\(instance) AS TEXT) IS NULL OR instance = \(instance))
                """, logger)
        }
    }

    public func renewJobRun(job: String, scheduledFor: Date, instance: String, at date: Date) async throws -> Bool {
        try await withConnection { [logger] connection in
            try await connection.count(
                """
                UPDATE job_runs SET claimed_at = \(date.timeIntervalSince1970)
                WHERE job = \(job) AND scheduled_for = \(scheduledFor.timeIntervalSince1970) AND status = 'running'
                    AND instance = \(instance)
                RETURNING 1
                """, logger) == 1
        }
    }

    public func lastJobRun(job: String) async throws -> JobRunRecord? {
        try await withConnection { [logger] connection in
            try await connection.records(
                JobRunRow.self, "SELECT * FROM job_runs WHERE job = \(job) ORDER BY scheduled_for DESC LIMIT 1",
                logger
            ).first?.record
        }
    }

    public func recentJobRuns(job: String?, limit: Int) async throws -> [JobRunRecord] {
        try await withConnection { [logger] connection in
            try await connection.records(
                JobRunRow.self,
                """
                SELECT * FROM job_runs WHERE (CAST(\(job) AS TEXT) IS NULL OR job = \(job))
                ORDER BY scheduled_for DESC, job LIMIT \(max(0, limit))
                """, logger
            ).map(\.record)
        }
    }

    // MARK: Runs

    public func recordRun(_ run: RunRecord) async throws {
        try await withConnection { [logger] connection in
            // The log numbers its runs.
            try await connection.rows(
                """
                INSERT INTO runs (kind, target, started_at, duration_ms, rows, bytes, error)
                VALUES (\(run.kind), \(run.target), \(run.startedAt.timeIntervalSince1970),
                    \(run.durationMilliseconds), \(run.rows), \(run.bytes), \(run.error))
                """, logger)
        }
    }

    public func recentRuns(kind: String?, limit: Int) async throws -> [RunRecord] {
        try await withConnection { [logger] connection in
            try await connection.records(
                RunRow.self,
                """
                SELECT * FROM runs WHERE (CAST(\(kind) AS TEXT) IS NULL OR kind = \(kind))
                ORDER BY started_at DESC, id DESC LIMIT \(unlimitedIfNegative(limit))
                """, logger
            ).map(\.record)
        }
    }
}

/// What a connection's lease ended in: the work's result, or a connect timeout that passed
/// while the pool was busy (the work goes on).
private enum Leased<T: Sendable>: Sendable {
    case finished(T)
    case waited
}

/// Set once a connection is leased, read by the connect timeout.
private final class LeaseFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

extension StateStoreError {
    /// PostgreSQL ended the transaction to break a deadlock (`40P01`) or a serialization
    /// failure (`40001`): running it again is right.
    var isRetryable: Bool { sqlState == "40P01" || sqlState == "40001" }
}
