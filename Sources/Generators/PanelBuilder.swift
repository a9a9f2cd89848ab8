import AlmanacCore
import Catalog
import Charts
import Foundation
import Rendering
import Warehouse

/// One panel: its metric evaluated, analysed and drawn.
struct PanelBuilder {
    let catalog: Catalog
    let evaluator: MetricEvaluator
    let report: Report
    let panel: Panel
    let index: Int
    let range: DateRange

    struct Built {
        var model: DashboardModel.Panel
        /// The panel's data as CSV, made only when the dashboard is kept (a render shown on
        /// demand offers no downloads, so it never pays for them).
        var csv: (@Sendable () -> String)?
        var rows: Int
    }

    /// 95% intervals throughout; documented in docs/charts.md.
    static let confidence = 0.95

    /// The built panel or why it failed, with the panel's 0-based position in its report.
    func result() async -> (Int, Result<Built, any Error>) {
        do { return (index - 1, .success(try await build())) } catch { return (index - 1, .failure(error)) }
    }

    func build() async throws -> Built {
        switch panel.chart {
        case .facts, .records: return try await buildRecords()
        case .ocean: return try await buildOcean()
        case .experiment: return try await buildExperiment()
        case .line, .area, .stackedArea, .bar, .number, .table: break
        }
        guard let metricID = panel.metric, let metric = catalog.metric(metricID) else {
            throw GenerationError("unknown metric '\(panel.metric?.rawValue ?? "none")'")
        }
        let request = MetricRequest(
            metric: metric.id, grain: report.grain, range: range, breakdown: panel.breakdown, filters: panel.filters)
        let result = try await evaluator.evaluate(request)
        var rows = result.rowCount
        let style = Self.style(metric.format)
        let dates = result.periods
        var notes: [String] = []
        if result.omittedSeries > 0 {
            notes.append("\(result.omittedSeries) smaller \(panel.breakdown?.rawValue ?? "breakdown") values not shown")
        }

        var series = result.series.map {
            Series(name: $0.name ?? metric.name, points: zip(dates, $0.values).map(SeriesPoint.init))
        }

        // Comparison only for a single series: a dashed line per breakdown value is unreadable.
        // The last period may not be over yet (a Tuesday in a weekly report): it is marked, and
        // compared only with the same days of its counterparts.
        let unfinished = range.unfinishedPeriod(grain: report.grain)
        let partialText = unfinished.map { "\($0.elapsed) of \($0.length) days" }

        var comparison: Series?
        if panel.compare != .none, panel.breakdown == nil {
            // Whole periods against whole periods (docs/dashboards.md): the previous range is a
            // whole number of weeks or months back, so the n-th period of each meet.
            let previousRange =
                panel.compare == .previousYear
                ? range.previousYear(grain: report.grain) : range.previous(grain: report.grain)
            var previousRequest = request
            previousRequest.range = previousRange
            let previous = try await evaluator.evaluate(previousRequest)
            rows += previous.rowCount
            let values = previous.series.first?.values ?? []
            comparison = Series(
                name: panel.compare == .previousYear ? "Previous year" : "Previous period",
                points: dates.enumerated().map { i, date in
                    SeriesPoint(date: date, value: i < values.count ? values[i] : nil)
                })
        }

        var smoothed: [Series] = []
        if let smoothing = panel.smoothing {
            smoothed = series.map { series in
                let values = Analysis.movingAverage(
                    series.values, window: smoothing.window, centered: smoothing.method == .centered)
                return Series(name: series.name, points: zip(dates, values).map(SeriesPoint.init))
            }
        }

        // Stacks and bars are drawn from the smoothed values themselves: a smoothed line laid
        // over a stack would not line up with the layers it is meant to summarise.
        if !smoothed.isEmpty, panel.chart == .stackedArea || panel.chart == .bar, series.count > 1 {
            series = smoothed
            smoothed = []
            notes.append(
                "Each layer is a \(panel.smoothing!.window)-point \(panel.smoothing!.method.rawValue) average.")
        }

        var band: Band?
        if series.count == 1, let first = result.series.first {
            band = makeBand(raw: first, smoothed: smoothed.first?.values)
            if band != nil, panel.bands != .none {
                notes.append(
                    "Shaded: \(Formatter.bandText(panel.bands))\(panel.smoothing.map { " of the \($0.window)-point \($0.method.rawValue) average" } ?? "")."
                )
            }
        }

        var annotations = chartAnnotations(metric: metric)
        if let unfinished, let partialText {
            annotations.append(ChartAnnotation(date: unfinished.start, end: range.end, title: "so far: \(partialText)"))
        }

        let table = makeTable(series: series, comparison: comparison, style: style, metric: metric)
        var svg: String?
        var headline: String?
        var headlineChange: String?
        switch panel.chart {
        case .number:
            let values = series.first?.values ?? []
            if let last = values.last ?? nil {
                headline = NumberFormat.format(last, style: style, compact: false)
                var before = values.count >= 2 ? values[values.count - 2] : nil
                var against = "the \(report.grain.rawValue) before"
                if let unfinished {
                    // Two days of a week against the same two days of the week before, never all seven.
                    let start = Periods.start(of: unfinished.start.adding(days: -1), grain: report.grain)
                    let end = min(
                        start.adding(days: unfinished.elapsed - 1),
                        Periods.end(ofPeriodStarting: start, grain: report.grain))
                    var sameDays = request
                    sameDays.range = DateRange(start: start, end: end)
                    let earlier = try await evaluator.evaluate(sameDays)
                    rows += earlier.rowCount
                    before = earlier.series.first?.values.first ?? nil
                    against = "the same \(unfinished.elapsed) days of the \(report.grain.rawValue) before"
                }
                if let before, before != 0 {
                    let change = (last - before) / abs(before)
                    headlineChange =
                        "\(change >= 0 ? "+" : "")\(NumberFormat.format(change, style: .percent, compact: false)) on \(against)"
                }
            }
        case .table, .ocean, .facts, .records, .experiment:
            break
        case .line, .area, .stackedArea, .bar:
            let kind: Charts.ChartKind =
                switch panel.chart {
                case .area: .area
                case .stackedArea: .stackedArea
                case .bar: .bar
                default: .line
                }
            let spec = ChartSpec(
                id: "\(report.id.rawValue)-panel-\(index)", title: panel.title,
                description: "\(metric.name) by \(report.grain.rawValue) from \(range.start) to \(range.end)"
                    + (panel.breakdown.map { ", broken down by \($0.rawValue)" } ?? "") + ". " + metric.description,
                kind: kind, style: style, unit: metric.unit, series: series, smoothed: smoothed, comparison: comparison,
                band: band, annotations: annotations)
            svg = SVGChart.render(spec)
        }
        let model = DashboardModel.Panel(
            index: index, title: panel.title, description: panel.description, chart: panel.chart.rawValue,
            metricID: metric.id.rawValue, metricName: metric.name, metricURL: Route.metric(metric.id).path, svg: svg,
            svgFile: svg == nil ? nil : "panel-\(index).svg", csvFile: "panel-\(index).csv", table: table,
            showTable: panel.chart == .table, headline: headline, headlineChange: headlineChange,
            notes: notes + (partialText.map { ["The last \(report.grain.rawValue) is not over: \($0) so far."] } ?? []),
            error: nil, partial: partialText)
        return Built(
            model: model,
            csv: { [series, comparison] in makeCSV(series: series, comparison: comparison, dates: dates) }, rows: rows)
    }

