import AlmanacCore
import AlmanacTestSupport
import Catalog
import DemoCompany
import Foundation
import Testing
import Warehouse

/// A time limit no query in these tests comes near: the checks that are not about timeouts
/// never depend on how busy the machine is.
let noTimeLimit = Duration.seconds(600)

/// The shared tiny demo company.
enum TinyDemo {
    static var path: String { TestWarehouse.tinyDemo }
    static var catalog: Catalog { TestWarehouse.demoCatalog }
    static var asOf: CalendarDay { TestWarehouse.asOf }
}

@Suite(.timeLimit(.minutes(10))) struct SQLiteWarehouseTests {
    @Test func countsMatchAHandWrittenQuery() async throws {
        let warehouse = try SQLiteWarehouse(path: TinyDemo.path)
        let range = DateRange(start: CalendarDay(parsing: "2026-11-01")!, end: CalendarDay(parsing: "2026-11-14")!)
        let evaluator = MetricEvaluator(catalog: TinyDemo.catalog, warehouse: warehouse, timeout: noTimeLimit)
        let result = try await evaluator.evaluate(MetricRequest(metric: "signups", grain: .day, range: range))
        let expected = CompiledStatement(
            role: .value,
            sql:
                "SELECT date(signed_up_at), COUNT(*) FROM users WHERE signed_up_at >= '2026-11-01' AND signed_up_at < '2026-11-15' GROUP BY 1 ORDER BY 1",
            parameters: [], columns: [])
        let rows = try await warehouse.run(expected, timeout: noTimeLimit)
        let byDay = Dictionary(uniqueKeysWithValues: rows.map { ($0[0].textValue!, $0[1].doubleValue!) })
        #expect(result.periods.count == 14)
        for (period, value) in zip(result.periods, result.series[0].values) {
            #expect(value == byDay[period.description] ?? 0, "\(period)")
        }
        #expect(result.series[0].values.reduce(0) { $0 + ($1 ?? 0) } > 0)
    }

    @Test func theConnectionIsReadOnly() async throws {
        let warehouse = try SQLiteWarehouse(path: TinyDemo.path)
        let write = CompiledStatement(role: .value, sql: "DELETE FROM users", parameters: [], columns: [])
        await #expect {
            _ = try await warehouse.run(write, timeout: noTimeLimit)
        } throws: { error in
            (error as? WarehouseError)?.kind == .readOnly
        }
    }

    /// A query that never ends on its own.
    static let endless = CompiledStatement(
        role: .value, sql: "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n",
        parameters: [], columns: [])

    @Test func aSlowQueryIsStoppedAtItsTimeAndTheNextOneRuns() async throws {
        let clock = ManualClock()
        let warehouse = try SQLiteWarehouse(path: TinyDemo.path, clock: clock)
        let slow = Task { try await warehouse.run(Self.endless, timeout: .seconds(5)) }
        #expect(try await eventually { warehouse.queriesRunning == 1 }, "the query is running")
        clock.advance(by: .seconds(5))
        await #expect {
            _ = try await slow.value
        } throws: { error in
            (error as? WarehouseError).map {
                $0.kind == .timeout && $0.userMessage == "the query took longer than 5.0 seconds and was stopped"
            } ?? false
        }
        #expect(warehouse.queriesRunning == 0, "the stopped query holds no connection")
        let one = CompiledStatement(role: .value, sql: "SELECT 1", parameters: [], columns: [])
        #expect(try await warehouse.run(one, timeout: noTimeLimit) == [[.integer(1)]])
    }

    /// One dashboard's panels run side by side; stopping one panel's query leaves the others
    /// running on their connections, until their own time is up.
    @Test func stoppingOneQueryLeavesTheOthersRunning() async throws {
        let clock = ManualClock()
        let warehouse = try SQLiteWarehouse(path: TinyDemo.path, clock: clock)
        let other = Task { try await warehouse.run(Self.endless, timeout: .seconds(60)) }
        let slow = Task { try await warehouse.run(Self.endless, timeout: .seconds(5)) }
        // Both are executing in SQLite when the first one's time is up.
        #expect(try await eventually { warehouse.queriesRunning == 2 }, "both queries are running")
        clock.advance(by: .seconds(5))
        await #expect {
            _ = try await slow.value
        } throws: { error in
            (error as? WarehouseError)?.userMessage == "the query took longer than 5.0 seconds and was stopped"
        }
        // The next query runs beside the other one, which is still at work.
        let one = CompiledStatement(role: .value, sql: "SELECT 1", parameters: [], columns: [])
        #expect(try await warehouse.run(one, timeout: noTimeLimit) == [[.integer(1)]])
        #expect(warehouse.queriesRunning == 1, "the other panel's query is still running")
        clock.advance(by: .seconds(55))
        await #expect {
            _ = try await other.value
        } throws: { error in
            (error as? WarehouseError)?.userMessage == "the query took longer than 60.0 seconds and was stopped"
        }
        #expect(warehouse.queriesRunning == 0)
    }

    @Test func missingTablesAndColumnsAreNamed() async throws {
        let warehouse = try SQLiteWarehouse(path: TinyDemo.path)
        let table = CompiledStatement(role: .value, sql: "SELECT * FROM userz", parameters: [], columns: [])
        await #expect {
            _ = try await warehouse.run(table, timeout: noTimeLimit)
        } throws: { error in
            (error as? WarehouseError).map { $0.kind == .missingTable && $0.userMessage.contains("userz") } ?? false
        }
        #expect(try await warehouse.columns(of: SQLIdentifier("users")!)?["signed_up_at"] == "TEXT")
        #expect(try await warehouse.columns(of: SQLIdentifier("userz")!) == nil)
    }

    @Test func aMissingFileIsAClearError() {
        #expect {
            try SQLiteWarehouse(path: "/nonexistent/warehouse.sqlite")
        } throws: { error in
            (error as? WarehouseError)?.userMessage == "no warehouse file at '/nonexistent/warehouse.sqlite'"
        }
    }
}

