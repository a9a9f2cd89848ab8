public import AlmanacCore
public import Catalog

/// What to compute: one metric over a date range at a grain, optionally broken down by
/// one of its dimensions and narrowed by extra filters (a panel's or a template's).
public struct MetricRequest: Sendable, Hashable {
    public var metric: MetricID
    public var grain: TimeGrain
    public var range: DateRange
    public var breakdown: DimensionID?
    /// Extra filters; each must carry a `value` (template parameters are substituted by the caller).
    public var filters: [Filter]
    /// The whole range as one period (keyed by its first day) instead of periods of `grain`:
    /// "sign-ups in the last 7 days", "weekly active users on the range's last day".
    public var wholeRange: Bool
    /// Splits by a column of the metric's source rather than a declared dimension, with every
    /// value kept: triggers read a metric per entity key (`workspace_id`) this way.
    public var groupColumn: SQLIdentifier?

    public init(
        metric: MetricID, grain: TimeGrain, range: DateRange, breakdown: DimensionID? = nil, filters: [Filter] = [],
        wholeRange: Bool = false, groupColumn: SQLIdentifier? = nil
    ) {
        self.metric = metric
        self.grain = grain
        self.range = range
        self.breakdown = breakdown
        self.filters = filters
        self.wholeRange = wholeRange
        self.groupColumn = groupColumn
    }

    /// The first day of each period the request returns.
    public var periods: [CalendarDay] { wholeRange ? [range.start] : Periods.starts(in: range, grain: grain) }
}

/// A metric compiled for one dialect: one statement, or two for a ratio.
public struct CompiledMetric: Sendable, Hashable {
    public var metric: MetricID
    public var dialect: SQLDialect
    public var statements: [CompiledStatement]
    public var isRatio: Bool { statements.count == 2 }
}

/// Why a request cannot be compiled; the catalog validator rules most of these out, so
/// they mostly come from requests built at run time (a bad breakdown in a URL, say).
public struct CompileError: AlmanacError, Hashable, Sendable {
    public var userMessage: String
    public var hint: String?
    public init(_ message: String, hint: String? = nil) {
        userMessage = message
        self.hint = hint
    }
}

/// Compiles catalog metrics to SQL for SQLite or PostgreSQL (Redshift-safe: no `FILTER`
/// clause, no SQLite-only functions, no `generate_series`).
///
/// One compiler, two dialects: the statement shape is the same and only bucketing, casts
/// and placeholders differ. Values are always bound parameters; the only names written
/// into SQL are ``SQLIdentifier``s from the validated catalog. Every statement returns
/// `period` (the first day of the period, as `YYYY-MM-DD` text), optionally `dimension`
/// (as text), and `value` (a double), so both backends decode results the same way.
public struct MetricCompiler: Sendable {
    public let catalog: Catalog
    public let dialect: SQLDialect

    public init(catalog: Catalog, dialect: SQLDialect) {
        self.catalog = catalog
        self.dialect = dialect
    }

    /// - Throws: ``CompileError`` when the metric, breakdown or a filter column is unknown.
    public func compile(_ request: MetricRequest) throws(CompileError) -> CompiledMetric {
        guard let metric = catalog.metric(request.metric) else {
            throw CompileError("unknown metric '\(request.metric)'")
        }
        if metric.type == .ratio {
            guard let numerator = metric.numerator.flatMap(catalog.metric),
                let denominator = metric.denominator.flatMap(catalog.metric)
            else { throw CompileError("ratio metric '\(metric.id)' is missing its numerator or denominator") }
            var parts: [CompiledStatement] = []
            for (part, role) in [(numerator, CompiledStatement.Role.numerator), (denominator, .denominator)] {
                // A ratio's breakdown and filters apply to both parts.
                let partRequest = MetricRequest(
                    metric: part.id, grain: request.grain, range: request.range, breakdown: request.breakdown,
                    filters: request.filters, wholeRange: request.wholeRange, groupColumn: request.groupColumn)
                var statement = try statement(for: part, request: partRequest, breakdownOwner: metric)
                statement.role = role
                parts.append(statement)
            }
            return CompiledMetric(metric: metric.id, dialect: dialect, statements: parts)
        }
        return CompiledMetric(
            metric: metric.id, dialect: dialect,
            statements: [try statement(for: metric, request: request, breakdownOwner: metric)])
    }

