import AlmanacCore

/// Server-side SVG charts: complete, accessible `<svg>` elements that need no script.
///
/// The output is deterministic (the same spec gives the same string) and uses presentation
/// attributes only, never `style` attributes, so it passes a `style-src 'self'` policy. Page
/// CSS may restyle it through classes: `series series-N`, `smoothed`, `comparison`, `band`,
/// `bar`, `annotation`, `grid`, `axis`, `legend`. `Web/static/charts.js`, when loaded, adds
/// tooltips from the `data-points` attribute of `g.hover`.
public enum SVGChart {
    /// The series colors in order (Tableau 10: distinct for common color-vision deficiencies and legible on white).
    public static let palette = [
        "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    ]

    /// The complete `<svg>` element for `spec`.
    ///
    /// Layout, top to bottom: a legend row (when there are several series, a comparison or a
    /// band) with the unit at its right, a strip of annotation labels (up to three staggered
    /// rows; a label that fits in none is left out and its full title stays in the group's
    /// `<title>`), the plot, and the date axis. The y axis includes 0 except for a line whose
    /// values vary by less than a quarter of their size, which is scaled to its data so its
    /// movement shows. A chart with no values at all reads "No data for this period".
    public static func render(_ spec: ChartSpec) -> String {
        ChartRenderer(spec: spec).render()
    }

    static func color(_ index: Int) -> String { palette[index % palette.count] }
}

// MARK: - Renderer

private struct ChartRenderer {
    let spec: ChartSpec
    let elementID: String
    let width: Double
    let height: Double

    /// Every date of any series, ascending; the x axis runs from the first to the last.
    let days: [Int]
    /// Each series' values, aligned to `days`.
    let raw: [[Double?]]
    /// Smoothed lines aligned to `days`, with the index of the raw series they belong to.
    let smoothed: [(series: Int, name: String, values: [Double?])]
    let comparison: [Double?]?
    let bandLower: [Double?]?
    let bandUpper: [Double?]?
    /// For stacked kinds, each series' layer as (bottom, top) per day.
    let stacks: [[(Double, Double)?]]

    // Typography and colors.
    static let axisColor = "#6b7280"
    static let textColor = "#374151"
    static let gridColor = "#e5e7eb"
    static let baselineColor = "#9ca3af"
    static let comparisonColor = "#8c96a3"
    static let annotationColor = "#6b7280"
    /// Average glyph width of system-ui at 11px for digits and lowercase; used to keep labels apart.
    static let charWidth = 6.3

    init(spec: ChartSpec) {
        self.spec = spec
        elementID = String(
            spec.id.unicodeScalars.map { scalar in
                ("0"..."9").contains(scalar) || ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                    || "-_.:".unicodeScalars.contains(scalar) ? Character(scalar) : "_"
            })
        width = Double(max(spec.width, 160))
        height = Double(max(spec.height, 100))

        var daySet = Set<Int>()
        for series in spec.series + spec.smoothed {
            for point in series.points { daySet.insert(point.date.dayNumber) }
        }
        let days = daySet.sorted()
        self.days = days
        var index: [Int: Int] = [:]
        for (position, day) in days.enumerated() { index[day] = position }

        func aligned(_ points: [SeriesPoint]) -> [Double?] {
            var values = [Double?](repeating: nil, count: days.count)
            for point in points {
                if let position = index[point.date.dayNumber], let value = point.value, value.isFinite {
                    values[position] = value
                }
            }
            return values
        }
        // Comparison and band are aligned by index with the first series, not by date.
        let anchorDays = spec.series.first?.points.map(\.date.dayNumber) ?? []
        func alignedToFirst(_ values: [Double?]) -> [Double?] {
            var result = [Double?](repeating: nil, count: days.count)
            for (offset, value) in values.prefix(anchorDays.count).enumerated() {
                if let position = index[anchorDays[offset]], let value, value.isFinite { result[position] = value }
            }
            return result
        }

        raw = spec.series.map { aligned($0.points) }
        smoothed = spec.smoothed.enumerated().map { offset, line in
            let owner = spec.series.firstIndex { $0.name == line.name } ?? min(offset, max(0, spec.series.count - 1))
            return (owner, line.name, aligned(line.points))
        }
        comparison = spec.comparison.map { alignedToFirst($0.values) }
        bandLower = spec.band.map { alignedToFirst($0.lower) }
        bandUpper = spec.band.map { alignedToFirst($0.upper) }
        stacks = Self.stack(raw, kind: spec.kind, count: days.count)
    }