/// The same demo company in SQLite and in a real PostgreSQL server gives the same numbers
/// for every metric in the catalog.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DialectEqualityTests {
    static let postgres: Task<String, any Error> = Task {
        let url = try await TestPostgres.makeDatabase(prefix: "equality")
        let writer = try WarehouseWriters.open(url)
        _ = try await WarehouseCopier.copy(
            fromSQLite: TinyDemo.path, to: writer, sources: TinyDemo.catalog.sources, progress: SilentProgress())
        await writer.close()
        return url
    }

    /// In UTC and in a zone with daylight saving (its November change falls in the ranges).
    @Test(arguments: ["UTC", "America/New_York"])
    func everyDemoMetricGivesIdenticalResultsOnSQLiteAndPostgreSQL(_ zone: String) async throws {
        let url = try await Self.postgres.value
        var catalog = TinyDemo.catalog
        catalog.settings.timezone = zone
        let sqlite = MetricEvaluator(
            catalog: catalog, warehouse: try SQLiteWarehouse(path: TinyDemo.path), timeout: noTimeLimit)
        let postgres = MetricEvaluator(
            catalog: catalog, warehouse: try PostgresWarehouse(url: url, connectTimeout: TestPostgres.connectTimeout),
            timeout: noTimeLimit)
        var compared = 0
        for metric in TinyDemo.catalog.metrics {
            var requests = [
                MetricRequest(
                    metric: metric.id, grain: .week,
                    range: .ending(on: TinyDemo.asOf, covering: TimeSpan(180, .days), grain: .week)),
                MetricRequest(
                    metric: metric.id, grain: .day,
                    range: .ending(on: TinyDemo.asOf, covering: TimeSpan(21, .days), grain: .day)),
                MetricRequest(
                    metric: metric.id, grain: .month,
                    range: .ending(on: TinyDemo.asOf, covering: TimeSpan(365, .days), grain: .month)),
            ]
            if let dimension = metric.dimensions.first {
                requests.append(
                    MetricRequest(
                        metric: metric.id, grain: .week,
                        range: .ending(on: TinyDemo.asOf, covering: TimeSpan(90, .days), grain: .week),
                        breakdown: dimension))
            }
            // Digests and triggers: a whole range as one period, and split by an entity's key.
            let window = DateRange(start: TinyDemo.asOf.adding(days: -27), end: TinyDemo.asOf)
            requests.append(MetricRequest(metric: metric.id, grain: .day, range: window, wholeRange: true))
            if metric.type != .ratio, TinyDemo.catalog.source(metric.source)?.column(named: "workspace_id") != nil {
                requests.append(
                    MetricRequest(
                        metric: metric.id, grain: .day, range: window, wholeRange: true,
                        groupColumn: SQLIdentifier("workspace_id")!))
            }
            for request in requests {
                let a = try await sqlite.evaluate(request)
                let b = try await postgres.evaluate(request)
                #expect(a.periods == b.periods)
                #expect(a.series.map(\.name) == b.series.map(\.name), "\(metric.id) \(request.grain)")
                for (x, y) in zip(a.series, b.series) {
                    for (index, (p, q)) in zip(x.values, y.values).enumerated() {
                        let same: Bool =
                            switch (p, q) {
                            case (nil, nil): true
                            case (let p?, let q?): abs(p - q) <= 1e-9 * max(1, abs(p), abs(q))
                            default: false
                            }
                        #expect(
                            same,
                            "\(metric.id) \(request.grain) \(x.name ?? "total") \(a.periods[index]): \(String(describing: p)) vs \(String(describing: q))"
                        )
                    }
                }
                compared += 1
            }
        }
        #expect(compared >= TinyDemo.catalog.metrics.count * 3)
    }

    @Test func postgresConnectionsAreReadOnlyAndTimeOut() async throws {
        let url = try await Self.postgres.value
        let warehouse = try PostgresWarehouse(url: url, connectTimeout: TestPostgres.connectTimeout)
        await #expect {
            _ = try await warehouse.run(
                CompiledStatement(role: .value, sql: "DELETE FROM users", parameters: [], columns: []),
                timeout: noTimeLimit)
        } throws: { error in
            (error as? WarehouseError)?.kind == .readOnly
        }
        // The server's statement timeout stops it; nothing else could end it within the test.
        await #expect {
            _ = try await warehouse.run(
                CompiledStatement(role: .value, sql: "SELECT pg_sleep(3600)", parameters: [], columns: []),
                timeout: .milliseconds(200))
        } throws: { error in
            (error as? WarehouseError)?.kind == .timeout
        }
        // The next query on the same pool runs.
        #expect(
            try await warehouse.run(
                CompiledStatement(role: .value, sql: "SELECT 1", parameters: [], columns: []), timeout: noTimeLimit)
                == [[.integer(1)]])
        await #expect {
            _ = try await warehouse.run(
                CompiledStatement(role: .value, sql: "SELECT nope FROM users", parameters: [], columns: []),
                timeout: noTimeLimit)
        } throws: { error in
            (error as? WarehouseError)?.kind == .missingColumn
        }
        #expect(
            try await warehouse.columns(of: SQLIdentifier("events")!)?["occurred_at"] == "timestamp without time zone")
    }

    /// A query waiting for a free connection behind a long one is queued, not "unreachable",
    /// however long it waits beyond the connect timeout.
    @Test func aBusyPoolIsNotAnUnreachableServer() async throws {
        let url = try await Self.postgres.value
        let clock = ManualClock()
        let warehouse = try PostgresWarehouse(url: url, poolSize: 1, connectTimeout: .seconds(1), clock: clock)
        // Another session holds an advisory lock: the pool's one connection waits on it for as
        // long as the test says.
        let holder = try PostgresWarehouse(
            url: url, poolSize: 1, connectTimeout: TestPostgres.connectTimeout, clock: ManualClock())
        func statement(_ sql: String) -> CompiledStatement {
            CompiledStatement(role: .value, sql: sql, parameters: [], columns: [])
        }
        _ = try await holder.run(statement("SELECT pg_advisory_lock(42)"), timeout: noTimeLimit)
        let first = Task {
            try await warehouse.run(statement("SELECT pg_advisory_xact_lock(42)"), timeout: noTimeLimit)
        }
        let blocked = statement("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        #expect(try await eventually { try await holder.run(blocked, timeout: noTimeLimit) == [[.integer(1)]] })
        let ended = Gate()
        let second = Task {
            defer { ended.open() }
            return try await warehouse.run(statement("SELECT 1"), timeout: noTimeLimit)
        }
        await clock.sleepers(atLeast: 2)  // both queries' watchdogs wait
        clock.advance(by: .seconds(2))  // past the second's connect timeout, while it waits for the connection
        // Its watchdog looked: it either waits on (a busy pool) or has given up.
        #expect(try await eventually { clock.sleeperCount >= 2 || ended.isOpen })
        _ = try await holder.run(statement("SELECT pg_advisory_unlock(42)"), timeout: noTimeLimit)
        _ = try await first.value
        #expect(try await second.value == [[.integer(1)]], "answered once its turn came")
    }

    @Test func anUnreachableServerFailsFast() async throws {
        // Nothing listens on port 1. The pool retries for about a minute; the portal says
        // "unreachable" when the connect timeout passes (on the test's clock), not after.
        let clock = ManualClock()
        let warehouse = try PostgresWarehouse(
            url: "postgres://almanac@127.0.0.1:1/none", connectTimeout: .seconds(1), clock: clock)
        let query = Task {
            try await warehouse.run(
                CompiledStatement(role: .value, sql: "SELECT 1", parameters: [], columns: []), timeout: noTimeLimit)
        }
        await clock.sleepers(atLeast: 1)
        clock.advance(by: .seconds(1))
        await #expect {
            _ = try await query.value
        } throws: { error in
            (error as? WarehouseError).map {
                $0.kind == .unreachable && $0.userMessage.contains("127.0.0.1:1")
                    && $0.userMessage.contains("within 1.0 seconds")
            } ?? false
        }
    }
}

