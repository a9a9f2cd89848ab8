import AlmanacCore
import Catalog
import Charts
import Foundation
import Rendering
import Warehouse

/// The panels that read more than one metric over time: a source's rows (`facts`,
/// `records`), engagement depth (`ocean`) and A/B test results (`experiment`).
extension PanelBuilder {
    var queries: PanelQueries { PanelQueries(catalog: catalog, dialect: evaluator.warehouse.dialect) }

    func run(_ statement: CompiledStatement) async throws -> [[SQLValue]] {
        try await evaluator.warehouse.run(statement, timeout: evaluator.timeout)
    }

    func emptyModel(metricID: String, metricName: String, metricURL: String?) -> DashboardModel.Panel {
        DashboardModel.Panel(
            index: index, title: panel.title, description: panel.description, chart: panel.chart.rawValue,
            metricID: metricID, metricName: metricName, metricURL: metricURL, svg: nil, svgFile: nil,
            csvFile: "panel-\(index).csv", table: nil, showTable: false, headline: nil, headlineChange: nil, notes: [],
            error: nil)
    }

    // MARK: - Facts and records

    func buildRecords() async throws -> Built {
        guard let spec = panel.records, let source = catalog.source(spec.source) else {
            throw GenerationError("panel '\(panel.title)' names no source to read")
        }
        let rows = try await run(try queries.records(spec, filters: panel.filters))
        let labels = spec.columns.map { Self.label(for: $0, in: source) }
        let texts = rows.map { row in
            zip(spec.columns, row).map { column, value in Self.display(value, column: column, in: source) }
        }
        var model = emptyModel(metricID: "", metricName: source.name, metricURL: nil)
        if panel.chart == .facts {
            if let first = texts.first {
                model.facts = zip(labels, first).map { DashboardModel.Fact(label: $0, value: $1) }
            } else {
                model.notes.append("No \(source.name.lowercased()) row matches.")
            }
        } else {
            model.table = DashboardModel.Table(columns: labels, rows: texts)
            model.showTable = true
            if texts.isEmpty { model.notes.append("No \(source.name.lowercased()) rows match.") }
            if texts.count == spec.limit { model.notes.append("The newest \(spec.limit) rows.") }
        }
        let csv: @Sendable () -> String = {
            var lines = [labels.map(Self.csvField).joined(separator: ",")]
            for row in rows { lines.append(row.map { Self.csvField(Self.plain($0)) }.joined(separator: ",")) }
            return lines.joined(separator: "\n") + "\n"
        }
        return Built(model: model, csv: csv, rows: rows.count)
    }

    /// `account_owner` → "Account owner"; the source's description of a column is longer prose.
    static func label(for column: SQLIdentifier, in source: Source) -> String {
        var words = column.name.split(separator: "_").map(String.init)
        if words.last == "usd" { words.removeLast() }
        let text = words.joined(separator: " ")
        return text.prefix(1).uppercased() + text.dropFirst()
    }

    static func display(_ value: SQLValue, column: SQLIdentifier, in source: Source) -> String {
        let text = plain(value)
        guard !text.isEmpty else { return "–" }
        if column.name.hasSuffix("_usd"), let number = Double(text) {
            return NumberFormat.format(number, style: .currency, compact: false)
        }
        if let type = source.column(named: column.name)?.type, type == .integer || type == .number,
            let number = Double(text)
        {
            return NumberFormat.format(number, style: .number, compact: false)
        }
        return text
    }

