public import AlmanacCore
public import Catalog

/// The statements of the panels that are not one metric over time: a source's rows
/// (`facts`, `records`), engagement depth (`ocean`) and experiment arms (`experiment`).
///
/// As in ``MetricCompiler``, every value is bound and the only names written into SQL are
/// validated ``SQLIdentifier``s; results come back as text or doubles in both dialects.
public struct PanelQueries: Sendable {
    public let catalog: Catalog
    public let dialect: SQLDialect

    public init(catalog: Catalog, dialect: SQLDialect) {
        self.catalog = catalog
        self.dialect = dialect
    }

    private func source(_ id: SourceID) throws(CompileError) -> Source {
        guard let source = catalog.source(id) else { throw CompileError("unknown source '\(id)'") }
        return source
    }

    private func column(_ name: SQLIdentifier, of source: Source) throws(CompileError) -> Source.Column {
        guard let column = source.column(named: name.name) else {
            throw CompileError("'\(name)' is not a declared column of source '\(source.id)'")
        }
        return column
    }

    /// `columns` of the newest `limit` rows (by `order`, else the time column), as text.
    public func records(_ spec: RecordsSpec, filters: [Filter]) throws(CompileError) -> CompiledStatement {
        let source = try source(spec.source)
        guard let order = spec.order ?? source.timeColumn else {
            throw CompileError("source '\(source.id)' has no time column to sort records by")
        }
        _ = try column(order, of: source)
        var builder = StatementBuilder(dialect: dialect)
        var select: [String] = []
        for name in spec.columns {
            _ = try column(name, of: source)
            select.append(builder.textCast("t." + name.quoted))
        }
        var conditions: [String] = []
        for filter in filters { conditions.append(try builder.condition(filter, source: source, alias: "t")) }
        let whereClause = conditions.isEmpty ? "" : "\nWHERE " + conditions.joined(separator: "\n  AND ")
        let sql = """
            SELECT \(select.joined(separator: ", "))
            FROM \(source.table.quoted) t\(whereClause)
            ORDER BY t.\(order.quoted) DESC
            LIMIT \(max(1, min(spec.limit, 500)))
            """
        return CompiledStatement(
            role: .value, sql: sql, parameters: builder.parameters, columns: spec.columns.map(\.name))
    }

    /// For an `ocean` panel: per period, how many people were active on how many distinct
    /// days (`period`, `days`, `value` = people). `metric` is a `count_distinct` of people.
    public func activeDays(
        metric: Metric, grain: TimeGrain, range: DateRange, filters: [Filter]
    ) throws(CompileError) -> CompiledStatement {
        let source = try source(metric.source)
        guard metric.type == .countDistinct, let person = metric.column else {
            throw CompileError("an ocean panel needs a count_distinct metric of people; '\(metric.id)' is not one")
        }
        _ = try column(person, of: source)
        guard let timeName = metric.timeColumn ?? source.timeColumn else {
            throw CompileError("metric '\(metric.id)' has no time column")
        }
        let timeColumn = try column(timeName, of: source)
        var builder = StatementBuilder(dialect: dialect)
        let time = "t." + timeName.quoted
        let period = builder.bucket(time, grain: grain)
        let day = builder.bucket(time, grain: .day)
        let lower = builder.bind(.text(range.start.description), as: timeColumn.type)
        let upper = builder.bind(.text(range.end.adding(days: 1).description), as: timeColumn.type)
        var conditions = ["\(time) >= \(lower)", "\(time) < \(upper)"]
        for filter in metric.filters + filters {
            conditions.append(try builder.condition(filter, source: source, alias: "t"))
        }
        let sql = """
            SELECT u.period AS period, u.days AS days, \(builder.doubleCast("COUNT(*)")) AS value
            FROM (
              SELECT \(period) AS period, t.\(person.quoted) AS person, COUNT(DISTINCT \(day)) AS days
              FROM \(source.table.quoted) t
              WHERE \(conditions.joined(separator: "\n    AND "))
              GROUP BY \(period), t.\(person.quoted)
            ) u
            GROUP BY u.period, u.days
            ORDER BY 1, 2
            """
        return CompiledStatement(
            role: .value, sql: sql, parameters: builder.parameters, columns: ["period", "days", "value"])
    }

