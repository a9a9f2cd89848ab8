import AlmanacCore
import Charts
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed chart: every element in document order, for structural assertions.
struct ParsedSVG {
    let root: XMLElement
    let all: [XMLElement]

    init(_ text: String) throws {
        let document = try XMLDocument(xmlString: text, options: [])
        root = try #require(document.rootElement())
        var found: [XMLElement] = []
        func walk(_ element: XMLElement) {
            found.append(element)
            for child in element.children ?? [] { if let child = child as? XMLElement { walk(child) } }
        }
        walk(root)
        all = found
    }

    /// The subpaths of the first `<path>` with class `className`.
    func path(_ className: String) throws -> [[(x: Double, y: Double)]] {
        let d = try #require(elements("path", classed: className).first?["d"])
        return subpaths(d)
    }

    func elements(_ name: String, classed className: String? = nil) -> [XMLElement] {
        all.filter { element in
            guard element.localName == name else { return false }
            guard let className else { return true }
            return element["class"]?.split(separator: " ").contains(Substring(className)) ?? false
        }
    }
}

extension XMLElement {
    // `attribute(forName:)` finds nothing under a default namespace in swift-corelibs-foundation, so search the list.
    subscript(_ name: String) -> String? { attributes?.first { $0.name == name }?.stringValue }
    func number(_ name: String) -> Double? { self[name].flatMap(Double.init) }
    var childElements: [XMLElement] { (children ?? []).compactMap { $0 as? XMLElement } }
}

/// The coordinate pairs of a path's `d` (M/L/h0/Z commands, as the renderer writes them), per subpath.
func subpaths(_ d: String) -> [[(x: Double, y: Double)]] {
    var result: [[(x: Double, y: Double)]] = []
    for part in d.split(separator: "M") {
        let body = part.replacingOccurrences(of: "Z", with: "").replacingOccurrences(of: "h0", with: "")
        let pairs = body.split(separator: "L").map { pair -> (x: Double, y: Double) in
            let numbers = pair.split(separator: " ").compactMap { Double($0) }
            return (numbers[0], numbers[1])
        }
        result.append(pairs)
    }
    return result
}

let start = CalendarDay(parsing: "2025-03-01")!

func daily(_ name: String, _ values: [Double?]) -> Series { Series(name: name, start: start, values: values) }