    private func statement(
        for metric: Metric, request: MetricRequest, breakdownOwner: Metric
    ) throws(CompileError)
        -> CompiledStatement
    {
        guard let source = catalog.source(metric.source) else {
            throw CompileError("metric '\(metric.id)' references unknown source '\(metric.source)'")
        }
        guard let timeColumnName = metric.timeColumn ?? source.timeColumn,
            let timeColumn = source.column(named: timeColumnName.name)
        else { throw CompileError("metric '\(metric.id)' has no time column") }
        var dimensionColumn: Source.Column?
        if let group = request.groupColumn {
            guard request.breakdown == nil else {
                throw CompileError("a request splits by a breakdown or by a column, not both")
            }
            guard let column = source.column(named: group.name) else {
                throw CompileError(
                    "metric '\(metric.id)' cannot be split by '\(group)': it is not a declared column of source '\(source.id)'"
                )
            }
            dimensionColumn = column
        } else if let breakdown = request.breakdown {
            guard breakdownOwner.dimensions.contains(breakdown), let dimension = source.dimension(breakdown),
                let column = source.column(named: dimension.column.name)
            else {
                throw CompileError(
                    "'\(breakdown)' is not a dimension of metric '\(breakdownOwner.id)'",
                    hint: breakdownOwner.dimensions.isEmpty
                        ? nil : "use one of \(breakdownOwner.dimensions.map(\.rawValue).joined(separator: ", "))")
            }
            dimensionColumn = column
        }

        var builder = StatementBuilder(dialect: dialect)
        let table = source.table.quoted
        let time = "t." + timeColumn.name.quoted
        // Timestamps are cut into the company's days (dates already are its days).
        let local = timeColumn.type == .timestamp && !localTime.isUTC ? localTime : nil
        let dimensionSelect =
            dimensionColumn.map { ", " + builder.textCast("t." + $0.name.quoted) + " AS dimension" } ?? ""
        let dimensionGroup = dimensionColumn.map { ", " + builder.textCast("t." + $0.name.quoted) } ?? ""
        // NB: conditions are bound after everything that precedes them in the SQL text, because
        // SQLite's `?` placeholders take parameters in the order they appear.
        let filters = metric.filters + request.filters
        let columns = ["period"] + (dimensionColumn == nil ? [] : ["dimension"]) + ["value"]

        if metric.type == .rollingDistinct {
            return try rollingStatement(
                metric: metric, source: source, request: request, timeColumn: timeColumn, table: table, time: time,
                dimension: dimensionColumn.map { builder.textCast("t." + $0.name.quoted) }, filters: filters,
                builder: &builder, columns: columns, local: local)
        }

        let aggregate: String
        switch metric.type {
        case .count: aggregate = builder.doubleCast("COUNT(*)")
        case .countDistinct: aggregate = builder.doubleCast("COUNT(DISTINCT t.\(try column(metric, source).quoted))")
        case .sum: aggregate = "SUM(\(builder.doubleCast("t." + (try column(metric, source).quoted))))"
        case .avg: aggregate = "AVG(\(builder.doubleCast("t." + (try column(metric, source).quoted))))"
        case .ratio, .rollingDistinct: throw CompileError("internal: \(metric.type.rawValue) handled elsewhere")
        }
        // A whole-range request's one period is a bound constant (bound first: it comes first in the text).
        let period =
            request.wholeRange
            ? builder.bind(.text(request.range.start.description), as: .string)
            : builder.bucket(
                local.map { builder.local(time, $0, range: request.range) } ?? time, grain: request.grain)
        let lower = builder.bind(bound(request.range.start, local), as: timeColumn.type)
        let upper = builder.bind(bound(request.range.end.adding(days: 1), local), as: timeColumn.type)
        var conditions: [String] = []
        for filter in filters { conditions.append(try builder.condition(filter, source: source, alias: "t")) }
        let whereClause = (["\(time) >= \(lower)", "\(time) < \(upper)"] + conditions).joined(separator: "\n  AND ")
        // By position when the period holds placeholders: SQLite's `?` would need its values again.
        let groups =
            (request.wholeRange ? [] : [local == nil ? period : "1"])
            + (dimensionColumn == nil ? [] : [String(dimensionGroup.dropFirst(2))])
        let sql = """
            SELECT \(period) AS period\(dimensionSelect), \(aggregate) AS value
            FROM \(table) t
            WHERE \(whereClause)\(groups.isEmpty ? "" : "\nGROUP BY " + groups.joined(separator: ", "))
            ORDER BY 1\(dimensionColumn == nil ? "" : ", 2")
            """
        return CompiledStatement(role: .value, sql: sql, parameters: builder.parameters, columns: columns)
    }