    /// Layers for stacked kinds. A stacked area treats a missing value as 0 unless every series
    /// is missing that day (a gap); bars stack positive values up and negative values down.
    private static func stack(_ raw: [[Double?]], kind: ChartKind, count: Int) -> [[(Double, Double)?]] {
        guard kind == .stackedArea || kind == .bar else { return [] }
        var layers = raw.map { _ in [(Double, Double)?](repeating: nil, count: count) }
        for day in 0..<count {
            if kind == .stackedArea {
                guard raw.contains(where: { $0[day] != nil }) else { continue }
                var base = 0.0
                for series in raw.indices {
                    let top = base + (raw[series][day] ?? 0)
                    layers[series][day] = (base, top)
                    base = top
                }
            } else {
                var positive = 0.0
                var negative = 0.0
                for series in raw.indices {
                    guard let value = raw[series][day] else { continue }
                    if value >= 0 {
                        layers[series][day] = (positive, positive + value)
                        positive += value
                    } else {
                        layers[series][day] = (negative + value, negative)
                        negative += value
                    }
                }
            }
        }
        return layers
    }

    var hasData: Bool {
        raw.contains { $0.contains { $0 != nil } } || smoothed.contains { $0.values.contains { $0 != nil } }
    }

    func render() -> String {
        var svg = SVGWriter()
        svg.open(
            "svg",
            [
                ("xmlns", "http://www.w3.org/2000/svg"), ("viewBox", "0 0 \(Int(width)) \(Int(height))"),
                ("role", "img"), ("aria-labelledby", "\(elementID)-title \(elementID)-desc"),
                ("class", "chart chart-\(spec.kind.rawValue)"), ("font-family", "system-ui, sans-serif"),
                ("font-size", "11"),
            ])
        svg.element("title", [("id", "\(elementID)-title")], text: spec.title)
        svg.element("desc", [("id", "\(elementID)-desc")], text: accessibleDescription())
        if hasData {
            var layout = Layout(renderer: self)
            layout.draw(into: &svg)
        } else {
            svg.element(
                "rect",
                [
                    ("class", "plot-area"), ("x", "0.5"), ("y", "0.5"), ("width", SVGWriter.number(width - 1)),
                    ("height", SVGWriter.number(height - 1)), ("rx", "4"), ("fill", "none"),
                    ("stroke", Self.gridColor),
                ])
            svg.element(
                "text",
                [
                    ("class", "empty"), ("x", SVGWriter.number(width / 2)), ("y", SVGWriter.number(height / 2 + 4)),
                    ("text-anchor", "middle"), ("font-size", "13"), ("fill", Self.axisColor),
                ], text: "No data for this period")
        }
        svg.close("svg")
        return svg.output
    }

    /// The spec's description, or a one-sentence summary when it has none.
    private func accessibleDescription() -> String {
        if !spec.description.isEmpty { return spec.description }
        guard hasData, let first = days.first, let last = days.last else { return "No data for this period." }
        let kind =
            switch spec.kind {
            case .line: "Line chart"
            case .area: "Area chart"
            case .stackedArea: "Stacked area chart"
            case .bar: "Bar chart"
            }
        let names = spec.series.map(\.name).joined(separator: ", ")
        var text =
            "\(kind) of \(names) from \(CalendarDay(dayNumber: first)) to \(CalendarDay(dayNumber: last))."
        if let values = raw.first, let latest = values.indices.last(where: { values[$0] != nil }),
            let value = values[latest]
        {
            let formatted = NumberFormat.format(value, style: spec.style, compact: false)
            text += " Latest \(spec.series[0].name): \(formatted) on \(CalendarDay(dayNumber: days[latest]))."
        }
        return text
    }
}

// MARK: - Layout and drawing

/// Scales and positions for one chart with data; computed once, then drawn.
private struct Layout {
    let renderer: ChartRenderer
    var spec: ChartSpec { renderer.spec }
    let firstDay: Int
    let lastDay: Int
    let ticks: [Double]
    let tickLabels: [String]
    let plotLeft: Double
    let plotRight: Double
    let plotTop: Double
    let plotBottom: Double
    let legendItems: [LegendItem]
    let legendRows: Int
    let annotations: [PlacedAnnotation]
    let stripTop: Double