/// Empty periods and all-NULL periods follow one rule, on both dialects.
@Suite(.serialized, .timeLimit(.minutes(10))) struct EmptyPeriodTests {
    /// Three months of `mrr_monthly`: September with values, October with only NULLs,
    /// November with no rows at all.
    static let rows: [[SQLValue]] = [
        [.text("2026-09-01"), .integer(1), .double(100)], [.text("2026-09-01"), .integer(2), .double(50)],
        [.text("2026-10-01"), .integer(1), .null], [.text("2026-10-01"), .integer(2), .null],
    ]
    static var source: Source { TinyDemo.catalog.source("mrr_monthly")! }
    static let range = DateRange(start: CalendarDay(parsing: "2026-09-01")!, end: CalendarDay(parsing: "2026-11-30")!)

    static func evaluate(_ warehouse: any Warehouse, _ metric: String) async throws -> [Double?] {
        let evaluator = MetricEvaluator(catalog: TinyDemo.catalog, warehouse: warehouse, timeout: noTimeLimit)
        let result = try await evaluator.evaluate(MetricRequest(metric: MetricID(metric), grain: .month, range: range))
        return result.series.first?.values ?? []
    }

    static func load(_ location: String) async throws {
        let writer = try WarehouseWriters.open(location)
        _ = try await writer.load(source, columns: ["month", "workspace_id", "mrr_usd"], rows: rows, replace: true)
        await writer.close()
    }

    @Test func noRowsAndAllNullAreBothZeroForSumsAndGapsForAverages() async throws {
        let directory = try TemporaryDirectory()
        let sqlite = directory.file("nulls.sqlite")
        try await Self.load(sqlite)
        let postgres = try await TestPostgres.makeDatabase(prefix: "nulls")
        try await Self.load(postgres)
        for (name, location) in [("SQLite", sqlite), ("PostgreSQL", postgres)] {
            let warehouse = try WarehouseLocation.open(location)
            #expect(try await Self.evaluate(warehouse, "mrr") == [150, 0, 0], "\(name): sum")
            #expect(try await Self.evaluate(warehouse, "paying_workspaces") == [2, 2, 0], "\(name): count distinct")
            #expect(
                try await Self.evaluate(warehouse, "average_seats") == [nil, nil, nil], "\(name): avg of NULL seats")
            await warehouse.close()
        }
    }
}