@Suite(.timeLimit(.minutes(10))) struct SVGStructureTests {
    @Test func rootTitleAndDescription() throws {
        let spec = ChartSpec(
            id: "signups", title: "Sign-ups", description: "Daily sign-ups, last 30 days",
            series: [daily("Sign-ups", [1, 2, 3])])
        let svg = try ParsedSVG(SVGChart.render(spec))
        #expect(svg.root.localName == "svg")
        #expect(svg.root["viewBox"] == "0 0 720 280")
        #expect(svg.root["role"] == "img")
        #expect(svg.root["aria-labelledby"] == "signups-title signups-desc")
        #expect(svg.root["class"] == "chart chart-line")
        #expect(svg.root["font-family"] == "system-ui, sans-serif")
        #expect(svg.elements("title").first?["id"] == "signups-title")
        #expect(svg.elements("title").first?.stringValue == "Sign-ups")
        #expect(svg.elements("desc").first?["id"] == "signups-desc")
        #expect(svg.elements("desc").first?.stringValue == "Daily sign-ups, last 30 days")
        #expect(svg.elements("path", classed: "series").count == 1)
        #expect(svg.elements("path", classed: "series").first?["data-series"] == "Sign-ups")
        // One series, no comparison or band: no legend.
        #expect(svg.elements("g", classed: "legend").isEmpty)
        for kind in ChartKind.allCases {
            let root = try ParsedSVG(SVGChart.render(ChartSpec(id: "k", title: "K", kind: kind, series: spec.series)))
                .root
            #expect(root["class"] == "chart chart-\(kind.rawValue)")
        }
    }

    @Test func textIsEscaped() throws {
        let spec = ChartSpec(
            id: "x", title: "<script>alert(1)</script> & co", description: "a \"quoted\" 'desc' & <b>",
            series: [daily("A&B <i>", [1, 2]), daily("C", [2, 1])], comparison: daily("Prev </path>", [1, 1]),
            annotations: [ChartAnnotation(date: start, title: "Launch <img src=x onerror=alert(1)> & more")])
        let text = SVGChart.render(spec)
        #expect(!text.contains("<script>"))
        #expect(!text.contains("<img"))
        #expect(!text.contains("<i>"))
        #expect(text.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"))
        let svg = try ParsedSVG(text)
        #expect(svg.elements("title").first?.stringValue == "<script>alert(1)</script> & co")
        #expect(svg.elements("desc").first?.stringValue == "a \"quoted\" 'desc' & <b>")
        #expect(svg.elements("path", classed: "series").first?["data-series"] == "A&B <i>")
        let legend = svg.elements("g", classed: "legend").first?.childElements.compactMap {
            $0.childElements.last?.stringValue
        }
        #expect(legend == ["A&B <i>", "C", "Prev </path>"])
        let annotation = try #require(svg.elements("g", classed: "annotation").first)
        #expect(
            annotation.childElements.first?.stringValue?.hasPrefix("Launch <img src=x onerror=alert(1)> & more") == true
        )
        // The tooltip JSON survives attribute escaping intact.
        let series = try #require(svg.elements("g", classed: "hover").first?["data-series"])
        let rows = try JSONSerialization.jsonObject(with: Data(series.utf8)) as? [[String]]
        #expect(rows?.map { $0[0] } == ["A&B <i>", "C", "Prev </path>"])
    }

    @Test func controlCharactersAreDroppedSoTheDocumentStaysValid() throws {
        let spec = ChartSpec(id: "x", title: "bad\u{1}title\u{0}", series: [daily("s\u{7}", [1])])
        let svg = try ParsedSVG(SVGChart.render(spec))
        #expect(svg.elements("title").first?.stringValue == "badtitle")
    }

    @Test func annotationsAppearExactlyForDatesInRange() throws {
        let values: [Double?] = (0..<30).map { Double(100 + $0 * 3) }
        let spec = ChartSpec(
            id: "a", title: "A", series: [daily("S", values)],
            annotations: [
                ChartAnnotation(date: start.adding(days: 20), title: "Second launch"),
                ChartAnnotation(date: start.adding(days: -3), title: "Before"),
                ChartAnnotation(date: start.adding(days: 5), title: "First launch"),
                ChartAnnotation(date: start.adding(days: 30), title: "After"),
                ChartAnnotation(date: start.adding(days: 29), title: "Last day"),
            ])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let groups = svg.elements("g", classed: "annotation")
        #expect(groups.map { $0["data-date"] } == ["2025-03-06", "2025-03-21", "2025-03-30"])
        let points = try #require(try svg.path("series").first)
        #expect(points.count == 30)
        for (group, day) in zip(groups, [5, 20, 29]) {
            let line = try #require(group.childElements.first { $0.localName == "line" })
            #expect(line.number("x1") == points[day].x)
            #expect(line.number("x2") == points[day].x)
            let full = group.childElements.first { $0.localName == "title" }?.stringValue ?? ""
            #expect(full.contains("Launch") || full.contains("launch") || full.contains("Last day"))
            #expect(group.childElements.contains { $0.localName == "text" })
        }
    }

    @Test func crowdedAnnotationLabelsAreStaggeredWithoutOverlap() throws {
        let spec = ChartSpec(
            id: "a", title: "A", series: [daily("S", (0..<60).map { Double($0) })],
            annotations: [
                ChartAnnotation(date: start.adding(days: 10), title: "Timeline view launch"),
                ChartAnnotation(date: start.adding(days: 11), title: "Twitter campaign"),
                ChartAnnotation(date: start.adding(days: 12), title: "Pricing change"),
            ])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let labels = svg.elements("g", classed: "annotation").compactMap { group in
            group.childElements.first { $0.localName == "text" }
        }
        #expect(labels.count == 3)
        #expect(Set(labels.compactMap { $0.number("y") }).count == 3)
        // Labels sit above the plot, not over the data.
        let plotTop = try #require(svg.elements("rect", classed: "plot-area").first?.number("y"))
        #expect(labels.allSatisfy { ($0.number("y") ?? .infinity) < plotTop })
    }

    @Test func periodAnnotationShadesItsDays() throws {
        let spec = ChartSpec(
            id: "a", title: "A", series: [daily("S", (0..<30).map { Double($0) })],
            annotations: [ChartAnnotation(date: start.adding(days: 10), end: start.adding(days: 14), title: "Sale")])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let group = try #require(svg.elements("g", classed: "annotation").first)
        #expect(group["data-end"] == "2025-03-15")
        let rect = try #require(group.childElements.first { $0.localName == "rect" })
        let points = try svg.path("series")[0]
        #expect(rect.number("x") == points[10].x)
        #expect(abs((rect.number("x") ?? 0) + (rect.number("width") ?? 0) - points[14].x) < 0.15)
    }

    @Test func bandComparisonAndSmoothing() throws {
        let values: [Double?] = [10, 12, 9, 11, 14, 13, 12]
        let smoothed = Analysis.movingAverage(values, window: 3, centered: false)
        let band = Analysis.residualBand(values: values, smoothed: smoothed, window: 3, k: 2)
        let spec = ChartSpec(
            id: "b", title: "B", series: [daily("S", values)], smoothed: [daily("S", smoothed)],
            comparison: daily("Last year", [8, 9, 8, 10, 9, 11, 10]),
            band: Band(lower: band.lower, upper: band.upper, label: "±2σ"))
        let svg = try ParsedSVG(SVGChart.render(spec))
        let bandPath = try #require(svg.elements("path", classed: "band").first)
        let polygons = try svg.path("band")
        // Residuals exist from index 2 (the first smoothed value); two of them first fit a window at index 3,
        // so the band covers days 3 ... 6: four points forward along the upper edge, four back along the lower.
        #expect(band.upper.map { $0 != nil } == [false, false, false, true, true, true, true])
        #expect(polygons.count == 1)
        #expect(polygons[0].count == 8)
        #expect(polygons[0][0].x == polygons[0][7].x)
        #expect(polygons[0][0].y < polygons[0][7].y)
        #expect(bandPath["d"]?.hasSuffix("Z") == true)
        #expect(bandPath["fill-opacity"].flatMap(Double.init).map { $0 < 1 } == true)
        let comparison = try #require(svg.elements("path", classed: "comparison").first)
        #expect(comparison["stroke-dasharray"] != nil)
        #expect(try svg.path("comparison")[0].count == 7)
        let raw = try #require(svg.elements("path", classed: "series").first)
        let smooth = try #require(svg.elements("path", classed: "smoothed").first)
        #expect(smooth["class"] == "smoothed series-0")
        #expect(try svg.path("smoothed")[0].count == 5)
        #expect((raw.number("stroke-width") ?? 0) < (smooth.number("stroke-width") ?? 0))
        #expect((raw.number("stroke-opacity") ?? 1) < 1)
        #expect(svg.elements("g", classed: "legend").count == 1)

        let plain = try ParsedSVG(SVGChart.render(ChartSpec(id: "p", title: "P", series: [daily("S", values)])))
        #expect(plain.elements("path", classed: "band").isEmpty)
        #expect(plain.elements("path", classed: "comparison").isEmpty)
        #expect(plain.elements("path", classed: "smoothed").isEmpty)
        #expect(plain.elements("path", classed: "series").first?.number("stroke-opacity") == 1)
    }

    @Test func gapsBreakLines() throws {
        let spec = ChartSpec(id: "g", title: "G", series: [daily("S", [1, 2, nil, 4, 5, nil, 7])])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let d = try #require(svg.elements("path", classed: "series").first?["d"])
        #expect(subpaths(d).map(\.count) == [2, 2, 1])
        // A lone point is a zero-length segment that round caps draw as a dot.
        #expect(d.hasSuffix("h0"))
    }

    /// Converts a y coordinate back to a value with the plot's scale.
    private func value(at y: Double, in svg: ParsedSVG) throws -> Double {
        let plot = try #require(svg.elements("rect", classed: "plot-area").first)
        let top = try #require(plot.number("y"))
        let height = try #require(plot.number("height"))
        let low = try #require(plot.number("data-y-min"))
        let high = try #require(plot.number("data-y-max"))
        return low + (top + height - y) / height * (high - low)
    }

    @Test func stackedAreaTopIsTheSumOfTheSeries() throws {
        let a: [Double?] = [10, 20, 30, 25]
        let b: [Double?] = [5, nil, 10, 15]
        let c: [Double?] = [1, 2, 3, 4]
        let spec = ChartSpec(
            id: "s", title: "S", kind: .stackedArea, series: [daily("A", a), daily("B", b), daily("C", c)])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let layers = svg.elements("path", classed: "series")
        #expect(layers.map { $0["data-series"] } == ["A", "B", "C"])
        #expect(layers.allSatisfy { $0["fill"] != "none" && $0["d"]?.hasSuffix("Z") == true })
        let plot = try #require(svg.elements("rect", classed: "plot-area").first)
        // A value's tolerance: the 0.1 rounding of a coordinate, in value units.
        let tolerance =
            0.06 * ((plot.number("data-y-max") ?? 0) - (plot.number("data-y-min") ?? 0))
            / (plot.number("height") ?? 1)
        let sums = (0..<4).map { (a[$0] ?? 0) + (b[$0] ?? 0) + (c[$0] ?? 0) }
        let top = subpaths(layers[2]["d"] ?? "")[0]
        for day in 0..<4 {
            #expect(abs(try value(at: top[day].y, in: svg) - sums[day]) <= tolerance, "day \(day)")
            // The polygon comes back along the top of the layer below: A + B.
            let belowSum = (a[day] ?? 0) + (b[day] ?? 0)
            #expect(abs(try value(at: top[7 - day].y, in: svg) - belowSum) <= tolerance)
        }
        let bottom = subpaths(layers[0]["d"] ?? "")[0]
        for day in 0..<4 {
            #expect(abs(try value(at: bottom[day].y, in: svg) - a[day]!) <= tolerance)
            #expect(abs(try value(at: bottom[7 - day].y, in: svg)) <= tolerance)
        }
        // The tooltip shows the total.
        let hover = try #require(svg.elements("g", classed: "hover").first)
        let json = try JSONSerialization.jsonObject(with: Data((hover["data-series"] ?? "").utf8))
        let rows = try #require(json as? [[String]])
        #expect(rows.map { $0[0] } == ["A", "B", "C", "Total"])
    }

    @Test func barsStackOneRectPerValue() throws {
        let spec = ChartSpec(
            id: "bars", title: "Bars", kind: .bar, style: .currency,
            series: [daily("New", [100, 200, nil, 400]), daily("Expansion", [50, 50, 50, nil])])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let bars = svg.elements("rect", classed: "bar")
        #expect(bars.count == 6)
        // Stacked: the second series' first bar sits on top of the first one's.
        let first = svg.elements("g", classed: "series-0").first?.childElements.first
        let second = svg.elements("g", classed: "series-1").first?.childElements.first
        #expect(
            first?.number("y") == second.flatMap { bar in bar.number("y").map { $0 + (bar.number("height") ?? 0) } })
        #expect(svg.elements("g", classed: "axis-y").first?.childElements.contains { $0.stringValue == "$0" } == true)
    }

    @Test func yAxisTicksAreFormattedAndCoverTheData() throws {
        let spec = ChartSpec(
            id: "y", title: "Y", style: .percent, series: [daily("Rate", [0.02, 0.35, 0.18])])
        let svg = try ParsedSVG(SVGChart.render(spec))
        let labels = svg.elements("g", classed: "axis-y").first?.childElements.compactMap(\.stringValue)
        #expect(labels == ["0%", "10%", "20%", "30%", "40%"])
        let dates = svg.elements("g", classed: "axis-x").first?.childElements.filter { $0.localName == "text" }
        #expect(dates?.compactMap(\.stringValue) == ["Mar 1, 2025", "Mar 2", "Mar 3"])
    }

    @Test func dateLabelsDoNotOverlap() throws {
        for days in [7, 30, 90, 180, 400, 800] {
            let spec = ChartSpec(
                id: "d", title: "D", series: [daily("S", (0..<days).map { Double($0 % 17) })], width: 480)
            let svg = try ParsedSVG(SVGChart.render(spec))
            let xs =
                svg.elements("g", classed: "axis-x").first?.childElements.filter { $0.localName == "text" }
                .compactMap { $0.number("x") } ?? []
            #expect(!xs.isEmpty)
            // Labels are at most 11 characters (~70 units) wide at this size.
            for (left, right) in zip(xs, xs.dropFirst()) { #expect(right - left > 70, "\(days) days: \(xs)") }
        }
    }

    @Test func hoverDataHoldsFormattedValuesPerDay() throws {
        let spec = ChartSpec(
            id: "h", title: "H", series: [daily("Sign-ups", [1234, nil, 2_000_000])],
            comparison: daily("Last year", [1000, 1100, 1200]))
        let svg = try ParsedSVG(SVGChart.render(spec))
        let hover = try #require(svg.elements("g", classed: "hover").first)
        let json = try JSONSerialization.jsonObject(with: Data((hover["data-points"] ?? "").utf8))
        let points = try #require(json as? [[String: Any]])
        #expect(points.count == 3)
        #expect(points.map { $0["d"] as? String } == ["Sat, Mar 1, 2025", "Sun, Mar 2, 2025", "Mon, Mar 3, 2025"])
        #expect(points.map { $0["v"] as? [String] } == [["1,234", "1,000"], ["–", "1,100"], ["2,000,000", "1,200"]])
        let xs = points.compactMap { $0["x"] as? Double }
        #expect(xs == xs.sorted() && Set(xs).count == 3)
    }

    @Test func emptyChartSaysSo() throws {
        for series in [[], [Series(name: "S", points: [])], [daily("S", [nil, nil])]] {
            let spec = ChartSpec(
                id: "e", title: "Empty", series: series, annotations: [ChartAnnotation(date: start, title: "x")])
            let svg = try ParsedSVG(SVGChart.render(spec))
            #expect(svg.root["aria-labelledby"] == "e-title e-desc")
            #expect(svg.elements("text", classed: "empty").first?.stringValue == "No data for this period")
            #expect(svg.elements("g", classed: "hover").isEmpty)
            #expect(svg.elements("g", classed: "annotation").isEmpty)
        }
    }

    @Test func outputIsDeterministicAndCompact() throws {
        let values: [Double?] = (0..<90).map { 1000 + 300 * sin(Double($0) / 3) }
        let spec = ChartSpec(
            id: "d", title: "D", kind: .area,
            series: [daily("A", values), daily("B", values.map { $0.map { $0 / 2 } })],
            annotations: [ChartAnnotation(date: start.adding(days: 40), title: "Launch")])
        let first = SVGChart.render(spec)
        #expect(first == SVGChart.render(spec))
        // Coordinates carry at most one decimal.
        let parsed = try ParsedSVG(first)
        let d = try #require(parsed.elements("path", classed: "series").first?["d"])
        let decimals = d.split(whereSeparator: { "ML h".contains($0) }).compactMap {
            $0.split(separator: ".").dropFirst().first
        }
        #expect(decimals.allSatisfy { $0.count == 1 })
        #expect(!first.contains("style="))
    }

    @Test func autoDescriptionSummarisesTheData() throws {
        let spec = ChartSpec(id: "a", title: "A", series: [daily("Sign-ups", [5, 12_345])])
        let svg = try ParsedSVG(SVGChart.render(spec))
        #expect(
            svg.elements("desc").first?.stringValue
                == "Line chart of Sign-ups from 2025-03-01 to 2025-03-02. Latest Sign-ups: 12,345 on 2025-03-02.")
    }
}