    static let legendRowHeight = 18.0
    static let stripRowHeight = 14.0
    static let maximumStripRows = 3

    struct LegendItem {
        enum Swatch { case line, block, dashed, band }
        let swatch: Swatch
        let color: String
        let label: String
        var x = 0.0
        var row = 0
        var width: Double { 18 + Double(label.count) * 6.6 }
    }

    struct PlacedAnnotation {
        let annotation: ChartAnnotation
        /// Start and end x of the mark, clamped to the plot; equal for a single day.
        let startX: Double
        let endX: Double
        /// Whether the start day is inside the range (a period may begin before it).
        let startVisible: Bool
        let label: String
        let row: Int?
        let anchorEnd: Bool
    }

    init(renderer: ChartRenderer) {
        self.renderer = renderer
        let spec = renderer.spec
        firstDay = renderer.days.first ?? 0
        lastDay = renderer.days.last ?? 0

        // Legend first: it only depends on the width.
        var items: [LegendItem] = []
        if spec.series.count > 1 || spec.comparison != nil || spec.band != nil {
            let block = spec.kind != .line
            for (index, series) in spec.series.enumerated() {
                items.append(
                    LegendItem(swatch: block ? .block : .line, color: SVGChart.color(index), label: series.name))
            }
            if let comparison = spec.comparison {
                items.append(LegendItem(swatch: .dashed, color: ChartRenderer.comparisonColor, label: comparison.name))
            }
            if let band = spec.band {
                items.append(LegendItem(swatch: .band, color: SVGChart.color(0), label: band.label))
            }
        }
        let unitWidth = spec.unit.map { Double($0.count) * ChartRenderer.charWidth + 16 } ?? 0
        var cursor = 4.0
        var row = 0
        for index in items.indices {
            if cursor > 4 && cursor + items[index].width > renderer.width - unitWidth {
                row += 1
                cursor = 4
            }
            items[index].x = cursor
            items[index].row = row
            cursor += items[index].width + 14
        }
        legendItems = items
        legendRows = items.isEmpty ? (spec.unit == nil ? 0 : 1) : row + 1
        let legendBottom = 4 + Double(legendRows) * Self.legendRowHeight
        stripTop = legendBottom

        // Y ticks from the value extent; the count assumes one annotation row if any are in range.
        let inRange = spec.annotations.filter { annotation in
            annotation.date.dayNumber <= renderer.days.last ?? 0
                && (annotation.end ?? annotation.date).dayNumber >= renderer.days.first ?? 0
        }
        let estimatedPlotHeight = renderer.height - legendBottom - (inRange.isEmpty ? 0 : Self.stripRowHeight) - 34
        let tickCount = min(7, max(3, Int(estimatedPlotHeight / 50) + 1))
        let (low, high) = Self.valueExtent(renderer)
        ticks =
            spec.style == .duration
            ? AxisTicks.niceDurations(min: low, max: high, count: tickCount)
            : AxisTicks.nice(min: low, max: high, count: tickCount)
        tickLabels = NumberFormat.tickLabels(ticks, style: spec.style)
        let labelWidth = tickLabels.map { Double($0.count) * ChartRenderer.charWidth }.max() ?? 0
        plotLeft = max(28, (labelWidth + 14).rounded())
        plotRight = renderer.width - 14

        // Annotations: x positions are known now, which decides how many label rows are needed.
        var placed: [PlacedAnnotation] = []
        var occupied = [[(Double, Double)]](repeating: [], count: Self.maximumStripRows)
        let ordered = inRange.enumerated().sorted { lhs, rhs in
            (lhs.element.date, lhs.offset) < (rhs.element.date, rhs.offset)
        }.map(\.element)
        let scale = XScale(
            firstDay: firstDay, lastDay: lastDay, left: plotLeft, right: plotRight, slotted: spec.kind == .bar)
        for annotation in ordered {
            let startVisible = annotation.date.dayNumber >= firstDay
            let start = max(annotation.date.dayNumber, firstDay)
            let end = min((annotation.end ?? annotation.date).dayNumber, lastDay)
            let startX = scale.x(start)
            let endX = max(startX, scale.x(end))
            let label = Self.shortened(annotation.title, to: 26)
            let labelWidth = Double(label.count) * 5.9
            var span = (startX - 1, startX + 4 + labelWidth)
            var anchorEnd = false
            if span.1 > renderer.width - 2 {
                span = (startX - 4 - labelWidth, startX + 1)
                anchorEnd = true
            }
            var row: Int?
            for candidate in 0..<Self.maximumStripRows {
                let free = !occupied[candidate].contains { $0.0 < span.1 + 6 && span.0 - 6 < $0.1 }
                // The mark runs down through the rows below its label; they must be clear at its x.
                let lineClear = occupied[(candidate + 1)...].allSatisfy { row in
                    !row.contains { $0.0 <= startX + 2 && startX - 2 <= $0.1 }
                }
                if free && lineClear {
                    row = candidate
                    break
                }
            }
            if let row {
                occupied[row].append(span)
                for below in (row + 1)..<Self.maximumStripRows { occupied[below].append((startX - 2, startX + 2)) }
            }
            placed.append(
                PlacedAnnotation(
                    annotation: annotation, startX: startX, endX: endX, startVisible: startVisible, label: label,
                    row: row, anchorEnd: anchorEnd))
        }
        annotations = placed
        let stripRows = (placed.compactMap(\.row).max() ?? -1) + 1
        plotTop = legendBottom + Double(stripRows) * Self.stripRowHeight + (stripRows > 0 ? 6 : 8)
        plotBottom = renderer.height - 26
    }