/// Days, weeks and months of timestamps are the company's, in its time zone, on both dialects,
/// across a daylight-saving change.
@Suite(.serialized, .timeLimit(.minutes(10))) struct TimeZoneTests {
    static let zone = "America/New_York"
    static var catalog: Catalog {
        var catalog = TinyDemo.catalog
        catalog.settings.timezone = zone
        return catalog
    }

    /// Sign-ups per local period, summed from ``perDay``.
    static func expected(_ range: DateRange, grain: TimeGrain) async throws -> [CalendarDay: Double] {
        var counts: [CalendarDay: Double] = [:]
        for (day, count) in try await perDay.value where day >= range.start && day <= range.end {
            counts[Periods.start(of: day, grain: grain), default: 0] += count
        }
        return counts
    }

    @Test(arguments: [TimeGrain.day, .week, .month])
    func periodsAreCutInTheCompanysZoneOnBothDialects(_ grain: TimeGrain) async throws {
        let url = try await DialectEqualityTests.postgres.value
        // 2026-11-01: New York leaves daylight saving time inside every range.
        let range = DateRange.ending(
            on: TinyDemo.asOf, covering: TimeSpan(grain == .day ? 30 : 120, .days), grain: grain)
        let expected = try await Self.expected(range, grain: grain)
        #expect(expected.values.reduce(0, +) > 0)
        for (name, warehouse) in [
            ("SQLite", try SQLiteWarehouse(path: TinyDemo.path) as any Warehouse),
            ("PostgreSQL", try PostgresWarehouse(url: url, connectTimeout: TestPostgres.connectTimeout)),
        ] {
            let evaluator = MetricEvaluator(catalog: Self.catalog, warehouse: warehouse, timeout: noTimeLimit)
            let result = try await evaluator.evaluate(MetricRequest(metric: "signups", grain: grain, range: range))
            let values = try #require(result.series.first?.values)
            for (period, value) in zip(result.periods, values) {
                #expect(value == (expected[period] ?? 0), "\(name) \(grain) \(period)")
            }
            // The same request in UTC differs: the zone changed the numbers.
            let utc = try await MetricEvaluator(catalog: TinyDemo.catalog, warehouse: warehouse, timeout: noTimeLimit)
                .evaluate(MetricRequest(metric: "signups", grain: grain, range: range))
            #expect(utc.series.first?.values != values, "\(name) \(grain): UTC and New York days differ")
            await warehouse.close()
        }
    }

    /// Sign-ups per local day, counted here from the raw timestamps.
    static let perDay: Task<[CalendarDay: Double], any Error> = Task {
        let local = LocalTime(identifier: zone)
        let rows = try await SQLiteWarehouse(path: TinyDemo.path).run(
            CompiledStatement(
                role: .value, sql: "SELECT signed_up_at FROM users", parameters: [], columns: ["signed_up_at"]),
            timeout: noTimeLimit)
        var counts: [CalendarDay: Double] = [:]
        for row in rows {
            guard case .text(let text)? = row.first else { continue }
            let day = CalendarDay(parsing: String(text.prefix(10)))!
            let parts = text.dropFirst(11).prefix(8).split(separator: ":").compactMap { Double($0) }
            let seconds = Double(day.dayNumber) * 86_400 + parts[0] * 3600 + parts[1] * 60 + parts[2]
            counts[local.day(of: Date(timeIntervalSince1970: seconds)), default: 0] += 1
        }
        return counts
    }

    static func count(_ start: CalendarDay, _ end: CalendarDay) async throws -> Double {
        let days = try await perDay.value
        var total = 0.0
        var day = start
        while day <= end {
            total += days[day] ?? 0
            day = day.adding(days: 1)
        }
        return total
    }

    /// Every period of a range and of its comparison range (whole periods back, the last one
    /// only its elapsed days), in New York, against the count above: at a month end, over a
    /// year end, and across the November daylight-saving change, on both dialects.
    @Test(arguments: ["2025-12-31", "2026-01-06", "2026-01-15", "2026-10-31", "2026-11-03"])
    func comparisonsMeetWholePeriodsOnBothDialects(_ asOf: String) async throws {
        let url = try await DialectEqualityTests.postgres.value
        let day = CalendarDay(parsing: asOf)!
        for (name, warehouse) in [
            ("SQLite", try SQLiteWarehouse(path: TinyDemo.path) as any Warehouse),
            ("PostgreSQL", try PostgresWarehouse(url: url, connectTimeout: TestPostgres.connectTimeout)),
        ] {
            let evaluator = MetricEvaluator(catalog: Self.catalog, warehouse: warehouse, timeout: noTimeLimit)
            for (grain, span) in [(TimeGrain.day, 30), (.week, 91), (.month, 120)] {
                let range = DateRange.ending(on: day, covering: TimeSpan(span, .days), grain: grain)
                for (compared, label) in [
                    (range.previous(grain: grain), "previous period"),
                    (range.previousYear(grain: grain), "previous year"),
                ] {
                    let result = try await evaluator.evaluate(
                        MetricRequest(metric: "signups", grain: grain, range: compared))
                    let values = try #require(result.series.first?.values)
                    let current = Periods.starts(in: range, grain: grain)
                    #expect(values.count == current.count, "\(name) \(grain) \(asOf) \(label)")
                    for (index, start) in current.enumerated() where index < values.count {
                        // The counterpart of this period: as many periods back as the shift.
                        let earlier = result.periods[index]
                        let end = min(
                            Periods.end(ofPeriodStarting: earlier, grain: grain), compared.end)
                        #expect(
                            values[index] == (try await Self.count(earlier, end)),
                            "\(name) \(grain) \(asOf) \(label): \(start) meets \(earlier)–\(end)")
                        let n = current.count
                        let counterpart: CalendarDay =
                            switch (grain, label) {
                            case (.day, "previous period"): start.adding(days: -7 * ((n + 6) / 7))
                            case (.week, "previous period"): start.adding(days: -7 * n)
                            case (.month, "previous period"): Periods.shift(start, months: -n)
                            case (.month, _): Periods.shift(start, months: -12)
                            default: start.adding(days: -364)
                            }
                        #expect(earlier == counterpart, "\(name) \(grain) \(asOf) \(label): \(start)")
                        if grain != .month { #expect(earlier.weekday == start.weekday) }
                    }
                }
            }
            await warehouse.close()
        }
    }

    @Test func yesterdayIsTheCompanysYesterday() {
        let evening = Date(timeIntervalSince1970: 1_796_500_800)  // 2026-12-05 20:00 UTC
        #expect(CalendarDay.yesterday(now: evening).description == "2026-12-04")
        #expect(
            CalendarDay.yesterday(now: evening, in: TimeZone(identifier: "Asia/Tokyo")!).description == "2026-12-05")
        #expect(
            CalendarDay.yesterday(now: Date(timeIntervalSince1970: 1_796_443_200), in: TimeZone(identifier: Self.zone)!)
                .description == "2026-12-03", "2026-12-05 04:00 UTC is still the 4th in New York")
    }

    @Test func localMidnightsAreUTCBoundsAcrossTheChange() {
        let local = LocalTime(identifier: Self.zone)
        #expect(local.utcText(startOf: CalendarDay(parsing: "2026-10-31")!) == "2026-10-31 04:00:00")
        #expect(local.utcText(startOf: CalendarDay(parsing: "2026-11-02")!) == "2026-11-02 05:00:00")
        let pieces = local.offsets(
            from: local.start(of: CalendarDay(parsing: "2026-10-30")!),
            to: local.start(of: CalendarDay(parsing: "2026-11-03")!))
        #expect(pieces.map(\.seconds) == [-4 * 3600, -5 * 3600])
        #expect(pieces.first?.until == Date(timeIntervalSince1970: 1_793_512_800), "06:00 UTC, 2:00 local")
    }
}