    /// A count metric's total before `day` (everyone who joined before the range starts).
    public func total(
        metric: Metric, before day: CalendarDay, filters: [Filter]
    ) throws(CompileError)
        -> CompiledStatement
    {
        let source = try source(metric.source)
        guard let timeName = metric.timeColumn ?? source.timeColumn else {
            throw CompileError("metric '\(metric.id)' has no time column")
        }
        let timeColumn = try column(timeName, of: source)
        let aggregate: String
        switch metric.type {
        case .count: aggregate = "COUNT(*)"
        case .countDistinct:
            guard let counted = metric.column else { throw CompileError("metric '\(metric.id)' needs a column") }
            aggregate = "COUNT(DISTINCT t.\(try column(counted, of: source).name.quoted))"
        default:
            throw CompileError("the population metric '\(metric.id)' must be a count")
        }
        var builder = StatementBuilder(dialect: dialect)
        let upper = builder.bind(.text(day.description), as: timeColumn.type)
        var conditions = ["t.\(timeName.quoted) < \(upper)"]
        for filter in metric.filters + filters {
            conditions.append(try builder.condition(filter, source: source, alias: "t"))
        }
        let sql = """
            SELECT \(builder.doubleCast(aggregate)) AS value
            FROM \(source.table.quoted) t
            WHERE \(conditions.joined(separator: "\n  AND "))
            """
        return CompiledStatement(role: .value, sql: sql, parameters: builder.parameters, columns: ["value"])
    }

    /// Units exposed per arm and day of first assignment (`arm`, `day`, `value`).
    public func exposures(_ spec: ExperimentSpec, filters: [Filter]) throws(CompileError) -> CompiledStatement {
        var builder = StatementBuilder(dialect: dialect)
        let first = try firstAssignments(spec, filters: filters, builder: &builder)
        let sql = """
            SELECT a.arm AS arm, \(builder.bucket("a.first_at", grain: .day)) AS day, \(builder.doubleCast("COUNT(*)")) AS value
            FROM (
            \(first)
            ) a
            GROUP BY a.arm, \(builder.bucket("a.first_at", grain: .day))
            ORDER BY 1, 2
            """
        return CompiledStatement(
            role: .value, sql: sql, parameters: builder.parameters, columns: ["arm", "day", "value"])
    }

    /// Exposed units that converted after their assignment, per arm and day of their first
    /// such conversion (`arm`, `day`, `value`).
    public func conversions(_ spec: ExperimentSpec, filters: [Filter]) throws(CompileError) -> CompiledStatement {
        let conversions = try source(spec.conversions)
        guard let conversionTime = conversions.timeColumn else {
            throw CompileError("source '\(conversions.id)' needs a time column")
        }
        var builder = StatementBuilder(dialect: dialect)
        let first = try firstAssignments(spec, filters: filters, builder: &builder)
        var join = ["c.\(spec.unit.quoted) = a.unit", "c.\(conversionTime.quoted) >= a.first_at"]
        for (index, name) in spec.match.enumerated() {
            _ = try column(name, of: conversions)
            join.append("c.\(name.quoted) = a.m\(index)")
        }
        let day = builder.bucket("x.converted_at", grain: .day)
        let sql = """
            SELECT x.arm AS arm, \(day) AS day, \(builder.doubleCast("COUNT(*)")) AS value
            FROM (
              SELECT a.arm AS arm, a.unit AS unit, MIN(c.\(conversionTime.quoted)) AS converted_at
              FROM (
              \(first)
              ) a
              JOIN \(conversions.table.quoted) c ON \(join.joined(separator: " AND "))
              GROUP BY a.arm, a.unit
            ) x
            GROUP BY x.arm, \(day)
            ORDER BY 1, 2
            """
        return CompiledStatement(
            role: .value, sql: sql, parameters: builder.parameters, columns: ["arm", "day", "value"])
    }

    /// Each unit's arm and first assignment time (`arm`, `unit`, `m0…`, `first_at`).
    private func firstAssignments(
        _ spec: ExperimentSpec, filters: [Filter], builder: inout StatementBuilder
    ) throws(CompileError) -> String {
        let assignments = try source(spec.assignments)
        guard let time = assignments.timeColumn else {
            throw CompileError("source '\(assignments.id)' needs a time column")
        }
        _ = try column(spec.unit, of: assignments)
        _ = try column(spec.arm, of: assignments)
        var select = [
            builder.textCast("t." + spec.arm.quoted) + " AS arm", "t.\(spec.unit.quoted) AS unit",
        ]
        var group = [builder.textCast("t." + spec.arm.quoted), "t.\(spec.unit.quoted)"]
        for (index, name) in spec.match.enumerated() {
            _ = try column(name, of: assignments)
            select.append("t.\(name.quoted) AS m\(index)")
            group.append("t.\(name.quoted)")
        }
        select.append("MIN(t.\(time.quoted)) AS first_at")
        var conditions: [String] = []
        for filter in filters { conditions.append(try builder.condition(filter, source: assignments, alias: "t")) }
        return """
              SELECT \(select.joined(separator: ", "))
              FROM \(assignments.table.quoted) t\(conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
              GROUP BY \(group.joined(separator: ", "))
            """
    }
}
