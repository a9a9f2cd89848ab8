public import AlmanacCore

/// How a chart draws its series.
public enum ChartKind: String, Sendable, CaseIterable {
    /// One line per series.
    case line
    /// One line per series, each filled down to zero.
    case area
    /// Series stacked on each other, bottom-up in the order given, as filled layers.
    case stackedArea = "stacked_area"
    /// One bar per date; several series are stacked.
    case bar
}

/// How a chart's values read as text, on axes and in tooltips.
public enum ValueStyle: String, Sendable, CaseIterable {
    /// A plain number: `12,345`, `12.3k`.
    case number
    /// A fraction shown as a percentage: `0.25` reads `25.0%`.
    case percent
    /// US dollars: `$12,345`, `$12.3k`.
    case currency
    /// Seconds shown as a duration: `270` reads `4m 30s`.
    case duration
}

/// One value of a series on one day; `nil` means there is no data for that day.
public struct SeriesPoint: Sendable, Hashable {
    /// The day the value belongs to.
    public var date: CalendarDay
    /// The value, or `nil` when there is no data for the day (a gap, not a zero).
    public var value: Double?

    /// A value on a day.
    public init(date: CalendarDay, value: Double?) {
        self.date = date
        self.value = value
    }
}

/// A named sequence of dated values, in date order.
public struct Series: Sendable, Hashable {
    /// Shown in the legend and tooltips; smoothed lines match their raw series by it.
    public var name: String
    /// The values in ascending date order.
    public var points: [SeriesPoint]

    /// A series of the given points.
    public init(name: String, points: [SeriesPoint]) {
        self.name = name
        self.points = points
    }

    /// A series of consecutive days starting at `start`, one value per day.
    public init(name: String, start: CalendarDay, values: [Double?]) {
        self.name = name
        self.points = values.enumerated().map { SeriesPoint(date: start.adding(days: $0.offset), value: $0.element) }
    }

    /// The values alone, in point order.
    public var values: [Double?] { points.map(\.value) }
}

/// A shaded range around the first series, index-aligned with that series' points.
///
/// A point where either edge is `nil` leaves a gap in the band.
public struct Band: Sendable, Hashable {
    /// The lower edge, one value per point of the first series.
    public var lower: [Double?]
    /// The upper edge, one value per point of the first series.
    public var upper: [Double?]
    /// What the band means, for the legend and tooltips (for example "95% interval").
    public var label: String

    /// A band from its two edges.
    public init(lower: [Double?], upper: [Double?], label: String = "95% interval") {
        self.lower = lower
        self.upper = upper
        self.label = label
    }
}

/// A launch or event marked on a chart: one day, or a period when `end` is set.
public struct ChartAnnotation: Sendable, Hashable {
    /// The day of the event, or the first day of the period.
    public var date: CalendarDay
    /// The last day of a period (inclusive); `nil` for a single day.
    public var end: CalendarDay?
    /// What happened; the chart shows it shortened and gives it in full on hover.
    public var title: String

    /// An event on `date`, or a period from `date` through `end`.
    public init(date: CalendarDay, end: CalendarDay? = nil, title: String) {
        self.date = date
        self.end = end
        self.title = title
    }
}

/// Everything ``SVGChart/render(_:)`` needs to draw one chart.
public struct ChartSpec: Sendable {
    /// Unique within a page; element ids derive from it (characters outside `A-Z a-z 0-9 - _ . :` become `_`).
    public var id: String
    /// The chart's accessible name (`<title>`); pages show their own heading.
    public var title: String
    /// Read by screen readers (`<desc>`); when empty, a summary of the data is written instead.
    public var description: String
    /// How the series are drawn.
    public var kind: ChartKind
    /// How values read on the y axis and in tooltips.
    public var style: ValueStyle
    /// Shown at the top right of the chart (for example "signups per day").
    public var unit: String?
    /// One series for a plain chart; several for a breakdown (stacked for ``ChartKind/stackedArea`` and ``ChartKind/bar``).
    public var series: [Series]
    /// Smoothed lines drawn over the raw series, matched to them by name; empty for none.
    public var smoothed: [Series]
    /// The previous period, drawn dashed and muted; point `i` is drawn at the date of `series[0]`'s point `i`.
    public var comparison: Series?
    /// A shaded significance band around `series[0]` (or its smoothed line).
    public var band: Band?
    /// Launches and events; those outside the dates of the series are left out.
    public var annotations: [ChartAnnotation]
    /// The size of the drawing in SVG units; the element scales to its container.
    public var width: Int = 720
    /// The height of the drawing in SVG units.
    public var height: Int = 280

    /// A chart of `series`; everything else is optional.
    public init(
        id: String, title: String, description: String = "", kind: ChartKind = .line, style: ValueStyle = .number,
        unit: String? = nil, series: [Series], smoothed: [Series] = [], comparison: Series? = nil, band: Band? = nil,
        annotations: [ChartAnnotation] = [], width: Int = 720, height: Int = 280
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.kind = kind
        self.style = style
        self.unit = unit
        self.series = series
        self.smoothed = smoothed
        self.comparison = comparison
        self.band = band
        self.annotations = annotations
        self.width = width
        self.height = height
    }
}
