public import AlmanacCore
public import Catalog

/// Checks a catalog against a live warehouse: every source's table and declared columns
/// exist, and every metric's compiled SQL runs (`almanac catalog check --warehouse`).
public struct SchemaCheck: Sendable {
    public let catalog: Catalog
    public let warehouse: any Warehouse

    public init(catalog: Catalog, warehouse: any Warehouse) {
        self.catalog = catalog
        self.warehouse = warehouse
    }

    /// Every problem found, pointing at the catalog line that declares the missing thing.
    public func run(asOf: CalendarDay, timeout: Duration = .seconds(30)) async -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var brokenSources = Set<SourceID>()
        for source in catalog.sources {
            let origin = catalog.origins[ItemKey(.source, source.id.rawValue)] ?? ItemOrigin(file: source.id.rawValue)
            do {
                guard let columns = try await warehouse.columns(of: source.table) else {
                    diagnostics.append(
                        Diagnostic(
                            .error, at: origin.location("table"),
                            "table '\(source.table)' of source '\(source.id)' does not exist in the warehouse (\(warehouse.displayLocation))",
                            hint: "load it, or fix 'table'"))
                    brokenSources.insert(source.id)
                    continue
                }
                let lowercased = Dictionary(
                    columns.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
                for (index, column) in source.columns.enumerated()
                where lowercased[column.name.name.lowercased()] == nil {
                    diagnostics.append(
                        Diagnostic(
                            .error, at: origin.location("columns[\(index)].name"),
                            "column '\(column.name)' of source '\(source.id)' does not exist in table '\(source.table)'",
                            hint: closestMatch(to: column.name.name, in: columns.keys).map { "the table has '\($0)'" }))
                    brokenSources.insert(source.id)
                }
            } catch {
                diagnostics.append(
                    Diagnostic(.error, at: origin.location("table"), "cannot inspect table '\(source.table)': \(error)")
                )
                brokenSources.insert(source.id)
            }
        }
        let evaluator = MetricEvaluator(catalog: catalog, warehouse: warehouse, timeout: timeout)
        let range = DateRange(start: asOf.adding(days: -6), end: asOf)
        for metric in catalog.metrics {
            let sources =
                metric.type == .ratio
                ? [metric.numerator, metric.denominator].compactMap { $0.flatMap(catalog.metric)?.source }
                : [metric.source]
            if !brokenSources.isDisjoint(with: sources) { continue }  // already reported on the source
            let origin = catalog.origins[ItemKey(.metric, metric.id.rawValue)] ?? ItemOrigin(file: metric.id.rawValue)
            do {
                _ = try await evaluator.evaluate(MetricRequest(metric: metric.id, grain: .day, range: range))
            } catch {
                diagnostics.append(
                    Diagnostic(
                        .error, at: origin.location("id"),
                        "metric '\(metric.id)' does not run on the warehouse: \(error)"))
            }
        }
        return diagnostics
    }
}
