public import AlmanacCore
public import Catalog
import Charts
import Scheduling
public import Warehouse

/// The days one digest covers and what it compares them with.
///
/// Each period is a whole calendar period that has ended by the data's last day, so one
/// query per metric, at the period's grain, yields the headline, every comparison and the
/// bars of the trend strip.
public struct DigestPeriod: Sendable, Hashable, Codable {
    /// A period the headline is compared with.
    public struct Baseline: Sendable, Hashable, Codable {
        /// `previous day`, `same day last week`, `previous month`, `same month last year`.
        public var label: String
        public var start: CalendarDay
    }
    public var kind: Subscription.Period
    /// The first and last day of the period the headline numbers are for.
    public var start: CalendarDay
    public var end: CalendarDay
    public var comparisons: [Baseline]
    /// The periods the trend strip shows, ending with this one.
    public var stripStart: CalendarDay

    public var grain: TimeGrain {
        switch kind {
        case .day: .day
        case .week: .week
        case .month: .month
        }
    }
    public var range: DateRange { DateRange(start: start, end: end) }
    /// Everything one query must cover: the strip and every comparison.
    public var queryRange: DateRange {
        DateRange(start: min(stripStart, comparisons.map(\.start).min() ?? stripStart), end: end)
    }

    /// The last complete period of `kind` on or before `asOf`, compared as the subscription's
    /// `compare:` says: `previous_period` (the default: the period before, and the same day last
    /// week, 4 weeks earlier or the same month last year), `previous_year` (also a year earlier),
    /// or `none`.
    public static func ending(
        on asOf: CalendarDay, kind: Subscription.Period, compare: Comparison = .previousPeriod
    ) -> DigestPeriod {
        var period = standard(on: asOf, kind: kind)
        switch compare {
        case .none: period.comparisons = []
        case .previousPeriod: break
        case .previousYear where kind != .month:
            // 364 days back, so weekdays line up.
            period.comparisons.append(Baseline(label: "a year earlier", start: period.start.adding(days: -364)))
        case .previousYear: break
        }
        return period
    }

    private static func standard(on asOf: CalendarDay, kind: Subscription.Period) -> DigestPeriod {
        switch kind {
        case .day:
            return DigestPeriod(
                kind: kind, start: asOf, end: asOf,
                comparisons: [
                    Baseline(label: "previous day", start: asOf.adding(days: -1)),
                    Baseline(label: "same day last week", start: asOf.adding(days: -7)),
                ], stripStart: asOf.adding(days: -13))
        case .week:
            // CalendarDay.weekday: 0 is Sunday; weeks run Monday to Sunday.
            let sunday = asOf.adding(days: -asOf.weekday)
            let monday = sunday.adding(days: -6)
            return DigestPeriod(
                kind: kind, start: monday, end: sunday,
                comparisons: [
                    Baseline(label: "previous week", start: monday.adding(days: -7)),
                    Baseline(label: "4 weeks earlier", start: monday.adding(days: -28)),
                ], stripStart: monday.adding(days: -7 * 11))
        case .month:
            let monthEnd = Periods.end(ofPeriodStarting: Periods.start(of: asOf, grain: .month), grain: .month)
            let end = asOf == monthEnd ? asOf : Periods.start(of: asOf, grain: .month).adding(days: -1)
            let start = Periods.start(of: end, grain: .month)
            return DigestPeriod(
                kind: kind, start: start, end: end,
                comparisons: [
                    Baseline(label: "previous month", start: Periods.shift(start, months: -1)),
                    Baseline(label: "same month last year", start: Periods.shift(start, months: -12)),
                ], stripStart: Periods.shift(start, months: -11))
        }
    }

    /// A subscription's period: its own `period:`, else from its schedule (a day-of-month
    /// schedule is monthly, a single weekday weekly, anything else daily).
    public static func kind(of subscription: Subscription) -> Subscription.Period {
        if let period = subscription.period { return period }
        guard let schedule = try? CronSchedule(parsing: subscription.schedule) else { return .day }
        return schedule.isMonthly ? .month : schedule.isWeekly ? .week : .day
    }

    /// `Thursday 26 November 2026`, `the week of 16–22 November 2026`, `November 2026`.
    public var label: String {
        switch kind {
        case .day: return "\(Self.weekdays[start.weekday]) \(Self.dayText(start))"
        case .week:
            let (_, startMonth, startDay) = start.components
            let (_, endMonth, _) = end.components
            let first = startMonth == endMonth ? "\(startDay)" : "\(startDay) \(Self.months[startMonth - 1])"
            return "the week of \(first)–\(Self.dayText(end))"
        case .month:
            let (year, month, _) = start.components
            return "\(Self.months[month - 1]) \(year)"
        }
    }

    static let weekdays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
    static let months = [
        "January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
        "November", "December",
    ]
    static func dayText(_ day: CalendarDay) -> String {
        let (year, month, dayOfMonth) = day.components
        return "\(dayOfMonth) \(months[month - 1]) \(year)"
    }
    /// `26 Nov`, for bar labels.
    static func shortDay(_ day: CalendarDay) -> String {
        let (_, month, dayOfMonth) = day.components
        return "\(dayOfMonth) \(months[month - 1].prefix(3))"
    }
}

