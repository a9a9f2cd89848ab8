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
        }
    }
}

extension Template {
    /// The template as a report for one set of bound values: every filter that names a
    /// parameter gets its value (which the metric compiler binds, never writes into SQL).
    public func report(binding values: [String: FilterValue], title: String? = nil) -> Report {
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
        return Report(
            id: ReportID(id.rawValue), title: title ?? self.title, description: description, owner: owner,
            status: .active, schedule: nil, grain: grain, range: range, tags: tags, links: [], panels: panels,
            access: access)
    }
}