/// Weekly and monthly actives (rolling distinct counts) against a count made here from the raw
/// events: for each period, the distinct users active in the window that ends on its last day,
/// in total and per platform or app, by day, week and month and for a whole range, in UTC and in
/// a zone whose daylight-saving change falls in the ranges, on both dialects.
@Suite(.serialized, .timeLimit(.minutes(10))) struct RollingDistinctTests {
    struct Event: Sendable {
        var user: Int64
        var platform: String
        var app: String?
        var name: String
        var seconds: Double
    }

    static let events: Task<[Event], any Error> = Task {
        let rows = try await SQLiteWarehouse(path: TinyDemo.path).run(
            CompiledStatement(
                role: .value,
                sql: "SELECT user_id, platform, CAST(app_id AS TEXT), event_name, occurred_at FROM events",
                parameters: [], columns: ["user_id", "platform", "app_id", "event_name", "occurred_at"]),
            timeout: noTimeLimit)
        return rows.map { row in
            let text = row[4].textValue!
            let day = CalendarDay(parsing: String(text.prefix(10)))!
            let parts = text.dropFirst(11).prefix(8).split(separator: ":").compactMap { Double($0) }
            return Event(
                user: Int64(row[0].doubleValue!), platform: row[1].textValue!, app: row[2].textValue,
                name: row[3].textValue!,
                seconds: Double(day.dayNumber) * 86_400 + parts[0] * 3600 + parts[1] * 60 + parts[2])
        }
    }

    /// Distinct users per series name (`nil`: the total) over the local days `first...last`;
    /// `byDay` holds the events of each local day.
    static func expected(
        _ byDay: [CalendarDay: [Event]], first: CalendarDay, last: CalendarDay, split: (Event) -> String?,
        appsOnly: Bool
    ) -> [String?: Double] {
        var users: [String?: Set<Int64>] = [:]
        var day = first
        while day <= last {
            for event in byDay[day] ?? [] where !appsOnly || event.name == "app_used" {
                users[nil, default: []].insert(event.user)
                if let name = split(event) { users[name, default: []].insert(event.user) }
            }
            day = day.adding(days: 1)
        }
        return users.mapValues { Double($0.count) }
    }

    @Test(arguments: ["UTC", "America/New_York"])
    func activesMatchACountOfTheRawEvents(_ zone: String) async throws {
        let url = try await DialectEqualityTests.postgres.value
        let events = try await Self.events.value
        var catalog = TinyDemo.catalog
        catalog.settings.timezone = zone
        let local = LocalTime(identifier: zone)
        let byDay = Dictionary(grouping: events) { local.day(of: Date(timeIntervalSince1970: $0.seconds)) }
        let asOf = TinyDemo.asOf
        let cases: [(MetricID, DimensionID?, TimeGrain, Int, Bool)] = [
            ("weekly_active_users", nil, .day, 30, false),
            ("weekly_active_users", "platform", .day, 30, false),
            ("monthly_active_users", "platform", .day, 45, false),
            ("monthly_active_users", nil, .week, 91, false),
            ("monthly_active_users", "platform", .month, 120, false),
            ("weekly_app_users", "app", .week, 63, false),
            ("monthly_active_users", nil, .day, 28, true),
            ("weekly_active_users", "platform", .day, 7, true),
        ]
        var compared = 0
        for (name, warehouse) in [
            ("SQLite", try SQLiteWarehouse(path: TinyDemo.path) as any Warehouse),
            ("PostgreSQL", try PostgresWarehouse(url: url, connectTimeout: TestPostgres.connectTimeout)),
        ] {
            // Both forms of the SQL (a join per window, runs of active days) are among the cases.
            var forms: Set<Bool> = []
            let evaluator = MetricEvaluator(catalog: catalog, warehouse: warehouse, timeout: noTimeLimit)
            for (metric, breakdown, grain, span, wholeRange) in cases {
                let window = try #require(catalog.metric(metric)?.window?.days, "\(metric)'s window")
                let range = DateRange.ending(on: asOf, covering: TimeSpan(span, .days), grain: grain)
                let result = try await evaluator.evaluate(
                    MetricRequest(
                        metric: metric, grain: grain, range: range, breakdown: breakdown, wholeRange: wholeRange))
                let split: (Event) -> String? =
                    switch breakdown?.rawValue {
                    case "platform": { $0.platform }
                    case "app": { $0.app }
                    default: { _ in nil }
                    }
                let label = "\(name) \(zone) \(metric) \(grain) by \(breakdown?.rawValue ?? "-") whole: \(wholeRange)"
                #expect(!result.series.isEmpty, "\(label)")
                forms.insert(result.statements.contains { $0.sql.contains("LAG(") })
                for (index, start) in result.periods.enumerated() {
                    let last =
                        wholeRange ? range.end : min(Periods.end(ofPeriodStarting: start, grain: grain), range.end)
                    let expected = Self.expected(
                        byDay, first: last.adding(days: 1 - window), last: last, split: split,
                        appsOnly: metric == "weekly_app_users")
                    #expect((expected[nil] ?? 0) > 0, "\(label) \(start)")
                    for series in result.series {
                        #expect(
                            (series.values[index] ?? 0) == (expected[series.name] ?? 0),
                            "\(label) \(series.name ?? "total") \(start)")
                        compared += 1
                    }
                }
            }
            #expect(forms == [false, true], "\(name): both forms")
            await warehouse.close()
        }
        #expect(compared > 400)
    }
}
