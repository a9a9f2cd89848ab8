public import AlmanacCore
public import Catalog

/// One metric's values over a range, per period and per breakdown value.
public struct MetricResult: Sendable, Hashable {
    public struct Series: Sendable, Hashable {
        /// The breakdown value, or `nil` for the total.
        public var name: String?
        public var values: [Double?]
        /// For ratios: the parts, for Wilson intervals and for people who want to check.
        public var numerators: [Double?]?
        public var denominators: [Double?]?
    }
    public var metric: MetricID
    public var grain: TimeGrain
    public var range: DateRange
    /// The first day of each period, in order.
    public var periods: [CalendarDay]
    public var series: [Series]
    /// Breakdown values beyond the largest ones kept, which are left out of `series`.
    public var omittedSeries: Int
    /// Rows the warehouse returned, over all statements.
    public var rowCount: Int
    public var statements: [CompiledStatement]
}

/// Runs compiled metrics against a warehouse and shapes the rows into series: every period
/// present (empty periods are 0 for additive metrics and missing for averages and ratios),
/// ratios divided period by period.
public struct MetricEvaluator: Sendable {
    public let catalog: Catalog
    public let warehouse: any Warehouse
    public let timeout: Duration
    /// At most this many breakdown series are kept (the largest by total).
    public let maximumSeries: Int

    public init(catalog: Catalog, warehouse: any Warehouse, timeout: Duration = .seconds(60), maximumSeries: Int = 8) {
        self.catalog = catalog
        self.warehouse = warehouse
        self.timeout = timeout
        self.maximumSeries = maximumSeries
    }

    public var compiler: MetricCompiler { MetricCompiler(catalog: catalog, dialect: warehouse.dialect) }

    public func evaluate(_ request: MetricRequest) async throws -> MetricResult {
        let compiled = try compiler.compile(request)
        guard let metric = catalog.metric(request.metric) else {
            throw CompileError("unknown metric '\(request.metric)'")
        }
        var tables: [[String?: [String: Double?]]] = []
        var rowCount = 0
        for statement in compiled.statements {
            let rows = try await warehouse.run(statement, timeout: timeout)
            rowCount += rows.count
            tables.append(
                Self.index(
                    rows, hasDimension: request.breakdown != nil || request.groupColumn != nil,
                    booleanDimension: isBoolean(request, metric)))
        }
        let periods = request.periods
        let keys = periods.map(\.description)
        let names = Set(tables.flatMap(\.keys))
        var series: [MetricResult.Series] = []
        for name in names {
            if compiled.isRatio {
                let numerators = keys.map { tables[0][name]?[$0].flatMap { $0 } ?? 0 }
                let denominators = keys.map { tables[1][name]?[$0].flatMap { $0 } ?? 0 }
                let values = zip(numerators, denominators).map { numerator, denominator -> Double? in
                    denominator > 0 ? numerator / denominator : nil
                }
                series.append(.init(name: name, values: values, numerators: numerators, denominators: denominators))
            } else {
                // One rule for both dialects: a period with no rows and a period whose values are
                // all NULL (SUM gives NULL there) are alike, 0 for additive metrics, no value for averages.
                let additive = metric.type != .avg
                let values = keys.map { key -> Double? in
                    if let found = tables[0][name]?[key], let value = found { return value }
                    return additive ? 0 : nil
                }
                series.append(.init(name: name, values: values, numerators: nil, denominators: nil))
            }
        }
        if series.isEmpty {
            // No rows at all: a total series of zeros (or gaps) keeps charts and tables honest.
            let empty: [Double?] = keys.map { _ in metric.type == .avg || metric.type == .ratio ? nil : 0 }
            series = [.init(name: nil, values: empty, numerators: nil, denominators: nil)]
        }
        series.sort { lhs, rhs in
            let a = lhs.values.reduce(0) { $0 + ($1 ?? 0) }
            let b = rhs.values.reduce(0) { $0 + ($1 ?? 0) }
            return a != b ? a > b : (lhs.name ?? "") < (rhs.name ?? "")
        }
        let omitted = max(0, series.count - maximumSeries)
        return MetricResult(
            metric: metric.id, grain: request.grain, range: request.range, periods: periods,
            series: Array(series.prefix(maximumSeries)), omittedSeries: omitted, rowCount: rowCount,
            statements: compiled.statements)
    }

    private func isBoolean(_ request: MetricRequest, _ metric: Metric) -> Bool {
        guard let breakdown = request.breakdown else { return false }
        let sourceID = metric.type == .ratio ? metric.numerator.flatMap(catalog.metric)?.source : metric.source
        guard let source = sourceID.flatMap(catalog.source), let dimension = source.dimension(breakdown) else {
            return false
        }
        return source.column(named: dimension.column.name)?.type == .boolean
    }

    /// `[dimension: [period: value]]`; booleans read as `true`/`false` whichever way the
    /// database spells them (SQLite 1/0, PostgreSQL true/false).
    static func index(_ rows: [[SQLValue]], hasDimension: Bool, booleanDimension: Bool) -> [String?: [String: Double?]]
    {
        var table: [String?: [String: Double?]] = [:]
        for row in rows {
            guard let period = row.first?.textValue else { continue }
            var name: String? = nil
            if hasDimension {
                name = row.count > 2 ? (row[1].textValue ?? "(none)") : "(none)"
                if booleanDimension, let text = name {
                    name = ["1", "t", "true"].contains(text.lowercased()) ? "true" : "false"
                }
            }
            table[name, default: [:]][period] = row.last?.doubleValue
        }
        return table
    }
}