/// One metric's numbers in a digest, straight from the metric model.
public struct DigestFigures: Sendable, Hashable, Codable {
    public struct Change: Sendable, Hashable, Codable {
        public var label: String
        /// The comparison period's value (`nil`: no data, or a ratio without a denominator).
        public var value: Double?
    }
    public struct Bar: Sendable, Hashable, Codable {
        public var start: CalendarDay
        public var value: Double?
    }
    public struct Part: Sendable, Hashable, Codable {
        public var name: String
        public var value: Double?
    }
    public var metric: MetricID
    public var value: Double?
    public var changes: [Change]
    /// The trend strip, oldest first; the last bar is the digest's period.
    public var bars: [Bar]
    /// The breakdown's largest values in the period, when the subscription asks for one.
    public var breakdown: [Part]
    public var breakdownDimension: String?
    /// Why the numbers could not be read (the rest of the digest still goes out).
    public var error: String?
}

/// A subscription's numbers for one period: everything any recipient might see, before the
/// per-recipient access check.
public struct DigestData: Sendable, Hashable, Codable {
    public var subscription: SubscriptionID
    public var period: DigestPeriod
    public var figures: [DigestFigures]
}

/// Reads a subscription's metrics for a period from the warehouse, through the same
/// ``MetricEvaluator`` the dashboards use, so a digest's numbers are the metric model's.
public struct DigestComposer: Sendable {
    public let catalog: Catalog
    public let warehouse: any Warehouse
    public let timeout: Duration

    public init(catalog: Catalog, warehouse: any Warehouse, timeout: Duration = .seconds(60)) {
        self.catalog = catalog
        self.warehouse = warehouse
        self.timeout = timeout
    }

    /// The metrics a subscription sends: its own, then its report's (panels that draw a metric
    /// over time), each once, live ones only.
    public func metrics(of subscription: Subscription) -> [MetricID] {
        var seen = Set<MetricID>()
        var result: [MetricID] = []
        var candidates = subscription.metrics
        if let report = subscription.report.flatMap(catalog.report) {
            for panel in report.panels where panel.depth == nil && panel.experiment == nil {
                if let metric = panel.metric { candidates.append(metric) }
            }
        }
        for id in candidates where seen.insert(id).inserted {
            if let metric = catalog.metric(id), metric.status != .retired { result.append(id) }
        }
        return result
    }

    /// - Throws: the first warehouse error when no metric could be read at all.
    public func compose(_ subscription: Subscription, asOf: CalendarDay) async throws -> DigestData {
        let period = DigestPeriod.ending(
            on: asOf, kind: DigestPeriod.kind(of: subscription), compare: subscription.compare)
        let evaluator = MetricEvaluator(catalog: catalog, warehouse: warehouse, timeout: timeout)
        var figures: [DigestFigures] = []
        var firstError: (any Error)?
        for id in metrics(of: subscription) {
            do {
                figures.append(try await self.figures(id, period: period, subscription: subscription, evaluator))
            } catch {
                firstError = firstError ?? error
                figures.append(
                    DigestFigures(
                        metric: id, value: nil, changes: [], bars: [], breakdown: [], breakdownDimension: nil,
                        error: (error as? any AlmanacError)?.userMessage ?? "\(error)"))
            }
        }
        if let firstError, !figures.contains(where: { $0.error == nil }) { throw firstError }
        return DigestData(subscription: subscription.id, period: period, figures: figures)
    }

    private func figures(
        _ id: MetricID, period: DigestPeriod, subscription: Subscription, _ evaluator: MetricEvaluator
    ) async throws -> DigestFigures {
        let result = try await evaluator.evaluate(
            MetricRequest(metric: id, grain: period.grain, range: period.queryRange))
        let total = result.series.first { $0.name == nil } ?? result.series.first
        var values: [CalendarDay: Double?] = [:]
        for (index, start) in result.periods.enumerated() { values[start] = total?.values[index] }
        let bars = result.periods.filter { $0 >= period.stripStart }.map {
            DigestFigures.Bar(start: $0, value: values[$0] ?? nil)
        }
        var figures = DigestFigures(
            metric: id, value: values[period.start] ?? nil,
            changes: period.comparisons.map { .init(label: $0.label, value: values[$0.start] ?? nil) }, bars: bars,
            breakdown: [], breakdownDimension: nil, error: nil)
        if let dimension = subscription.breakdown, let metric = catalog.metric(id),
            metric.dimensions.contains(dimension)
        {
            // Every value, so shares are of the whole; they are shown for counts and sums only.
            let all = MetricEvaluator(catalog: catalog, warehouse: warehouse, timeout: timeout, maximumSeries: .max)
            let split = try await all.evaluate(
                MetricRequest(
                    metric: id, grain: period.grain, range: period.range, breakdown: dimension, wholeRange: true))
            figures.breakdown = split.series.compactMap { series in
                series.name.map { DigestFigures.Part(name: $0, value: series.values.first ?? nil) }
            }
            let source = catalog.source(metric.source)
            figures.breakdownDimension = source?.dimension(dimension)?.label ?? dimension.rawValue
        }
        return figures
    }
}
