public import AlmanacCore
import Foundation

/// A template parameter's value that cannot be used, naming the parameter and what it accepts.
public struct ParameterError: AlmanacError, Hashable, Sendable {
    public var parameter: String
    public var userMessage: String
    public var hint: String?

    public init(parameter: String, _ message: String, hint: String? = nil) {
        self.parameter = parameter
        userMessage = message
        self.hint = hint
    }
}

extension Template {
    /// Checks `values` (from a URL's query) against the template's parameters and returns
    /// each one typed, defaults filled in. Unknown names are refused, so a typo in a shared
    /// URL does not silently show the default.
    public func bind(_ values: [String: String]) throws(ParameterError) -> [String: FilterValue] {
        for name in values.keys.sorted() where !parameters.contains(where: { $0.name == name }) {
            throw ParameterError(
                parameter: name, "not a parameter of template '\(id)'",
                hint: "its parameters are \(parameters.map(\.name).joined(separator: ", "))")
        }
        var bound: [String: FilterValue] = [:]
        for parameter in parameters {
            let given = values[parameter.name].flatMap { $0.isEmpty ? nil : $0 }
            guard let text = given ?? parameter.defaultValue else {
                if parameter.required {
                    throw ParameterError(
                        parameter: parameter.name, "required (\(parameter.label))",
                        hint: "add ?\(parameter.name)=… to the URL")
                }
                continue
            }
            bound[parameter.name] = try parameter.typed(text)
        }
        return bound
    }
}

extension Parameter {
    /// `text` as this parameter's type.
    public func typed(_ text: String) throws(ParameterError) -> FilterValue {
        guard text.count <= 200 else { throw ParameterError(parameter: name, "longer than 200 characters") }
        switch type {
        case .string:
            return .string(text)
        case .integer:
            guard let value = Int(text) else {
                throw ParameterError(parameter: name, "'\(text)' is not a whole number")
            }
            return .integer(value)
        case .date:
            guard CalendarDay(parsing: text) != nil else {
                throw ParameterError(parameter: name, "'\(text)' is not a date (YYYY-MM-DD)")
            }
            return .string(text)
        case .enum:
            guard values.contains(text) else {
                throw ParameterError(
                    parameter: name, "'\(text)' is not one of \(values.joined(separator: ", "))")
            }
            return .string(text)
        case .entity:
            // Matched against the entity's source later (`EntityResolver`): a value can only be
            // known to exist by asking the warehouse.
            return .string(text)
        case .dateRange:
            guard let range = DateRangeValue(parsing: text) else {
                throw ParameterError(parameter: name, "'\(text)' is not a date range", hint: DateRangeValue.accepted)
            }
            return .string(range.description)
        }
    }
}

/// A `date_range` parameter's value: the last so many days, weeks, months or years up to
/// the data's last day, or two dates.
public enum DateRangeValue: Hashable, Sendable, CustomStringConvertible {
    public enum Unit: String, Hashable, Sendable {
        case days = "d", weeks = "w", months = "m", years = "y"
    }
    case last(Int, Unit)
    case between(CalendarDay, CalendarDay)

    /// What the parameter accepts, for error messages.
    public static let accepted =
        "write 90d, 12w, 6m or 1y (ending on the data's last day) or 2026-01-01..2026-03-31, at most 10 years"

    public init?(parsing text: String) {
        let parts = text.components(separatedBy: "..")
        if parts.count == 2 {
            guard let start = CalendarDay(parsing: parts[0]), let end = CalendarDay(parsing: parts[1]), start <= end,
                end.dayNumber - start.dayNumber < 3_660
            else { return nil }
            self = .between(start, end)
            return
        }
        guard let unit = text.last.flatMap({ Unit(rawValue: String($0)) }), let count = Int(text.dropLast()),
            count > 0
        else { return nil }
        let limit =
            switch unit {
            case .days: 3_660
            case .weeks: 520
            case .months: 120
            case .years: 10
            }
        guard count <= limit else { return nil }
        self = .last(count, unit)
    }

    public var description: String {
        switch self {
        case .last(let count, let unit): "\(count)\(unit.rawValue)"
        case .between(let start, let end): "\(start)..\(end)"
        }
    }

    /// The days covered when the data ends on `asOf`; months and years are calendar ones.
    public func days(endingOn asOf: CalendarDay) -> ClosedRange<CalendarDay> {
        switch self {
        case .between(let start, let end):
            return start...end
        case .last(let count, .days):
            return asOf.adding(days: -(count - 1))...asOf
        case .last(let count, .weeks):
            return asOf.adding(days: -(7 * count - 1))...asOf
        case .last(let count, let unit):
            let months = unit == .years ? 12 * count : count
            let (year, month, day) = asOf.components
            let total = year * 12 + (month - 1) - months
            let (startYear, startMonth) = (total / 12, total % 12 + 1)
            let startDay = min(day, CalendarDay.daysIn(month: startMonth, year: startYear))
            let start = CalendarDay(year: startYear, month: startMonth, day: startDay) ?? asOf
            return start.adding(days: 1)...asOf
        }
    }
}

extension Template {
    /// The template as a report for one set of bound values: every filter that names a
    /// parameter gets its value (which the metric compiler binds, never writes into SQL).
    /// A `date_range` parameter's value sets the report's days, counted back from `asOf`.
    public func report(binding values: [String: FilterValue], title: String? = nil, asOf: CalendarDay? = nil) -> Report
    {
        let panels = panels.map { panel -> Panel in
            var panel = panel
            panel.filters = panel.filters.map { filter in
                guard let name = filter.parameter, let value = values[name] else { return filter }
                var bound = filter
                bound.value = value
                return bound
            }
            return panel
        }
        var report = Report(
            id: ReportID(id.rawValue), title: title ?? self.title, description: description, owner: owner,
            status: .active, schedule: nil, grain: grain, range: range, tags: tags, links: [], panels: panels,
            access: access)
        if let asOf, let parameter = parameters.first(where: { $0.type == .dateRange }),
            case .string(let text)? = values[parameter.name], let value = DateRangeValue(parsing: text)
        {
            report.fixedRange = value.days(endingOn: asOf)
        }
        return report
    }
}