    static func plain(_ value: SQLValue) -> String {
        switch value {
        case .text(let text): text
        case .integer(let number): String(number)
        case .double(let number):
            number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): String(flag)
        case .null: ""
        }
    }

    static func double(_ value: SQLValue) -> Double? {
        switch value {
        case .double(let number): number
        case .integer(let number): Double(number)
        case .text(let text): Double(text)
        case .bool(let flag): flag ? 1 : 0
        case .null: nil
        }
    }

    // MARK: - Ocean

    /// Everyone who has joined by each period, stacked by how many days they were active in
    /// it; the top layer (dormant) is the people who were not active at all.
    func buildOcean() async throws -> Built {
        guard let metricID = panel.metric, let metric = catalog.metric(metricID), let depth = panel.depth,
            let population = catalog.metric(depth.population)
        else { throw GenerationError("ocean panel '\(panel.title)' needs its metric and population") }
        let periods = Periods.starts(in: range, grain: report.grain)
        let activity = try await run(
            try queries.activeDays(metric: metric, grain: report.grain, range: range, filters: panel.filters))
        let joined = try await evaluator.evaluate(
            MetricRequest(metric: population.id, grain: report.grain, range: range, filters: panel.filters))
        let before = try await run(try queries.total(metric: population, before: range.start, filters: panel.filters))

        // levels[i][p]: people in level i (1 = lightest) in period p.
        var levels = Array(repeating: Array(repeating: 0.0, count: periods.count), count: depth.levels.count)
        let position = Dictionary(uniqueKeysWithValues: periods.enumerated().map { ($1.description, $0) })
        for row in activity {
            guard row.count == 3, let p = position[Self.plain(row[0])], let days = Self.double(row[1]),
                let people = Self.double(row[2])
            else { continue }
            let level = depth.levels.lastIndex(where: { Double($0) <= days }) ?? 0
            levels[level][p] += people
        }
        var total = before.first.flatMap { $0.first }.flatMap(Self.double) ?? 0
        var dormant: [Double?] = []
        var totals: [Double] = []
        let newcomers = joined.series.first?.values ?? []
        for p in periods.indices {
            total += (p < newcomers.count ? newcomers[p] : nil) ?? 0
            let active = levels.reduce(0) { $0 + $1[p] }
            totals.append(max(total, active))
            dormant.append(max(0, total - active))
        }
        // Deepest engagement at the bottom, dormant on top: the surface is everyone there is.
        var series: [Series] = []
        for (i, name) in depth.names.dropFirst().enumerated().reversed() {
            series.append(
                Series(name: name, points: zip(periods, levels[i].map { Optional($0) }).map(SeriesPoint.init)))
        }
        series.append(Series(name: depth.names[0], points: zip(periods, dormant).map(SeriesPoint.init)))

        let ranges = depth.levels.enumerated().map { i, start -> String in
            let next = i + 1 < depth.levels.count ? depth.levels[i + 1] - 1 : nil
            return next.map { $0 == start ? "\(start)" : "\(start)–\($0)" } ?? "\(start)+"
        }
        var notes = [
            "Active days per \(report.grain.rawValue): "
                + zip(depth.names.dropFirst(), ranges).map { "\($0) \($1)" }.joined(separator: ", ")
                + "; \(depth.names[0].lowercased()): joined but not active. The top edge is everyone who has joined ("
                + NumberFormat.format(totals.last ?? 0, style: .number, compact: false) + " now)."
        ]
        if let last = periods.last, Periods.end(ofPeriodStarting: last, grain: report.grain) > range.end {
            notes.append("The last \(report.grain.rawValue) is not over yet (data ends \(range.end)).")
        }
        let annotations = chartAnnotations(metric: metric)
        let spec = ChartSpec(
            id: "\(report.id.rawValue)-panel-\(index)", title: panel.title,
            description: "Everyone who has joined, per \(report.grain.rawValue) from \(range.start) to \(range.end), "
                + "stacked by how many days they were active: \(metric.description)",
            kind: .stackedArea, style: .number, unit: population.unit, series: series, smoothed: [], comparison: nil,
            band: nil, annotations: annotations)
        var model = emptyModel(
            metricID: metric.id.rawValue, metricName: metric.name, metricURL: Route.metric(metric.id).path)
        let svg = SVGChart.render(spec)
        model.svg = svg
        model.svgFile = "panel-\(index).svg"
        model.notes = notes
        model.table = makeTable(series: series, comparison: nil, style: .number, metric: metric)
        return Built(
            model: model, csv: { [series] in makeCSV(series: series, comparison: nil, dates: periods) },
            rows: activity.count + joined.rowCount + 1)
    }

    func chartAnnotations(metric: Metric) -> [ChartAnnotation] {
        // A dashboard is shared by everyone who may see the report, so only annotations
        // without an `access` restriction are drawn on it.
        catalog.annotations.filter { annotation in
            annotation.access.isEmpty && !Set(annotation.tags).isDisjoint(with: panel.annotationTags)
                && (annotation.metrics.isEmpty || annotation.metrics.contains(metric.id))
                && annotation.date <= range.end && (annotation.end ?? annotation.date) >= range.start
        }.map { ChartAnnotation(date: $0.date, end: $0.end, title: $0.title) }
    }

    // MARK: - Experiment

    /// Per arm: exposures, conversions, rate, lift against control with its 95% interval and
    /// two-sided p-value; a sample-ratio check; the cumulative lift day by day.
    func buildExperiment() async throws -> Built {
        guard let spec = panel.experiment else { throw GenerationError("panel '\(panel.title)' has no experiment") }
        let exposureRows = try await run(try queries.exposures(spec, filters: panel.filters))
        let conversionRows = try await run(try queries.conversions(spec, filters: panel.filters))
        var days = Set<CalendarDay>()
        var exposures: [String: [CalendarDay: Double]] = [:]
        var conversions: [String: [CalendarDay: Double]] = [:]
        for (rows, target) in [(exposureRows, 0), (conversionRows, 1)] {
            for row in rows {
                guard row.count == 3, let day = CalendarDay(parsing: Self.plain(row[1])),
                    let value = Self.double(row[2])
                else { continue }
                let arm = Self.plain(row[0])
                days.insert(day)
                if target == 0 {
                    exposures[arm, default: [:]][day, default: 0] += value
                } else {
                    conversions[arm, default: [:]][day, default: 0] += value
                }
            }
        }
        let metricName = panel.metric.flatMap { catalog.metric($0)?.name } ?? "Experiment"
        var model = emptyModel(
            metricID: panel.metric?.rawValue ?? "", metricName: metricName,
            metricURL: panel.metric.map { Route.metric($0).path })
        let arms = exposures.keys.sorted { ($0 == spec.control ? 0 : 1, $0) < ($1 == spec.control ? 0 : 1, $1) }
        guard !arms.isEmpty else {
            model.notes.append("No exposures recorded for this experiment.")
            return Built(model: model, csv: { "arm,exposures,conversions\n" }, rows: 0)
        }
        let counts = arms.map { arm in
            ArmCounts(
                name: arm, exposures: Int(exposures[arm, default: [:]].values.reduce(0, +)),
                conversions: Int(conversions[arm, default: [:]].values.reduce(0, +)))
        }
        let control = counts.first { $0.name == spec.control }
        let confidence = Self.confidence
        var tableRows: [[String]] = []
        var csv = ["arm,exposures,conversions,rate,lift,lift_lower,lift_upper,p_value"]
        var headlines: [String] = []
        for arm in counts {
            let rate = arm.rate.map { NumberFormat.format($0, style: .percent, compact: false) } ?? "–"
            var lift = "control"
            var pValue = "–"
            var csvStats = ",,,"
            if arm.name != spec.control {
                if let control,
                    let comparison = ExperimentStatistics.compare(
                        control: control, treatment: arm, confidence: confidence)
                {
                    lift =
                        "\(Self.signed(comparison.lift)) (\(Self.signed(comparison.liftLower)) to \(Self.signed(comparison.liftUpper)))"
                    pValue = Self.pText(comparison.pValue)
                    csvStats = "\(comparison.lift),\(comparison.liftLower),\(comparison.liftUpper),\(comparison.pValue)"
                    let verdict =
                        comparison.pValue < 1 - confidence
                        ? (comparison.lift > 0 ? "better than" : "worse than") : "not distinguishable from"
                    headlines.append(
                        "\(arm.name): \(Self.signed(comparison.lift)) vs \(spec.control), p = \(pValue) — \(verdict) control at 95%"
                    )
                } else {
                    lift = control == nil ? "no control arm '\(spec.control)'" : "undefined (no control conversions)"
                }
            }
            tableRows.append([
                arm.name, NumberFormat.format(Double(arm.exposures), style: .number, compact: false),
                NumberFormat.format(Double(arm.conversions), style: .number, compact: false), rate, lift, pValue,
            ])
            csv.append(
                [
                    Self.csvField(arm.name), String(arm.exposures), String(arm.conversions),
                    arm.rate.map { String($0) } ?? "",
                ]
                .joined(separator: ",") + "," + csvStats)
        }
        model.table = DashboardModel.Table(
            columns: ["Arm", "Exposures", "Converted", "Conversion rate", "Lift vs control (95% CI)", "p-value"],
            rows: tableRows)
        model.showTable = true
        model.headline = headlines.count == 1 ? headlines[0] : nil
        if headlines.count > 1 { model.notes += headlines }

        let shares = arms.map { spec.split[$0] ?? (spec.split.isEmpty ? 1 : 0) }
        if let check = ExperimentStatistics.sampleRatio(
            exposures: counts.map(\.exposures), expectedShares: shares.contains(0) ? nil : shares)
        {
            let expected = check.expected.map { NumberFormat.format($0, style: .number, compact: false) }
            let text =
                "Sample ratio check: χ² = \(String(format: "%.2f", check.chiSquare)) on \(check.degreesOfFreedom) df, p = \(Self.pText(check.pValue)) (expected \(expected.joined(separator: " / ")))."
            if check.mismatch() {
                model.alert =
                    "Sample ratio mismatch: the arms' sizes differ from the planned split far more than chance allows (p = \(Self.pText(check.pValue)) < 0.001). Assignment or logging is likely broken; do not trust the lift until it is explained."
            }
            model.notes.append(text)
        }
        model.notes.append(
            "Converted: exposed units with a conversion after their first assignment. Lift is relative to control; "
                + "its interval is the 95% log relative-risk (Katz) interval, the p-value a two-sided pooled z-test.")

        // Cumulative lift per treatment arm, day by day.
        let sortedDays = days.sorted()
        var series: [Series] = []
        var band: Band?
        if let control, !sortedDays.isEmpty {
            let treatments = counts.filter { $0.name != spec.control }
            for treatment in treatments {
                var exposed = [0, 0]
                var converted = [0, 0]
                var points: [SeriesPoint] = []
                var lower: [Double?] = []
                var upper: [Double?] = []
                for day in sortedDays {
                    exposed[0] += Int(exposures[control.name]?[day] ?? 0)
                    exposed[1] += Int(exposures[treatment.name]?[day] ?? 0)
                    converted[0] += Int(conversions[control.name]?[day] ?? 0)
                    converted[1] += Int(conversions[treatment.name]?[day] ?? 0)
                    let comparison = ExperimentStatistics.compare(
                        control: ArmCounts(name: control.name, exposures: exposed[0], conversions: converted[0]),
                        treatment: ArmCounts(name: treatment.name, exposures: exposed[1], conversions: converted[1]),
                        confidence: confidence)
                    points.append(SeriesPoint(date: day, value: comparison?.lift))
                    lower.append(comparison?.liftLower)
                    upper.append(comparison?.liftUpper)
                }
                series.append(Series(name: "\(treatment.name) vs \(control.name)", points: points))
                if treatments.count == 1 { band = Band(lower: lower, upper: upper, label: "95% interval of the lift") }
            }
        }
        if !series.isEmpty {
            let chart = ChartSpec(
                id: "\(report.id.rawValue)-panel-\(index)", title: panel.title,
                description:
                    "Cumulative relative lift against \(spec.control), by day from \(sortedDays.first!) to \(sortedDays.last!), with its 95% interval.",
                kind: .line, style: .percent, unit: "lift", series: series, smoothed: [], comparison: nil, band: band,
                annotations: [])
            model.svg = SVGChart.render(chart)
            model.svgFile = "panel-\(index).svg"
            model.notes.append("Chart: cumulative lift by day; it settles as exposures accumulate.")
        }
        let lines = csv
        return Built(
            model: model, csv: { lines.joined(separator: "\n") + "\n" },
            rows: exposureRows.count + conversionRows.count)
    }

    static func signed(_ value: Double) -> String {
        (value >= 0 ? "+" : "") + NumberFormat.format(value, style: .percent, compact: false)
    }

    static func pText(_ p: Double) -> String {
        p < 0.0001 ? "< 0.0001" : String(format: p < 0.01 ? "%.4f" : "%.3f", p)
    }
}
