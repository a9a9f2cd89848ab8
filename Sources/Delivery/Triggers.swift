public import AlmanacCore
public import Catalog
import Charts
import Foundation
import Mustache
public import Warehouse

/// One entity (a customer, a campaign) for which a trigger's condition held.
public struct TriggerHit: Sendable, Hashable, Codable {
    /// The entity's key (`workspace_id`) and the name people know it by.
    public var key: String
    public var label: String
    /// The value its template is opened with (the domain, for customers).
    public var linkValue: String
    /// The metric over the condition's window, and over the window before it.
    public var current: Double?
    public var previous: Double?
    /// What the condition compared with its threshold (the value, the change or the relative change).
    public var measured: Double

    public init(
        key: String, label: String, linkValue: String, current: Double?, previous: Double?, measured: Double
    ) {
        self.key = key
        self.label = label
        self.linkValue = linkValue
        self.current = current
        self.previous = previous
        self.measured = measured
    }
}

/// What one check of a trigger found.
public struct TriggerEvaluation: Sendable, Hashable {
    public var trigger: TriggerID
    public var window: DateRange
    public var previousWindow: DateRange
    /// Entities in scope that were checked.
    public var checked: Int
    public var hits: [TriggerHit]
}

/// Checks a trigger's condition for every entity in its scope, with two queries of the
/// metric model (the window and the one before), split by the entity's key.
public struct TriggerEvaluator: Sendable {
    public let catalog: Catalog
    public let warehouse: any Warehouse
    public let timeout: Duration

    public init(catalog: Catalog, warehouse: any Warehouse, timeout: Duration = .seconds(120)) {
        self.catalog = catalog
        self.warehouse = warehouse
        self.timeout = timeout
    }

    public func evaluate(_ trigger: Trigger, asOf: CalendarDay) async throws -> TriggerEvaluation {
        guard let entity = catalog.entity(trigger.entity), let source = catalog.source(entity.source) else {
            throw CompileError("trigger '\(trigger.id)' names entity '\(trigger.entity)', which is not in the catalog")
        }
        let linkColumn = linkColumn(entity)
        let rows = try await EntityLookup.columns(
            [entity.key, entity.label, linkColumn], of: source,
            where: entity.filters + trigger.scope + [Filter(column: entity.key, op: .notNull)], catalog: catalog,
            warehouse: warehouse, timeout: timeout)
        let days = max(trigger.condition.window.days, 1)
        let window = DateRange(start: asOf.adding(days: 1 - days), end: asOf)
        let evaluator = MetricEvaluator(
            catalog: catalog, warehouse: warehouse, timeout: timeout, maximumSeries: .max)
        let current = try await values(trigger.metric, window, entity.key, evaluator)
        let previous =
            trigger.condition.measure == .value
            ? [:] : try await values(trigger.metric, window.previous, entity.key, evaluator)
        let additive = catalog.metric(trigger.metric).map { $0.type != .avg && $0.type != .ratio } ?? false
        var hits: [TriggerHit] = []
        var seen = Set<String>()
        for row in rows {
            guard let key = row[0], seen.insert(key).inserted else { continue }
            let now = current[key] ?? (additive ? 0 : nil)
            let before = previous[key] ?? (additive ? 0 : nil)
            if let minimum = trigger.condition.minimumBase, (before ?? 0) < minimum { continue }
            guard let measured = Self.measure(trigger.condition.measure, current: now, previous: before),
                Self.holds(trigger.condition, measured)
            else { continue }
            hits.append(
                TriggerHit(
                    key: key, label: row[1] ?? key, linkValue: row[2] ?? key, current: now,
                    previous: trigger.condition.measure == .value ? nil : before, measured: measured))
        }
        return TriggerEvaluation(
            trigger: trigger.id, window: window, previousWindow: window.previous, checked: seen.count, hits: hits)
    }

    /// The metric over `range` for every entity key (those without rows are left out).
    private func values(
        _ metric: MetricID, _ range: DateRange, _ key: SQLIdentifier, _ evaluator: MetricEvaluator
    ) async throws -> [String: Double] {
        let result = try await evaluator.evaluate(
            MetricRequest(metric: metric, grain: .day, range: range, wholeRange: true, groupColumn: key))
        var values: [String: Double] = [:]
        for series in result.series {
            if let name = series.name, let value = series.values.first ?? nil { values[name] = value }
        }
        return values
    }

    /// The column whose value opens the entity's template (its `by:`, else the key).
    func linkColumn(_ entity: Entity) -> SQLIdentifier {
        let parameter = catalog.template(entity.template)?.parameters.first {
            $0.name == entity.parameter && $0.type == .entity
        }
        return parameter?.by ?? entity.key
    }

    /// The number a condition compares; `nil` when it cannot be computed (no data, or a
    /// relative change from zero), which never fires.
    static func measure(_ measure: TriggerCondition.Measure, current: Double?, previous: Double?) -> Double? {
        guard let current else { return nil }
        switch measure {
        case .value: return current
        case .change: return previous.map { current - $0 }
        case .pctChange:
            guard let previous, previous > 0 else { return nil }
            return (current - previous) / previous
        }
    }

    static func holds(_ condition: TriggerCondition, _ value: Double) -> Bool {
        switch condition.op {
        case .lt: value < condition.threshold
        case .lte: value <= condition.threshold
        case .gt: value > condition.threshold
        case .gte: value >= condition.threshold
        }
    }

    /// `{{label}}`, `{{change}}`, `{{value}}`, `{{previous}}`, `{{metric}}` in a trigger's title.
    public func title(_ trigger: Trigger, hit: TriggerHit) -> String {
        let metric = catalog.metric(trigger.metric)
        let style = DigestMessageBuilder.style(metric?.format ?? .number)
        func text(_ value: Double?) -> String {
            value.map { NumberFormat.format($0, style: style, compact: false) } ?? "–"
        }
        let change: String =
            switch trigger.condition.measure {
            case .pctChange: NumberFormat.format(abs(hit.measured), style: .percent, compact: false)
            case .change: text(abs(hit.measured))
            case .value: text(hit.current)
            }
        let values = [
            "label": hit.label, "change": change, "value": text(hit.current), "previous": text(hit.previous),
            "metric": metric?.name ?? trigger.metric.rawValue,
        ]
        // Mustache, as plain text: nothing is HTML-escaped, and a label that itself reads
        // "{{metric}}" is shown as written, never expanded again. A title Mustache cannot parse
        // is sent as written.
        guard let template = try? MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + trigger.action.title) else {
            return trigger.action.title
        }
        return template.render(values)
    }
}
