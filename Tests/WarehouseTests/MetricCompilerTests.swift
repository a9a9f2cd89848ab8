import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Testing
import Warehouse

/// The compiled SQL of one metric of each type, in both dialects, against golden files.
@Suite(.timeLimit(.minutes(10))) struct MetricCompilerTests {
    static let catalog = CatalogLoader.load(directory: Repository.demoCatalog).catalog!
    static let snapshots = Repository.root + "/Tests/WarehouseTests/__Snapshots__"
    static let range = DateRange(start: CalendarDay(parsing: "2026-09-01")!, end: CalendarDay(parsing: "2026-09-14")!)

    static let cases: [(name: String, request: MetricRequest)] = [
        ("count", MetricRequest(metric: "signups", grain: .day, range: range)),
        (
            "count-filtered-breakdown",
            MetricRequest(metric: "twitter_signups", grain: .week, range: range, breakdown: "platform")
        ),
        ("count-distinct", MetricRequest(metric: "daily_active_users", grain: .day, range: range)),
        ("sum", MetricRequest(metric: "ad_spend", grain: .month, range: range)),
        ("avg", MetricRequest(metric: "average_seats", grain: .week, range: range)),
        ("ratio", MetricRequest(metric: "activation_rate", grain: .week, range: range, breakdown: "channel")),
        ("rolling-distinct", MetricRequest(metric: "weekly_active_users", grain: .week, range: range)),
        (
            "rolling-distinct-runs",
            MetricRequest(metric: "monthly_active_users", grain: .day, range: range, breakdown: "platform")
        ),
        (
            "extra-filters",
            MetricRequest(
                metric: "signups", grain: .day, range: range,
                filters: [
                    Filter(
                        column: SQLIdentifier("channel")!, op: .in,
                        value: .list([.string("twitter"), .string("search")])),
                    Filter(column: SQLIdentifier("activated")!, op: .eq, value: .boolean(true)),
                ])
        ),
    ]

    @Test(arguments: [SQLDialect.sqlite, .postgres])
    func compiledSQLMatchesTheGoldenFiles(_ dialect: SQLDialect) throws {
        for (name, request) in Self.cases {
            let compiled = try MetricCompiler(catalog: Self.catalog, dialect: dialect).compile(request)
            let text =
                compiled.statements.map { "-- \($0.role.rawValue)\n\($0.annotated)" }.joined(separator: "\n\n") + "\n"
            if let mismatch = snapshotMismatch(text, named: "\(name).\(dialect.rawValue).sql", in: Self.snapshots) {
                Issue.record(Comment(rawValue: mismatch))
            }
        }
    }

    @Test func valuesAreBoundNeverWritten() throws {
        let hostile = "x'); DROP TABLE users; --"
        let request = MetricRequest(
            metric: "signups", grain: .day, range: Self.range,
            filters: [Filter(column: SQLIdentifier("channel")!, op: .eq, value: .string(hostile))])
        for dialect in SQLDialect.allCases {
            let statement = try MetricCompiler(catalog: Self.catalog, dialect: dialect).compile(request).statements[0]
            #expect(!statement.sql.contains("DROP"))
            #expect(statement.parameters.contains(.text(hostile)))
        }
    }

    @Test func postgresSQLAvoidsRedshiftIncompatibleSyntax() throws {
        for (_, request) in Self.cases {
            for statement in try MetricCompiler(catalog: Self.catalog, dialect: .postgres).compile(request).statements {
                let sql = statement.sql.uppercased()
                for forbidden in ["FILTER (", "GENERATE_SERIES", "STRFTIME", "DATE(", "?"] {
                    #expect(!sql.contains(forbidden), "\(forbidden) in \(statement.sql)")
                }
            }
        }
    }

    @Test func unknownBreakdownIsAClearError() {
        #expect {
            try MetricCompiler(catalog: Self.catalog, dialect: .sqlite).compile(
                MetricRequest(metric: "signups", grain: .day, range: Self.range, breakdown: "planet"))
        } throws: { error in
            (error as? CompileError)?.userMessage == "'planet' is not a dimension of metric 'signups'"
        }
    }

    @Test func periodsAndRanges() {
        let day = CalendarDay(parsing: "2026-11-25")!  // a Wednesday
        #expect(Periods.start(of: day, grain: .week).description == "2026-11-23")
        #expect(Periods.start(of: day, grain: .month).description == "2026-11-01")
        #expect(
            Periods.end(ofPeriodStarting: CalendarDay(parsing: "2026-02-01")!, grain: .month).description
                == "2026-02-28")
        let range = DateRange.ending(on: day, covering: TimeSpan(28, .days), grain: .week)
        #expect(range.start.description == "2026-10-26")
        #expect(
            Periods.starts(in: range, grain: .week).map(\.description) == [
                "2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23",
            ])
        #expect(range.previous.end.description == "2026-10-25")
        #expect(range.previousYear(grain: .day).start.weekday == range.start.weekday)
        #expect(Periods.shift(CalendarDay(parsing: "2024-03-31")!, months: -1).description == "2024-02-29")
    }
}
