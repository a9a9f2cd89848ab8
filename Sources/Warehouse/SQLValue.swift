public import AlmanacCore
public import Catalog
import Foundation

/// A value bound to a statement parameter or read from a result cell.
public enum SQLValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case integer(Int64)
    case double(Double)
    case text(String)
    case bool(Bool)

    public var description: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .text(let value): "'\(value.replacingOccurrences(of: "'", with: "''"))'"
        case .bool(let value): value ? "TRUE" : "FALSE"
        }
    }

    public var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .double(let value): value
        case .text(let value): Double(value)
        case .bool(let value): value ? 1 : 0
        case .null: nil
        }
    }

    public var textValue: String? {
        switch self {
        case .null: nil
        case .text(let value): value
        case .integer(let value): String(value)
        case .double(let value): String(value)
        case .bool(let value): String(value)
        }
    }
}

/// A statement ready to run: SQL whose only non-keyword text is validated identifiers, and
/// the values for its placeholders.
public struct CompiledStatement: Sendable, Hashable {
    /// What the statement computes for a metric.
    public enum Role: String, Sendable, Hashable {
        case value, numerator, denominator
    }
    public var role: Role
    public var sql: String
    public var parameters: [SQLValue]
    /// The names of the result columns, in order: `period`, optionally `dimension`, `value`.
    public var columns: [String]

    public init(role: Role, sql: String, parameters: [SQLValue], columns: [String]) {
        self.role = role
        self.sql = sql
        self.parameters = parameters
        self.columns = columns
    }

    /// The SQL with its parameters listed after it, for people to read (glossary, logs).
    public var annotated: String {
        parameters.isEmpty
            ? sql
            : sql + "\n-- parameters: "
                + parameters.enumerated().map { "\($0.offset + 1) = \($0.element)" }.joined(separator: ", ")
    }
}

/// An inclusive range of days.
public struct DateRange: Sendable, Hashable, CustomStringConvertible {
    public var start: CalendarDay
    public var end: CalendarDay

    public init(start: CalendarDay, end: CalendarDay) {
        self.start = start
        self.end = end
    }

    public var days: Int { end.dayNumber - start.dayNumber + 1 }
    public var description: String { "\(start)…\(end)" }

    /// The range of whole periods of `grain` that ends with the period holding `asOf` and
    /// covers at least `span`; for a week grain it starts on a Monday.
    public static func ending(on asOf: CalendarDay, covering span: TimeSpan, grain: TimeGrain) -> DateRange {
        let rawStart = asOf.adding(days: -(max(span.days, 1) - 1))
        return DateRange(start: Periods.start(of: rawStart, grain: grain), end: asOf)
    }

    /// The same-length range right before this one (for windows of days, such as triggers').
    public var previous: DateRange {
        DateRange(start: start.adding(days: -days), end: start.adding(days: -1))
    }

    /// The range whole periods of `grain` before this one, so that each period meets one like
    /// it: n weeks back for n weeks, n months back for n months, and for n days the smallest
    /// whole number of weeks covering them (weekdays line up). The range's last day moves by
    /// the same amount, so an unfinished last period meets the same elapsed days of its
    /// counterpart. The range starts on a period boundary (``ending(on:covering:grain:)``).
    public func previous(grain: TimeGrain) -> DateRange {
        let periods = Periods.starts(in: self, grain: grain).count
        switch grain {
        case .day:
            let shift = 7 * ((periods + 6) / 7)
            return DateRange(start: start.adding(days: -shift), end: end.adding(days: -shift))
        case .week:
            return DateRange(start: start.adding(days: -7 * periods), end: end.adding(days: -7 * periods))
        case .month:
            return DateRange(
                start: Periods.shift(start, months: -periods), end: Periods.shift(end, months: -periods))
        }
    }

    /// How much of the range's last period of `grain` has passed: its first day, the days
    /// elapsed and the days it has in all; `nil` when the range ends with a whole period.
    public func unfinishedPeriod(grain: TimeGrain) -> (start: CalendarDay, elapsed: Int, length: Int)? {
        let last = Periods.start(of: end, grain: grain)
        let full = Periods.end(ofPeriodStarting: last, grain: grain)
        guard end < full else { return nil }
        return (last, end.dayNumber - last.dayNumber + 1, full.dayNumber - last.dayNumber + 1)
    }

    /// This range a year earlier: 364 days back for day and week grains (so weekdays line
    /// up), twelve calendar months back for a month grain.
    public func previousYear(grain: TimeGrain) -> DateRange {
        switch grain {
        case .day, .week:
            return DateRange(start: start.adding(days: -364), end: end.adding(days: -364))
        case .month:
            return DateRange(start: Periods.shift(start, months: -12), end: Periods.shift(end, months: -12))
        }
    }
}

/// Period arithmetic shared by the compiler (bucketing) and the evaluator (filling gaps).
public enum Periods {
    /// The first day of the period of `grain` that holds `day` (weeks start on Monday).
    public static func start(of day: CalendarDay, grain: TimeGrain) -> CalendarDay {
        switch grain {
        case .day:
            return day
        case .week:
            return day.adding(days: -((day.weekday + 6) % 7))
        case .month:
            let (year, month, _) = day.components
            return CalendarDay(year: year, month: month, day: 1)!
        }
    }

    /// The last day of the period that starts on `start`.
    public static func end(ofPeriodStarting start: CalendarDay, grain: TimeGrain) -> CalendarDay {
        switch grain {
        case .day: start
        case .week: start.adding(days: 6)
        case .month: shift(start, months: 1).adding(days: -1)
        }
    }

    /// The starts of every period that overlaps `range`, in order.
    public static func starts(in range: DateRange, grain: TimeGrain) -> [CalendarDay] {
        var result: [CalendarDay] = []
        var current = start(of: range.start, grain: grain)
        while current <= range.end {
            result.append(current)
            current = end(ofPeriodStarting: current, grain: grain).adding(days: 1)
        }
        return result
    }

    public static func shift(_ day: CalendarDay, months: Int) -> CalendarDay {
        let (year, month, dayOfMonth) = day.components
        let index = year * 12 + (month - 1) + months
        let newYear = index / 12
        let newMonth = index % 12 + 1
        return CalendarDay(
            year: newYear, month: newMonth, day: min(dayOfMonth, CalendarDay.daysIn(month: newMonth, year: newYear)))!
    }
}