    /// Distinct values over a trailing window, evaluated on the last day of each period, in one
    /// of two forms with the same rows and numbers; the cheaper one for the request is chosen.
    ///
    /// - Windows: each evaluation day is joined to its window's events, which are counted
    ///   distinct. It reads each event once per day it counts on, so a 28-day window evaluated
    ///   every day of a year reads the year 28 times (80 s at the demo's scale 1, past the 120-s
    ///   query limit on a busy machine), but for a few evaluation days (a digest's, a month's)
    ///   it is the cheapest.
    /// - Runs: each value's active days are read once and cut into runs of days less than the
    ///   window apart. A run covers its first day to the window's length after its last, adds one
    ///   on its first day and takes one away after its end, and a day's count is the sum of the
    ///   steps up to it: one sort of the events, whatever the number of evaluation days.
    ///
    /// In SQLite on the demo warehouse (scale 1, 6.5M events) sorting a day's events into runs
    /// cost about 3.5 times reading them through a window: 1.4 s for one 28-day window's runs
    /// against 0.4 s for the window (both forms 14–18 s for 53 weekly windows, the runs ahead;
    /// 365 daily windows: about 31 s as runs, while 20 of them took 11.5 s as windows).
    private func rollingStatement(
        metric: Metric, source: Source, request: MetricRequest, timeColumn: Source.Column, table: String, time: String,
        dimension: String?, filters: [Filter], builder: inout StatementBuilder, columns: [String], local: LocalTime?
    ) throws(CompileError) -> CompiledStatement {
        let windowDays = max(metric.window?.days ?? 1, 1)
        let target = try column(metric, source)
        let evaluations = request.periods.map { start in
            (
                period: start,
                day: request.wholeRange
                    ? request.range.end
                    : min(Periods.end(ofPeriodStarting: start, grain: request.grain), request.range.end)
            )
        }
        guard let first = evaluations.map(\.day).min(), let last = evaluations.map(\.day).max() else {
            throw CompileError("internal: a rolling request for '\(metric.id)' has no periods")
        }
        let windowReads = evaluations.count * windowDays
        let runDays = last.dayNumber - first.dayNumber + windowDays
        guard Double(windowReads) > 3.5 * Double(runDays) else {
            var rows: [String] = []
            for evaluation in evaluations {
                let period = builder.bind(.text(evaluation.period.description), as: .string)
                let lower = builder.bind(bound(evaluation.day.adding(days: 1 - windowDays), local), as: timeColumn.type)
                let upper = builder.bind(bound(evaluation.day.adding(days: 1), local), as: timeColumn.type)
                rows.append("SELECT \(period) AS period, \(lower) AS lo, \(upper) AS hi")
            }
            var conditions = ["\(time) >= d.lo", "\(time) < d.hi"]
            for filter in filters { conditions.append(try builder.condition(filter, source: source, alias: "t")) }
            let sql = """
                WITH d AS (
                  \(rows.joined(separator: "\n  UNION ALL "))
                )
                SELECT d.period AS period\(dimension.map { ", \($0) AS dimension" } ?? ""), \(builder.doubleCast("COUNT(DISTINCT t.\(target.quoted))")) AS value
                FROM d
                JOIN \(table) t ON \(conditions.joined(separator: "\n  AND "))
                GROUP BY d.period\(dimension.map { ", \($0)" } ?? "")
                ORDER BY 1\(dimension == nil ? "" : ", 2")
                """
            return CompiledStatement(role: .value, sql: sql, parameters: builder.parameters, columns: columns)
        }
        // Runs: days are numbers counted from the first window's first day.
        let origin = first.adding(days: 1 - windowDays)
        var rows: [String] = []
        for evaluation in evaluations {
            let period = builder.bind(.text(evaluation.period.description), as: .string)
            let day = builder.bind(.integer(Int64(evaluation.day.dayNumber - origin.dayNumber)), as: .integer)
            rows.append("SELECT \(period) AS period, CAST(\(day) AS INTEGER) AS evaluation_day")
        }
        let localTime = local.map { builder.local(time, $0, range: DateRange(start: origin, end: last)) } ?? time
        let activeDay = builder.days(from: origin, to: localTime)
        let lower = builder.bind(bound(origin, local), as: timeColumn.type)
        let upper = builder.bind(bound(last.adding(days: 1), local), as: timeColumn.type)
        var conditions = ["\(time) >= \(lower)", "\(time) < \(upper)", "t.\(target.quoted) IS NOT NULL"]
        for filter in filters { conditions.append(try builder.condition(filter, source: source, alias: "t")) }
        let runStartWindow = builder.bind(.integer(Int64(windowDays)), as: .integer)
        let runEndWindow = builder.bind(.integer(Int64(windowDays)), as: .integer)
        let nextRunWindow = builder.bind(.integer(Int64(windowDays)), as: .integer)
        let split = dimension == nil ? "" : "dimension, "
        let ordered = "OVER (PARTITION BY \(split)who ORDER BY active_day)"
        let sql = """
            WITH d AS (
              \(rows.joined(separator: "\n  UNION ALL "))
            ),
            e AS (
              SELECT \(dimension.map { "\($0) AS dimension, " } ?? "")t.\(target.quoted) AS who, \(activeDay) AS active_day
              FROM \(table) t
              WHERE \(conditions.joined(separator: "\n    AND "))
            ),
            s AS (
              SELECT \(split)active_day,
                LAG(active_day) \(ordered) AS previous_day,
                LEAD(active_day) \(ordered) AS next_day
              FROM e
            ),
            g AS (
              SELECT \(split)boundary, SUM(step) AS step
              FROM (
                SELECT \(split)active_day AS boundary, 1 AS step FROM s
                WHERE previous_day IS NULL OR active_day >= previous_day + \(runStartWindow)
                UNION ALL
                SELECT \(split)active_day + \(runEndWindow) AS boundary, -1 AS step FROM s
                WHERE next_day IS NULL OR next_day >= active_day + \(nextRunWindow)
              ) x
              GROUP BY \(split)boundary
            )
            SELECT d.period AS period\(dimension == nil ? "" : ", g.dimension AS dimension"), \(builder.doubleCast("SUM(g.step)")) AS value
            FROM d
            JOIN g ON g.boundary <= d.evaluation_day
            GROUP BY d.period\(dimension == nil ? "" : ", g.dimension")
            HAVING SUM(g.step) > 0
            ORDER BY 1\(dimension == nil ? "" : ", 2")
            """
        return CompiledStatement(role: .value, sql: sql, parameters: builder.parameters, columns: columns)
    }

