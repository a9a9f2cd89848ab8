public import AlmanacCore

/// Where axes put their ticks.
public enum AxisTicks {
    /// About `count` evenly spaced "nice" values (1, 2 or 5 × 10ᵏ apart) from at or below `min`
    /// to at or above `max`.
    ///
    /// A range starting at 0 has 0 as its first tick. An empty range is widened to include 0
    /// (or to 0...1 when both ends are 0). Non-finite input gives no ticks.
    public static func nice(min: Double, max: Double, count: Int) -> [Double] {
        guard min.isFinite, max.isFinite else { return [] }
        var low = Swift.min(min, max)
        var high = Swift.max(min, max)
        if low == high {
            if low == 0 {
                high = 1
            } else if low > 0 {
                low = 0
            } else {
                high = 0
            }
        }
        let (mantissa, exponent) = niceStep((high - low) / Double(Swift.max(1, count - 1)))
        // Ticks are integer multiples of the step, built from integers so that 0.1 × 3 reads 0.3.
        func tick(_ multiple: Int) -> Double {
            let units = Double(multiple * mantissa)
            return exponent >= 0 ? units * Double.powerOfTen(exponent) : units / Double.powerOfTen(-exponent)
        }
        let step = tick(1)
        let first = Int((low / step).rounded(.down))
        var last = Int((high / step).rounded(.up))
        // Guards against a rounding error that leaves the maximum just outside.
        while tick(last) < high { last += 1 }
        var firstTick = first
        while tick(firstTick) > low { firstTick -= 1 }
        return (firstTick...last).map(tick)
    }

    /// Steps a reader counts time in, in seconds: up to a week.
    private static let durationSteps: [Double] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800,
        604_800,
    ]

    /// Like ``nice(min:max:count:)`` for durations in seconds: steps of whole seconds, minutes,
    /// hours or days (15s, 2m, 6h, 1d…) so that labels read `2m`, `4m`, not `1m 40s`, `3m 20s`.
    /// Ranges under a few seconds, or longer than weeks, fall back to decimal steps (of days).
    public static func niceDurations(min: Double, max: Double, count: Int) -> [Double] {
        guard min.isFinite, max.isFinite else { return [] }
        let low = Swift.min(min, max)
        let high = Swift.max(min, max)
        let raw = (high - low) / Double(Swift.max(1, count - 1))
        guard raw >= 1 else { return nice(min: low, max: high, count: count) }
        // Taking a step a little below the ideal keeps the tick count near `count`.
        guard let step = durationSteps.first(where: { $0 >= raw * 0.8 }) else {
            return nice(min: low / 86_400, max: high / 86_400, count: count).map { $0 * 86_400 }
        }
        let first = Int((low / step).rounded(.down))
        let last = Int((high / step).rounded(.up))
        return (first...last).map { Double($0) * step }
    }

    /// The step nearest `raw` among 1, 2 and 5 × 10ᵏ, as (mantissa, k).
    private static func niceStep(_ raw: Double) -> (Int, Int) {
        guard raw > 0, raw.isFinite else { return (1, 0) }
        let exponent = raw.decimalExponent
        let fraction = raw / Double.powerOfTen(exponent)
        if fraction < 1.5 { return (1, exponent) }
        if fraction < 3 { return (2, exponent) }
        if fraction < 7 { return (5, exponent) }
        return (1, exponent + 1)
    }

    /// A labelled tick on a date axis.
    public struct DateTick: Sendable, Hashable {
        /// Where the tick is.
        public var date: CalendarDay
        /// "Mar 3" for day and week ticks (with the year on the first tick of each year),
        /// "Mar 2025" for month ticks, "2025" for year ticks.
        public var label: String
    }

    private enum Interval {
        case days(Int), weeks(Int), months(Int), years(Int)
    }

    private static let intervals: [Interval] = [
        .days(1), .days(2), .weeks(1), .weeks(2), .months(1), .months(2), .months(3), .months(6),
        .years(1), .years(2), .years(5), .years(10), .years(25), .years(50), .years(100),
    ]

    /// Ticks on calendar boundaries from `start` through `end`: the finest of every day, every
    /// other day, Mondays, every other Monday, first days of months (every 1, 2, 3 or 6) and
    /// of years that gives between 1 and `maxCount` ticks.
    public static func dates(from start: CalendarDay, through end: CalendarDay, maxCount: Int) -> [DateTick] {
        let (first, last) = start <= end ? (start, end) : (end, start)
        for interval in intervals {
            let days = (first.dayNumber...last.dayNumber).lazy.map(CalendarDay.init(dayNumber:)).filter {
                matches($0, interval)
            }
            let count = days.count
            guard count >= 1, count <= Swift.max(1, maxCount) else { continue }
            return label(Array(days), interval)
        }
        return [DateTick(date: first, label: dayLabel(first, withYear: true))]
    }

    private static func matches(_ day: CalendarDay, _ interval: Interval) -> Bool {
        // 1970-01-05, day 4, was a Monday: week numbers count from there.
        let week = (day.dayNumber - 4).floorDivided(by: 7)
        switch interval {
        case .days(let step):
            return day.dayNumber.floorModulo(step) == 0
        case .weeks(let step):
            return day.weekday == 1 && week.floorModulo(step) == 0
        case .months(let step):
            let (_, month, dayOfMonth) = day.components
            return dayOfMonth == 1 && (month - 1) % step == 0
        case .years(let step):
            let (year, month, dayOfMonth) = day.components
            return dayOfMonth == 1 && month == 1 && year.floorModulo(step) == 0
        }
    }

    private static func label(_ days: [CalendarDay], _ interval: Interval) -> [DateTick] {
        var previousYear: Int?
        return days.map { day in
            let (year, month, _) = day.components
            defer { previousYear = year }
            switch interval {
            case .days, .weeks:
                return DateTick(date: day, label: dayLabel(day, withYear: year != previousYear))
            case .months:
                return DateTick(date: day, label: "\(monthNames[month - 1]) \(year)")
            case .years:
                return DateTick(date: day, label: "\(year)")
            }
        }
    }

    static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    /// "Mar 3" or "Mar 3, 2025".
    static func dayLabel(_ day: CalendarDay, withYear: Bool) -> String {
        let (year, month, dayOfMonth) = day.components
        return "\(monthNames[month - 1]) \(dayOfMonth)" + (withYear ? ", \(year)" : "")
    }

    /// "Mon, Mar 3, 2025", for tooltips.
    static func fullDayLabel(_ day: CalendarDay) -> String {
        "\(weekdayNames[day.weekday]), " + dayLabel(day, withYear: true)
    }
}

extension Int {
    func floorModulo(_ divisor: Int) -> Int { ((self % divisor) + divisor) % divisor }
    func floorDivided(by divisor: Int) -> Int { (self - floorModulo(divisor)) / divisor }
}