    /// The significance band the panel asks for, around the smoothed line when there is one.
    func makeBand(raw: MetricResult.Series, smoothed: [Double?]?) -> Band? {
        let window = panel.smoothing?.window ?? 1
        switch panel.bands {
        case .none:
            return nil
        case .poisson:
            let base = smoothed ?? raw.values
            let edges = Analysis.poissonBand(
                averages: base, window: smoothed == nil ? 1 : window, confidence: Self.confidence)
            return Band(lower: edges.lower, upper: edges.upper, label: "95% Poisson interval")
        case .wilson:
            guard let numerators = raw.numerators, let denominators = raw.denominators else { return nil }
            // Pool the window's successes and trials, so the band matches the smoothed ratio.
            let pooledSuccesses =
                smoothed == nil
                ? numerators
                : Analysis.movingAverage(numerators, window: window, centered: panel.smoothing?.method == .centered)
            let pooledTrials =
                smoothed == nil
                ? denominators
                : Analysis.movingAverage(denominators, window: window, centered: panel.smoothing?.method == .centered)
            var lower: [Double?] = []
            var upper: [Double?] = []
            let scale = Double(smoothed == nil ? 1 : window)
            for (successes, trials) in zip(pooledSuccesses, pooledTrials) {
                guard let successes, let trials, trials > 0 else {
                    lower.append(nil)
                    upper.append(nil)
                    continue
                }
                let interval = Analysis.wilsonInterval(
                    successes: successes * scale, trials: trials * scale, confidence: Self.confidence)
                lower.append(interval.lower)
                upper.append(interval.upper)
            }
            return Band(lower: lower, upper: upper, label: "95% Wilson interval")
        case .residual:
            let base = smoothed ?? Analysis.movingAverage(raw.values, window: 7, centered: false)
            let edges = Analysis.residualBand(values: raw.values, smoothed: base, window: 28, k: 2)
            return Band(lower: edges.lower, upper: edges.upper, label: "±2σ of recent residuals")
        }
    }

    func makeTable(series: [Series], comparison: Series?, style: ValueStyle, metric: Metric) -> DashboardModel.Table {
        let columns =
            [report.grain == .day ? "Day" : report.grain == .week ? "Week of" : "Month"]
            + series.map(\.name) + (comparison.map { [$0.name] } ?? [])
        let dates = series.first?.points.map(\.date) ?? []
        var rows: [[String]] = []
        let unfinished = range.unfinishedPeriod(grain: report.grain)
        for (i, date) in dates.enumerated().reversed() {
            var row = [
                date.description
                    + (unfinished?.start == date ? " (\(unfinished!.elapsed) of \(unfinished!.length) days)" : "")
            ]
            for s in series + (comparison.map { [$0] } ?? []) {
                row.append(s.points[i].value.map { NumberFormat.format($0, style: style, compact: false) } ?? "–")
            }
            rows.append(row)
        }
        return DashboardModel.Table(columns: columns, rows: rows)
    }

    func makeCSV(series: [Series], comparison: Series?, dates: [CalendarDay]) -> String {
        let all = series + (comparison.map { [$0] } ?? [])
        var lines = [(["period"] + all.map(\.name)).map(Self.csvField).joined(separator: ",")]
        for (i, date) in dates.enumerated() {
            let values = all.map { $0.points[i].value.map { Self.number($0) } ?? "" }
            lines.append(([date.description] + values).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    static func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func style(_ format: ValueFormat) -> ValueStyle {
        switch format {
        case .number: .number
        case .percent: .percent
        case .currency: .currency
        case .duration: .duration
        }
    }
}
