import AlmanacCore
import Catalog
import Foundation
import Generators
import Storage
import Synchronization
import Warehouse

/// Measures what generation adds on top of the SQL it runs: the same statements, captured
/// from a real generation, run bare in the same process against the same warehouse.
enum GenerationBenchmark {
    struct Result: Sendable {
        var statements: Int
        var bareSeconds: [Double]
        var generationSeconds: [Double]
        var reports: Int
        var failedReports: Int
    }

    /// Runs `runs` rounds; each round times the bare statements and a full generation, in
    /// alternating order so that neither always runs on a warmer cache.
    static func run(generator: AggregateGenerator, parallelism: Int, runs: Int) async throws -> Result {
        let recorder = RecordingWarehouse(generator.warehouse)
        var capturing = generator
        capturing.warehouse = recorder
        let reports = generator.generatableReports
        // A first generation warms caches and captures every statement it runs.
        _ = await capturing.generate(reports, parallelism: parallelism)
        let statements = recorder.statements
        var bare: [Double] = []
        var full: [Double] = []
        var failed = 0
        for round in 0..<max(1, runs) {
            for step in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                let started = ContinuousClock.now
                if step == 0 {
                    try await runBare(statements, on: generator.warehouse, parallelism: parallelism)
                    bare.append((ContinuousClock.now - started).timeInterval)
                } else {
                    let records = await generator.generate(reports, parallelism: parallelism)
                    full.append((ContinuousClock.now - started).timeInterval)
                    failed = records.filter { $0.error != nil }.count
                }
            }
        }
        return Result(
            statements: statements.count, bareSeconds: bare, generationSeconds: full, reports: reports.count,
            failedReports: failed)
    }

    /// The captured statements with the same parallelism as generation: statements of one
    /// report run in order, reports side by side.
    static func runBare(
        _ statements: [(report: String, statement: CompiledStatement)], on warehouse: any Warehouse, parallelism: Int
    )
        async throws
    {
        var byReport: [String: [CompiledStatement]] = [:]
        var order: [String] = []
        for (report, statement) in statements {
            if byReport[report] == nil { order.append(report) }
            byReport[report, default: []].append(statement)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var next = 0
            func add() {
                let list = byReport[order[next]] ?? []
                next += 1
                group.addTask {
                    for statement in list { _ = try await warehouse.run(statement, timeout: .seconds(600)) }
                }
            }
            while next < min(max(1, parallelism), order.count) { add() }
            while try await group.next() != nil {
                if next < order.count { add() }
            }
        }
    }
}

extension GenerationBenchmark {
    /// One template value: its uncached render and the same statements run bare.
    struct TemplateTiming: Sendable {
        var value: String
        /// Median over the rounds.
        var renderSeconds: Double
        var bareSeconds: Double
        var statements: Int
    }

    /// Renders `template` for each of `values` of `parameter` (uncached: the render cache is
    /// the portal's, not the generator's), and runs the statements that render ran bare, one
    /// after another as the render does, alternating which goes first in each round.
    static func templates(
        generator: AggregateGenerator, template: Template, parameter: String, values: [String], rounds: Int
    ) async throws -> [TemplateTiming] {
        var timings: [TemplateTiming] = []
        for value in values {
            let bound = try template.bind([parameter: value])
            let recorder = RecordingWarehouse(generator.warehouse)
            var capturing = generator
            capturing.warehouse = recorder
            _ = try await capturing.renderTemplate(template, values: bound, title: template.title)
            let statements = recorder.statements.map(\.statement)
            var render: [Double] = []
            var bare: [Double] = []
            for round in 0..<max(1, rounds) {
                for step in (round % 2 == 0 ? [0, 1] : [1, 0]) {
                    let started = ContinuousClock.now
                    if step == 0 {
                        for statement in statements {
                            _ = try await generator.warehouse.run(statement, timeout: .seconds(600))
                        }
                        bare.append((ContinuousClock.now - started).timeInterval)
                    } else {
                        _ = try await generator.renderTemplate(template, values: bound, title: template.title)
                        render.append((ContinuousClock.now - started).timeInterval)
                    }
                }
            }
            timings.append(
                TemplateTiming(
                    value: value, renderSeconds: median(render), bareSeconds: median(bare),
                    statements: statements.count))
        }
        return timings
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

/// Forwards to a warehouse and remembers each statement with the report that ran it.
final class RecordingWarehouse: Warehouse {
    private let base: any Warehouse
    private let recorded = Mutex([(report: String, statement: CompiledStatement)]())

    init(_ base: any Warehouse) {
        self.base = base
    }

    var statements: [(report: String, statement: CompiledStatement)] { recorded.withLock { $0 } }
    var dialect: SQLDialect { base.dialect }
    var displayLocation: String { base.displayLocation }

    func run(_ statement: CompiledStatement, timeout: Duration) async throws -> [[SQLValue]] {
        recorded.withLock { $0.append((CurrentReport.id ?? "?", statement)) }
        return try await base.run(statement, timeout: timeout)
    }

    func columns(of table: SQLIdentifier) async throws -> [String: String]? { try await base.columns(of: table) }

    func newest(_ column: SQLIdentifier, in table: SQLIdentifier, timeout: Duration) async throws -> String? {
        let statement = CompiledStatement(
            role: .value, sql: "SELECT MAX(\(column.quoted)) FROM \(table.quoted)", parameters: [], columns: ["newest"])
        recorded.withLock { $0.append((CurrentReport.id ?? "?", statement)) }
        return try await base.newest(column, in: table, timeout: timeout)
    }

    func close() async { await base.close() }
}
