import AlmanacCore
import Yams

/// Reads one catalog file's YAML tree into model values, recording where each value
/// was written and every problem found, without stopping at the first one.
///
/// Every key a decoder asks for, present or not, counts as known; whatever else a
/// mapping holds is reported as an unknown key with a "did you mean" suggestion. This
/// keeps the list of allowed keys in one place: the decoder itself.
final class YAMLReader {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []
    private(set) var locations: [String: SourceLocation] = [:]

    init(file: String) {
        self.file = file
    }

    func location(of node: Node?) -> SourceLocation {
        guard let mark = node?.mark else { return SourceLocation(file: file) }
        return SourceLocation(file: file, line: mark.line, column: mark.column)
    }

    func error(_ message: String, at node: Node?, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, at: location(of: node), message, hint: hint))
    }

    func error(_ message: String, at location: SourceLocation, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, at: location, message, hint: hint))
    }

    func record(_ path: String, _ node: Node) {
        locations[path] = location(of: node)
    }

    /// Parses `text`; reports a syntax error with its position and returns `nil` on failure.
    func root(yaml text: String) -> MappingReader? {
        let node: Node?
        do {
            // NB: the basic resolver leaves every scalar as text (Almanac types values itself), and
            // an explicit encoding spares Yams reading the environment on every file; together
            // they make parsing about three times faster than the defaults.
            node = try Yams.compose(yaml: text, .basic, .default, .utf8)
        } catch let error as YamlError {
            reportSyntaxError(error)
            return nil
        } catch {
            self.error("cannot parse YAML: \(error)", at: SourceLocation(file: file))
            return nil
        }
        guard let node else {
            self.error("file is empty; expected a mapping of keys to values", at: SourceLocation(file: file))
            return nil
        }
        guard let mapping = node.mapping else {
            self.error("expected a mapping of keys to values at the top of the file", at: node)
            return nil
        }
        return MappingReader(reader: self, mapping: mapping, node: node, path: "")
    }

    private func reportSyntaxError(_ error: YamlError) {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            self.error(
                "YAML syntax error: \(problem)", at: SourceLocation(file: file, line: mark.line, column: mark.column),
                hint: "check indentation and quoting near this position")
        case .duplicatedKeysInMapping(let duplicates, let context):
            self.error(
                "duplicate key\(duplicates.count == 1 ? "" : "s") \(duplicates.map { "'\($0)'" }.joined(separator: ", ")) in a mapping",
                at: SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                hint: "each key may appear once; remove or rename the repeated one")
        default:
            self.error("cannot read YAML: \(error)", at: SourceLocation(file: file))
        }
    }
}

/// A view of one YAML mapping that remembers which keys were asked for.
final class MappingReader {
    let reader: YAMLReader
    let mapping: Node.Mapping
    let node: Node
    let path: String
    private var asked: [String] = []
    /// Values by key text, built once: `Node.Mapping`'s subscript scans and compares nodes.
    private let values: [String: Node]

    init(reader: YAMLReader, mapping: Node.Mapping, node: Node, path: String) {
        self.reader = reader
        self.mapping = mapping
        self.node = node
        self.path = path
        var values: [String: Node] = [:]
        for (key, value) in mapping {
            if let text = key.scalar?.string, values[text] == nil { values[text] = value }
        }
        self.values = values
    }

    /// The value node for `key` without recording anything (for positions in messages).
    subscript(key: String) -> Node? { values[key] }

    var location: SourceLocation { reader.location(of: node) }