    /// The company's time zone, in which timestamps are cut into days.
    var localTime: LocalTime { LocalTime(identifier: catalog.settings.timezone) }

    /// The first instant of `day` as the time column compares it: the day itself, or its local
    /// midnight in UTC for a timestamp column in a zone other than UTC.
    private func bound(_ day: CalendarDay, _ local: LocalTime?) -> SQLValue {
        .text(local.map { $0.utcText(startOf: day) } ?? day.description)
    }

    private func column(_ metric: Metric, _ source: Source) throws(CompileError) -> SQLIdentifier {
        guard let column = metric.column, source.column(named: column.name) != nil else {
            throw CompileError("metric '\(metric.id)' needs a declared column of source '\(source.id)'")
        }
        return column
    }
}

/// Accumulates placeholders and their values in one dialect's syntax.
struct StatementBuilder {
    let dialect: SQLDialect
    private(set) var parameters: [SQLValue] = []

    init(dialect: SQLDialect) {
        self.dialect = dialect
    }

    /// A placeholder for `value`, cast where PostgreSQL needs to know the type of a text literal.
    mutating func bind(_ value: SQLValue, as type: ColumnType) -> String {
        parameters.append(value)
        switch dialect {
        case .sqlite:
            return "?"
        case .postgres:
            let placeholder = "$\(parameters.count)"
            switch type {
            case .date: return "CAST(\(placeholder) AS DATE)"
            case .timestamp: return "CAST(\(placeholder) AS TIMESTAMP)"
            case .string: return "CAST(\(placeholder) AS VARCHAR)"
            default: return placeholder
            }
        }
    }