    /// The range the y axis must cover: everything drawn, and 0 where a baseline is expected.
    private static func valueExtent(_ renderer: ChartRenderer) -> (Double, Double) {
        var values: [Double] = []
        if renderer.stacks.isEmpty {
            for series in renderer.raw { values += series.compactMap { $0 } }
        } else {
            for layer in renderer.stacks {
                for bounds in layer { if let bounds { values += [bounds.0, bounds.1] } }
            }
        }
        for line in renderer.smoothed { values += line.values.compactMap { $0 } }
        values += renderer.comparison?.compactMap { $0 } ?? []
        values += renderer.bandLower?.compactMap { $0 } ?? []
        values += renderer.bandUpper?.compactMap { $0 } ?? []
        guard var low = values.min(), var high = values.max() else { return (0, 1) }
        let narrow = (high - low) < 0.25 * max(abs(low), abs(high))
        let crossesZero = low <= 0 && high >= 0
        if !crossesZero && !(renderer.spec.kind == .line && narrow) {
            low = min(low, 0)
            high = max(high, 0)
        }
        return (low, high)
    }

    static func shortened(_ text: String, to length: Int) -> String {
        text.count <= length ? text : String(text.prefix(length - 1)).trimmingTrailingSpaces() + "…"
    }

    var xScale: XScale {
        XScale(firstDay: firstDay, lastDay: lastDay, left: plotLeft, right: plotRight, slotted: spec.kind == .bar)
    }

    func y(_ value: Double) -> Double {
        guard let low = ticks.first, let high = ticks.last, high > low else { return plotBottom }
        return plotBottom - (value - low) / (high - low) * (plotBottom - plotTop)
    }

    func x(index: Int) -> Double { xScale.x(renderer.days[index]) }

    // MARK: Drawing