    func childPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The value node for `key`, recording the key as known and the value's position.
    func node(_ key: String) -> Node? {
        asked.append(key)
        guard let value = values[key] else { return nil }
        reader.record(childPath(key), value)
        // `key:` with nothing after it counts as absent.
        if value.scalar.map({ $0.string.isEmpty && $0.style == .plain }) == true { return nil }
        return value
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    /// The mapping's keys in file order.
    var keys: [String] { mapping.compactMap { $0.key.scalar?.string } }

    private func missing(_ key: String, _ what: String) {
        reader.error(
            "missing required key '\(key)'\(path.isEmpty ? "" : " in '\(path)'") (\(what))", at: node)
    }

    func string(_ key: String, required: Bool = false, what: String = "a text value") -> String? {
        guard let value = node(key) else {
            if required { missing(key, what) }
            return nil
        }
        guard let scalar = value.scalar else {
            reader.error("'\(childPath(key))' must be \(what), not a \(value.kindName)", at: value)
            return nil
        }
        let limit = TextLimits.maximum(for: key)
        let length = scalar.string.count
        guard length <= limit else {
            reader.error(
                "'\(childPath(key))' is \(length) characters long; at most \(limit) are allowed", at: value,
                hint: "shorten it; longer explanations belong in a linked document")
            return nil
        }
        return scalar.string
    }

    func int(_ key: String, required: Bool = false, in range: ClosedRange<Int>? = nil) -> Int? {
        guard let value = node(key) else {
            if required { missing(key, "a whole number") }
            return nil
        }
        guard let text = value.scalar?.string, let number = Int(text) else {
            reader.error("'\(childPath(key))' must be a whole number, got \(value.shortDescription)", at: value)
            return nil
        }
        if let range, !range.contains(number) {
            reader.error(
                "'\(childPath(key))' is \(number); it must be between \(range.lowerBound) and \(range.upperBound)",
                at: value)
            return nil
        }
        return number
    }

    func double(_ key: String, required: Bool = false) -> Double? {
        guard let value = node(key) else {
            if required { missing(key, "a number") }
            return nil
        }
        guard let text = value.scalar?.string, let number = Double(text.hasSuffix("%") ? String(text.dropLast()) : text)
        else {
            reader.error("'\(childPath(key))' must be a number, got \(value.shortDescription)", at: value)
            return nil
        }
        return text.hasSuffix("%") ? number / 100 : number
    }

    func bool(_ key: String) -> Bool? {
        guard let value = node(key) else { return nil }
        switch value.scalar?.string.lowercased() {
        case "true"?: return true
        case "false"?: return false
        default:
            reader.error(
                "'\(childPath(key))' must be true or false, got \(value.shortDescription)", at: value)
            return nil
        }
    }

    func enumeration<E: RawRepresentable & CaseIterable>(
        _ key: String, _ type: E.Type, required: Bool = false
    )
        -> E? where E.RawValue == String
    {
        guard let text = string(key, required: required, what: "one of \(E.choices)") else { return nil }
        if let value = E(rawValue: text) { return value }
        let choices = E.allCases.map(\.rawValue)
        reader.error(
            "'\(childPath(key))' is '\(text)'; expected one of \(E.choices)", at: values[key],
            hint: closestMatch(to: text, in: choices).map { "did you mean '\($0)'?" })
        return nil
    }

    /// A catalog id (lower case); reports malformed ids.
    func id<Kind>(
        _ key: String, required: Bool = false, as: Identifier<Kind>.Type = Identifier<Kind>.self
    )
        -> Identifier<Kind>?
    {
        guard let text = string(key, required: required, what: "an id") else { return nil }
        guard Identifier<Kind>.isValid(text) else {
            reader.error(
                "'\(childPath(key))' is '\(text)', which is not a valid id", at: values[key],
                hint: "ids are lower case letters, digits, '-' and '_', starting with a letter (at most 64)")
            return nil
        }
        return Identifier(text)
    }

    func sqlIdentifier(_ key: String, required: Bool = false, qualified: Bool = false) -> SQLIdentifier? {
        guard let text = string(key, required: required, what: "a table or column name") else { return nil }
        return checkedIdentifier(text, at: values[key], path: childPath(key), qualified: qualified)
    }

    func checkedIdentifier(_ text: String, at node: Node?, path: String, qualified: Bool = false) -> SQLIdentifier? {
        if let identifier = SQLIdentifier(text, allowQualified: qualified) { return identifier }
        let reserved = SQLIdentifier.reservedWords.contains(text.lowercased())
        reader.error(
            "'\(path)' is '\(text)', which is not a safe SQL identifier",
            at: node,
            hint: reserved
                ? "'\(text)' is an SQL keyword; rename the column in the warehouse or use a view"
                : "use letters, digits and '_' (starting with a letter or '_')\(qualified ? ", optionally schema.table" : "")"
        )
        return nil
    }

    func timeSpan(_ key: String, required: Bool = false) -> TimeSpan? {
        guard let text = string(key, required: required, what: "a duration such as 26h or 7d") else { return nil }
        guard let span = TimeSpan(parsing: text) else {
            reader.error(
                "'\(childPath(key))' is '\(text)', which is not a duration", at: values[key],
                hint: "write a positive whole number and a unit: s, m, h, d or w (for example 26h, 7d, 2w)")
            return nil
        }
        return span
    }

    func day(_ key: String, required: Bool = false) -> CalendarDay? {
        guard let text = string(key, required: required, what: "a date (YYYY-MM-DD)") else { return nil }
        guard let day = CalendarDay(parsing: text) else {
            reader.error("'\(childPath(key))' is '\(text)', which is not a date; write YYYY-MM-DD", at: values[key])
            return nil
        }
        return day
    }

    func stringList(_ key: String) -> [String] {
        guard let value = node(key) else { return [] }
        if let scalar = value.scalar { return [scalar.string] }  // a single value is a list of one
        guard let sequence = value.sequence else {
            reader.error("'\(childPath(key))' must be a list", at: value)
            return []
        }
        var result: [String] = []
        for (index, item) in sequence.enumerated() {
            guard let scalar = item.scalar else {
                reader.error("'\(childPath(key))[\(index)]' must be a text value, not a \(item.kindName)", at: item)
                continue
            }
            reader.record("\(childPath(key))[\(index)]", item)
            result.append(scalar.string)
        }
        return result
    }

    func idList<Kind>(_ key: String, as: Identifier<Kind>.Type = Identifier<Kind>.self) -> [Identifier<Kind>] {
        let items = stringList(key)
        var result: [Identifier<Kind>] = []
        for (index, text) in items.enumerated() {
            if Identifier<Kind>.isValid(text) {
                result.append(Identifier(text))
            } else {
                reader.error(
                    "'\(childPath(key))[\(index)]' is '\(text)', which is not a valid id",
                    at: reader.locations["\(childPath(key))[\(index)]"] ?? location)
            }
        }
        return result
    }

    func mappingReader(_ key: String, required: Bool = false) -> MappingReader? {
        guard let value = node(key) else {
            if required { missing(key, "a mapping") }
            return nil
        }
        guard let mapping = value.mapping else {
            reader.error("'\(childPath(key))' must be a mapping of keys to values, not a \(value.kindName)", at: value)
            return nil
        }
        return MappingReader(reader: reader, mapping: mapping, node: value, path: childPath(key))
    }

    /// Reads each element of the list under `key` as a mapping.
    func list<T>(_ key: String, _ read: (MappingReader) -> T?) -> [T] {
        guard let value = node(key) else { return [] }
        guard let sequence = value.sequence else {
            reader.error("'\(childPath(key))' must be a list, not a \(value.kindName)", at: value)
            return []
        }
        var result: [T] = []
        for (index, item) in sequence.enumerated() {
            let itemPath = "\(childPath(key))[\(index)]"
            reader.record(itemPath, item)
            guard let mapping = item.mapping else {
                reader.error("'\(itemPath)' must be a mapping of keys to values, not a \(item.kindName)", at: item)
                continue
            }
            let child = MappingReader(reader: reader, mapping: mapping, node: item, path: itemPath)
            if let value = read(child) { result.append(value) }
            child.reportUnknownKeys()
        }
        return result
    }

    /// Reports every key of this mapping that no decoder asked for.
    func reportUnknownKeys() {
        let known = Set(asked)
        for (keyNode, _) in mapping {
            let key = keyNode.scalar?.string ?? keyNode.shortDescription
            guard !known.contains(key) else { continue }
            reader.error(
                "unknown key '\(key)'\(path.isEmpty ? "" : " in '\(path)'")", at: keyNode,
                hint: closestMatch(to: key, in: known).map { "did you mean '\($0)'?" }
                    ?? "known keys here: \(asked.joined(separator: ", "))")
        }
    }
}

extension CaseIterable where Self: RawRepresentable, RawValue == String {
    static var choices: String { allCases.map(\.rawValue).joined(separator: " | ") }
}

extension Node {
    var kindName: String {
        switch self {
        case .scalar: "single value"
        case .mapping: "mapping"
        case .sequence: "list"
        case .alias: "alias"
        }
    }

    var shortDescription: String {
        if let scalar { return "'\(scalar.string)'" }
        return "a \(kindName)"
    }
}

/// How long catalog text may be, in characters: titles and names are shown in lists and
/// headings, descriptions on pages and in search results. Documented in docs/catalog.md.
public enum TextLimits {
    /// `title`, `name`, `label`.
    public static let title = 200
    /// `description`, `status_reason`.
    public static let description = 4_000
    /// Any other text value (queries, URLs, synonyms, …).
    public static let other = 2_000
    /// A catalog file, in bytes.
    public static let fileBytes = 1 << 20

    static func maximum(for key: String) -> Int {
        switch key {
        case "title", "name", "label": title
        case "description", "status_reason": description
        default: other
        }
    }
}