    func doubleCast(_ expression: String) -> String {
        dialect == .sqlite ? "CAST(\(expression) AS REAL)" : "CAST(\(expression) AS DOUBLE PRECISION)"
    }

    func textCast(_ expression: String) -> String {
        dialect == .sqlite ? "CAST(\(expression) AS TEXT)" : "CAST(\(expression) AS VARCHAR)"
    }

    /// Whole days from `origin` to the day of `expression` (a date, or a timestamp at or after
    /// `origin`), as an integer.
    mutating func days(from origin: CalendarDay, to expression: String) -> String {
        switch dialect {
        case .sqlite:
            // Julian days: the difference is whole for a date, and the cast floors it for a later
            // time of that day (it is never negative).
            "CAST(julianday(\(expression)) - julianday(\(bind(.text(origin.description), as: .string))) AS INTEGER)"
        case .postgres:
            "(CAST(\(expression) AS DATE) - \(bind(.text(origin.description), as: .date)))"
        }
    }

    /// `expression` (a UTC timestamp) in local time: plus the zone's offset, by piece between
    /// daylight-saving changes over the days `range` reads.
    mutating func local(_ expression: String, _ local: LocalTime, range: DateRange) -> String {
        // A day's margin either side: rows are cut by the bounds, the pieces only need to cover them.
        let pieces = local.offsets(
            from: local.start(of: range.start.adding(days: -1)), to: local.start(of: range.end.adding(days: 2)))
        func shifted(_ seconds: Int) -> String {
            switch dialect {
            case .sqlite:
                return
                    "datetime(\(expression), \(bind(.text("\(seconds >= 0 ? "+" : "")\(seconds) seconds"), as: .string)))"
            case .postgres:
                return "(\(expression) + \(bind(.integer(Int64(seconds)), as: .integer)) * INTERVAL '1 second')"
            }
        }
        guard pieces.count > 1 else { return shifted(pieces[0].seconds) }
        var cases = "CASE"
        for piece in pieces {
            if let until = piece.until {
                let limit = bind(.text(LocalTime.utcText(until)), as: .timestamp)
                cases += " WHEN \(expression) < \(limit) THEN \(shifted(piece.seconds))"
            } else {
                cases += " ELSE \(shifted(piece.seconds)) END"
            }
        }
        return cases
    }