    mutating func draw(into svg: inout SVGWriter) {
        drawLegend(into: &svg)
        drawGrid(into: &svg)
        drawDateAxis(into: &svg)
        svg.element(
            "rect",
            [
                ("class", "plot-area"), ("x", SVGWriter.number(plotLeft)), ("y", SVGWriter.number(plotTop)),
                ("width", SVGWriter.number(plotRight - plotLeft)), ("height", SVGWriter.number(plotBottom - plotTop)),
                ("fill", "none"), ("data-y-min", "\(ticks.first ?? 0)"), ("data-y-max", "\(ticks.last ?? 1)"),
            ])
        drawAnnotations(into: &svg)
        drawBand(into: &svg)
        drawComparison(into: &svg)
        drawSeries(into: &svg)
        drawSmoothed(into: &svg)
        drawHoverData(into: &svg)
    }

    private func drawLegend(into svg: inout SVGWriter) {
        if let unit = spec.unit {
            svg.element(
                "text",
                [
                    ("class", "unit"), ("x", SVGWriter.number(renderer.width - 4)), ("y", "16"),
                    ("text-anchor", "end"), ("fill", ChartRenderer.axisColor),
                ], text: unit)
        }
        guard !legendItems.isEmpty else { return }
        svg.open("g", [("class", "legend"), ("font-size", "11.5"), ("fill", ChartRenderer.textColor)])
        for item in legendItems {
            let middle = 12 + Double(item.row) * Self.legendRowHeight
            svg.open("g", [("class", "legend-item")])
            switch item.swatch {
            case .line:
                svg.element(
                    "rect",
                    [
                        ("x", SVGWriter.number(item.x)), ("y", SVGWriter.number(middle - 1.5)), ("width", "12"),
                        ("height", "3"), ("rx", "1.5"), ("fill", item.color),
                    ])
            case .block, .band:
                svg.element(
                    "rect",
                    [
                        ("x", SVGWriter.number(item.x)), ("y", SVGWriter.number(middle - 5)), ("width", "12"),
                        ("height", "10"), ("rx", "2"), ("fill", item.color),
                        ("fill-opacity", item.swatch == .band ? "0.25" : "0.85"),
                    ])
            case .dashed:
                svg.element(
                    "line",
                    [
                        ("x1", SVGWriter.number(item.x)), ("y1", SVGWriter.number(middle)),
                        ("x2", SVGWriter.number(item.x + 12)), ("y2", SVGWriter.number(middle)),
                        ("stroke", item.color), ("stroke-width", "2"), ("stroke-dasharray", "3 2"),
                    ])
            }
            svg.element(
                "text", [("x", SVGWriter.number(item.x + 17)), ("y", SVGWriter.number(middle + 4))], text: item.label)
            svg.close("g")
        }
        svg.close("g")
    }

    private func drawGrid(into svg: inout SVGWriter) {
        svg.open("g", [("class", "grid"), ("stroke", ChartRenderer.gridColor), ("shape-rendering", "crispEdges")])
        for tick in ticks where tick != 0 || ticks.first != 0 {
            let position = SVGWriter.number(y(tick))
            svg.element(
                "line",
                [
                    ("x1", SVGWriter.number(plotLeft)), ("y1", position), ("x2", SVGWriter.number(plotRight)),
                    ("y2", position),
                ])
        }
        svg.close("g")
        svg.open("g", [("class", "axis axis-y"), ("fill", ChartRenderer.axisColor), ("text-anchor", "end")])
        for (tick, label) in zip(ticks, tickLabels) {
            svg.element(
                "text", [("x", SVGWriter.number(plotLeft - 8)), ("y", SVGWriter.number(y(tick) + 3.5))], text: label)
        }
        svg.close("g")
    }

    private func drawDateAxis(into svg: inout SVGWriter) {
        let scale = xScale
        let dateTicks = AxisTicks.dates(
            from: CalendarDay(dayNumber: firstDay), through: CalendarDay(dayNumber: lastDay),
            maxCount: max(1, Int((plotRight - plotLeft) / 78)))
        svg.open("g", [("class", "axis axis-x"), ("fill", ChartRenderer.axisColor)])
        // The baseline sits at 0 when the axis includes it, else at the bottom.
        let baseline = SVGWriter.number(y(ticks.contains(0) ? 0 : ticks.first ?? 0))
        svg.element(
            "line",
            [
                ("x1", SVGWriter.number(plotLeft)), ("y1", baseline), ("x2", SVGWriter.number(plotRight)),
                ("y2", baseline), ("stroke", ChartRenderer.baselineColor), ("shape-rendering", "crispEdges"),
            ])
        for tick in dateTicks {
            let x = scale.x(tick.date.dayNumber)
            svg.element(
                "line",
                [
                    ("x1", SVGWriter.number(x)), ("y1", SVGWriter.number(plotBottom)), ("x2", SVGWriter.number(x)),
                    ("y2", SVGWriter.number(plotBottom + 4)), ("stroke", ChartRenderer.baselineColor),
                ])
            // Labels centre on their tick, but never spill past the chart's edges.
            let half = Double(tick.label.count) * ChartRenderer.charWidth / 2
            var attributes = [("x", SVGWriter.number(x)), ("y", SVGWriter.number(plotBottom + 17))]
            if x - half < 2 {
                attributes = [("x", "2"), ("y", SVGWriter.number(plotBottom + 17)), ("text-anchor", "start")]
            } else if x + half > renderer.width - 2 {
                attributes = [
                    ("x", SVGWriter.number(renderer.width - 2)), ("y", SVGWriter.number(plotBottom + 17)),
                    ("text-anchor", "end"),
                ]
            } else {
                attributes.append(("text-anchor", "middle"))
            }
            svg.element("text", [("data-date", tick.date.description)] + attributes, text: tick.label)
        }
        svg.close("g")
    }

    private func drawAnnotations(into svg: inout SVGWriter) {
        guard !annotations.isEmpty else { return }
        svg.open("g", [("class", "annotations"), ("font-size", "10.5")])
        for placed in annotations {
            let annotation = placed.annotation
            var attributes = [("class", "annotation"), ("data-date", annotation.date.description)]
            if let end = annotation.end { attributes.append(("data-end", end.description)) }
            svg.open("g", attributes)
            let full =
                annotation.title + (annotation.end.map { " (\(annotation.date) – \($0))" } ?? " (\(annotation.date))")
            svg.element("title", [], text: full)
            if annotation.end != nil {
                // A period shades its days; on bars the shade covers whole slots.
                let half = spec.kind == .bar ? xScale.slotWidth / 2 : 0
                let left = max(plotLeft, placed.startX - half)
                let right = min(plotRight, placed.endX + half)
                svg.element(
                    "rect",
                    [
                        ("x", SVGWriter.number(left)), ("y", SVGWriter.number(plotTop)),
                        ("width", SVGWriter.number(max(1, right - left))),
                        ("height", SVGWriter.number(plotBottom - plotTop)), ("fill", ChartRenderer.annotationColor),
                        ("fill-opacity", "0.08"),
                    ])
            }
            let top = placed.row.map { stripTop + Double($0) * Self.stripRowHeight + 2 } ?? plotTop
            if placed.startVisible {
                svg.element(
                    "line",
                    [
                        ("x1", SVGWriter.number(placed.startX)), ("y1", SVGWriter.number(top)),
                        ("x2", SVGWriter.number(placed.startX)), ("y2", SVGWriter.number(plotBottom)),
                        ("stroke", ChartRenderer.annotationColor), ("stroke-width", "1"), ("stroke-dasharray", "3 3"),
                    ])
            }
            if let row = placed.row {
                let baseline = stripTop + Double(row) * Self.stripRowHeight + 11
                svg.element(
                    "text",
                    [
                        ("x", SVGWriter.number(placed.anchorEnd ? placed.startX - 4 : placed.startX + 4)),
                        ("y", SVGWriter.number(baseline)), ("text-anchor", placed.anchorEnd ? "end" : "start"),
                        ("fill", ChartRenderer.textColor),
                    ], text: placed.label)
            }
            svg.close("g")
        }
        svg.close("g")
    }