    /// The first day of the period holding `expression`, as `YYYY-MM-DD` text; weeks start on Monday.
    func bucket(_ expression: String, grain: TimeGrain) -> String {
        switch (dialect, grain) {
        case (.sqlite, .day): "date(\(expression))"
        case (.sqlite, .week): "date(\(expression), '-6 days', 'weekday 1')"
        case (.sqlite, .month): "strftime('%Y-%m-01', \(expression))"
        case (.postgres, .day): "TO_CHAR(CAST(\(expression) AS DATE), 'YYYY-MM-DD')"
        case (.postgres, .week): "TO_CHAR(DATE_TRUNC('week', CAST(\(expression) AS TIMESTAMP)), 'YYYY-MM-DD')"
        case (.postgres, .month): "TO_CHAR(DATE_TRUNC('month', CAST(\(expression) AS TIMESTAMP)), 'YYYY-MM-DD')"
        }
    }

    /// `alias.column op placeholder(s)` for one filter; the value is bound, never written.
    mutating func condition(_ filter: Filter, source: Source, alias: String) throws(CompileError) -> String {
        guard let column = source.column(named: filter.column.name) else {
            throw CompileError("filter column '\(filter.column)' is not a declared column of source '\(source.id)'")
        }
        let name = "\(alias).\(column.name.quoted)"
        switch filter.op {
        case .isNull: return "\(name) IS NULL"
        case .notNull: return "\(name) IS NOT NULL"
        default: break
        }
        guard let value = filter.value else {
            throw CompileError(
                filter.parameter.map { "filter on '\(column.name)' needs a value for parameter '\($0)'" }
                    ?? "filter on '\(column.name)' has no value")
        }
        if filter.op.takesList {
            guard case .list(let items) = value, !items.isEmpty else {
                throw CompileError("filter '\(filter.op.rawValue)' on '\(column.name)' needs a non-empty list")
            }
            var placeholders: [String] = []
            for item in items { placeholders.append(bind(try Self.sqlValue(item, for: column), as: column.type)) }
            return "\(name) \(filter.op == .in ? "IN" : "NOT IN") (\(placeholders.joined(separator: ", ")))"
        }
        let placeholder = bind(try Self.sqlValue(value, for: column), as: column.type)
        let op: String =
            switch filter.op {
            case .eq: "="
            case .ne: "<>"
            case .gt: ">"
            case .gte: ">="
            case .lt: "<"
            case .lte: "<="
            default: "="
            }
        return "\(name) \(op) \(placeholder)"
    }

    /// Converts a catalog literal to the value bound for a column of `column.type`.
    ///
    /// Booleans are stored as 0/1 in SQLite and as `boolean` in PostgreSQL; each gets its own.
    static func sqlValue(_ value: FilterValue, for column: Source.Column) throws(CompileError) -> SQLValue {
        switch (column.type, value) {
        case (.integer, .integer(let v)): return .integer(Int64(v))
        case (.integer, .string(let text)):
            guard let v = Int64(text) else {
                throw CompileError("'\(text)' is not a whole number for '\(column.name)'")
            }
            return .integer(v)
        case (.number, .integer(let v)): return .double(Double(v))
        case (.number, .number(let v)): return .double(v)
        case (.number, .string(let text)):
            guard let v = Double(text) else { throw CompileError("'\(text)' is not a number for '\(column.name)'") }
            return .double(v)
        case (.boolean, .boolean(let v)): return .bool(v)
        case (.boolean, .integer(let v)): return .bool(v != 0)
        case (.boolean, .string(let text)):
            switch text.lowercased() {
            case "true", "1", "yes": return .bool(true)
            case "false", "0", "no": return .bool(false)
            default: throw CompileError("'\(text)' is not true or false for '\(column.name)'")
            }
        case (.string, .string(let text)): return .text(text)
        case (.string, .integer(let v)): return .text(String(v))
        case (.string, .number(let v)): return .text(String(v))
        case (.string, .boolean(let v)): return .text(String(v))
        case (.date, .string(let text)):
            guard CalendarDay(parsing: text) != nil else {
                throw CompileError("'\(text)' is not a date (YYYY-MM-DD) for '\(column.name)'")
            }
            return .text(text)
        case (.timestamp, .string(let text)): return .text(text)
        default:
            throw CompileError("value \(value) does not fit column '\(column.name)' of type \(column.type.rawValue)")
        }
    }
}