    /// Runs of consecutive indices where `value` is present; a `nil` ends a run.
    private func runs(_ count: Int, _ value: (Int) -> Bool) -> [[Int]] {
        var result: [[Int]] = []
        var current: [Int] = []
        for index in 0..<count {
            if value(index) {
                current.append(index)
            } else if !current.isEmpty {
                result.append(current)
                current = []
            }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    private func linePath(_ values: [Double?]) -> String {
        var path = PathBuilder()
        for run in runs(values.count, { values[$0] != nil }) {
            path.line(run.map { (x(index: $0), y(values[$0]!)) })
        }
        return path.d
    }

    private func drawBand(into svg: inout SVGWriter) {
        guard let lower = renderer.bandLower, let upper = renderer.bandUpper else { return }
        var path = PathBuilder()
        for run in runs(lower.count, { lower[$0] != nil && upper[$0] != nil }) {
            path.polygon(
                upper: run.map { (x(index: $0), y(max(lower[$0]!, upper[$0]!))) },
                lower: run.map { (x(index: $0), y(min(lower[$0]!, upper[$0]!))) })
        }
        svg.element(
            "path",
            [
                ("class", "band"), ("data-label", spec.band?.label ?? ""), ("d", path.d), ("fill", SVGChart.color(0)),
                ("fill-opacity", "0.2"), ("stroke", "none"),
            ])
    }

    private func drawComparison(into svg: inout SVGWriter) {
        guard let values = renderer.comparison else { return }
        svg.element(
            "path",
            [
                ("class", "comparison"), ("data-series", spec.comparison?.name ?? ""), ("d", linePath(values)),
                ("fill", "none"), ("stroke", ChartRenderer.comparisonColor), ("stroke-width", "1.5"),
                ("stroke-dasharray", "5 4"), ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
            ])
    }

    private func drawSeries(into svg: inout SVGWriter) {
        let muted = !renderer.smoothed.isEmpty
        switch spec.kind {
        case .line, .area:
            for (index, values) in renderer.raw.enumerated() {
                let color = SVGChart.color(index)
                if spec.kind == .area {
                    var fill = PathBuilder()
                    let zero = y(max(ticks.first ?? 0, min(0, ticks.last ?? 0)))
                    for run in runs(values.count, { values[$0] != nil }) {
                        let top: [(x: Double, y: Double)] = run.map { (x(index: $0), y(values[$0]!)) }
                        fill.polygon(upper: top, lower: top.map { ($0.x, zero) })
                    }
                    svg.element(
                        "path",
                        [
                            ("class", "area series-\(index)"), ("d", fill.d), ("fill", color),
                            ("fill-opacity", muted ? "0.1" : "0.18"), ("stroke", "none"),
                        ])
                }
                svg.element(
                    "path",
                    [
                        ("class", "series series-\(index)"), ("data-series", spec.series[index].name),
                        ("d", linePath(values)), ("fill", "none"), ("stroke", color),
                        ("stroke-width", muted ? "1.25" : "2"), ("stroke-opacity", muted ? "0.5" : "1"),
                        ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
                    ])
            }
        case .stackedArea:
            for (index, layer) in renderer.stacks.enumerated() {
                var fill = PathBuilder()
                var edge = PathBuilder()
                for run in runs(layer.count, { layer[$0] != nil }) {
                    let top = run.map { (x(index: $0), y(layer[$0]!.1)) }
                    fill.polygon(upper: top, lower: run.map { (x(index: $0), y(layer[$0]!.0)) })
                    edge.line(top)
                }
                let color = SVGChart.color(index)
                svg.element(
                    "path",
                    [
                        ("class", "series series-\(index)"), ("data-series", spec.series[index].name), ("d", fill.d),
                        ("fill", color), ("fill-opacity", muted ? "0.5" : "0.8"), ("stroke", "none"),
                    ])
                svg.element(
                    "path",
                    [
                        ("class", "edge series-\(index)"), ("d", edge.d), ("fill", "none"), ("stroke", color),
                        ("stroke-width", "1.25"), ("stroke-linejoin", "round"),
                    ])
            }
        case .bar:
            let barWidth = max(1, min(xScale.slotWidth * 0.78, xScale.slotWidth - 1, 48))
            for (index, layer) in renderer.stacks.enumerated() {
                svg.open(
                    "g",
                    [
                        ("class", "series series-\(index)"), ("data-series", spec.series[index].name),
                        ("fill", SVGChart.color(index)), ("fill-opacity", muted ? "0.55" : "1"),
                    ])
                for (day, bounds) in layer.enumerated() {
                    guard let bounds else { continue }
                    let top = y(bounds.1)
                    let bottom = y(bounds.0)
                    svg.element(
                        "rect",
                        [
                            ("class", "bar"), ("x", SVGWriter.number(x(index: day) - barWidth / 2)),
                            ("y", SVGWriter.number(top)), ("width", SVGWriter.number(barWidth)),
                            ("height", SVGWriter.number(max(0, bottom - top))),
                        ])
                }
                svg.close("g")
            }
        }
    }

    private func drawSmoothed(into svg: inout SVGWriter) {
        for line in renderer.smoothed {
            svg.element(
                "path",
                [
                    ("class", "smoothed series-\(line.series)"), ("data-series", line.name),
                    ("d", linePath(line.values)),
                    ("fill", "none"), ("stroke", SVGChart.color(line.series)), ("stroke-width", "2.5"),
                    ("stroke-linejoin", "round"), ("stroke-linecap", "round"),
                ])
        }
    }

    /// Tooltip data with values formatted here, so the script does no number formatting:
    /// `data-series` lists the rows as `[name, color]` (color empty for rows without a swatch),
    /// `data-points` holds per day `{"x": viewBox x, "d": date, "v": [one text per row]}`.
    private func drawHoverData(into svg: inout SVGWriter) {
        let style = spec.style
        func text(_ value: Double?) -> String {
            value.map { NumberFormat.format($0, style: style, compact: false) } ?? "–"
        }
        var rows: [(name: String, color: String, value: (Int) -> String)] = []
        for (series, values) in renderer.raw.enumerated() {
            rows.append((spec.series[series].name, SVGChart.color(series), { text(values[$0]) }))
        }
        if renderer.raw.count > 1 && !renderer.stacks.isEmpty {
            rows.append(
                (
                    "Total", "",
                    { index in
                        let present = renderer.raw.compactMap { $0[index] }
                        return present.isEmpty ? "–" : text(present.reduce(0, +))
                    }
                ))
        }
        for line in renderer.smoothed {
            rows.append((line.name + " (smoothed)", SVGChart.color(line.series), { text(line.values[$0]) }))
        }
        if let band = spec.band, let lower = renderer.bandLower, let upper = renderer.bandUpper {
            rows.append(
                (
                    band.label, "",
                    { index in
                        guard let low = lower[index], let high = upper[index] else { return "–" }
                        return text(low) + " – " + text(high)
                    }
                ))
        }
        if let comparison = spec.comparison, let values = renderer.comparison {
            rows.append((comparison.name, ChartRenderer.comparisonColor, { text(values[$0]) }))
        }
        /// One day under the pointer: its x (to a tenth, as drawn), its date and each row's text.
        struct Point: Encodable {
            var x: Double
            var d: String
            var v: [String]
        }
        let series = rows.map { [$0.name, $0.color] }
        let points = renderer.days.enumerated().map { index, day in
            Point(
                x: (x(index: index) * 10).rounded() / 10, d: AxisTicks.fullDayLabel(CalendarDay(dayNumber: day)),
                v: rows.map { $0.value(index) })
        }
        svg.element(
            "g",
            [
                ("class", "hover"), SVGWriter.singleQuoted("data-series", SVGWriter.json(encoding: series)),
                SVGWriter.singleQuoted("data-points", SVGWriter.json(encoding: points)),
            ])
    }
}

/// Day to x: points at their day across the plot, or (for bars) in the middle of equal day slots.
struct XScale {
    let firstDay: Int
    let lastDay: Int
    let left: Double
    let right: Double
    let slotted: Bool

    var slotWidth: Double { (right - left) / Double(lastDay - firstDay + 1) }

    func x(_ day: Int) -> Double {
        if slotted { return left + (Double(day - firstDay) + 0.5) * slotWidth }
        guard lastDay > firstDay else { return (left + right) / 2 }
        return left + Double(day - firstDay) / Double(lastDay - firstDay) * (right - left)
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var result = Substring(self)
        while result.last == " " { result = result.dropLast() }
        return String(result)
    }
}
