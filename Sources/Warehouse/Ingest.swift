public import AlmanacCore
public import Catalog
public import Foundation

/// A row of an export that does not fit its source, named by file, line, column and value.
public struct IngestError: AlmanacError, Sendable, Equatable {
    public var file: String
    public var line: Int
    public var column: String?
    public var value: String?
    public var problem: String

    public var userMessage: String {
        var text = "\(file):\(line): "
        if let column { text += "column '\(column)': " }
        if let value { text += "'\(value)' " }
        return text + problem
    }
}

/// Reads CSV and JSON Lines exports (a CRM list, an ad platform report) into typed rows for
/// a catalog source, checking every value against the source's declared column types.
///
/// The whole file is checked before anything is written, so a bad row never leaves half
/// an export in the warehouse.
public enum Ingest {
    public enum Format: String, Sendable, CaseIterable {
        case csv, jsonl
    }

    /// The columns named by the file (in file order) and its rows converted to the declared types.
    public struct Parsed: Sendable {
        public var columns: [String]
        public var rows: [[SQLValue]]
    }

    public static func parse(_ data: Data, file: String, format: Format, source: Source) throws(IngestError) -> Parsed {
        guard let text = String(data: data, encoding: .utf8) else {
            throw IngestError(file: file, line: 1, column: nil, value: nil, problem: "the file is not valid UTF-8")
        }
        switch format {
        case .csv: return try parseCSV(text, file: file, source: source)
        case .jsonl: return try parseJSONLines(text, file: file, source: source)
        }
    }

    static func declared(_ names: [String], file: String, source: Source) throws(IngestError) -> [Source.Column] {
        var columns: [Source.Column] = []
        for name in names {
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard let column = source.column(named: trimmed) else {
                let hint =
                    closestMatch(to: trimmed, in: source.columns.map(\.name.name)).map { "; did you mean '\($0)'?" }
                    ?? ""
                throw IngestError(
                    file: file, line: 1, column: trimmed, value: nil,
                    problem: "is not a declared column of source '\(source.id)'\(hint)")
            }
            if columns.contains(where: { $0.name == column.name }) {
                throw IngestError(
                    file: file, line: 1, column: trimmed, value: nil, problem: "appears twice in the header")
            }
            columns.append(column)
        }
        guard !columns.isEmpty else {
            throw IngestError(file: file, line: 1, column: nil, value: nil, problem: "the file names no columns")
        }
        return columns
    }

    static func parseCSV(_ text: String, file: String, source: Source) throws(IngestError) -> Parsed {
        let records = try CSV.records(text, file: file)
        guard let header = records.first else {
            throw IngestError(
                file: file, line: 1, column: nil, value: nil, problem: "the file is empty; expected a header row")
        }
        let columns = try declared(header.fields, file: file, source: source)
        var rows: [[SQLValue]] = []
        for record in records.dropFirst() {
            if record.fields == [""] { continue }  // blank line
            guard record.fields.count == columns.count else {
                throw IngestError(
                    file: file, line: record.line, column: nil, value: nil,
                    problem: "has \(record.fields.count) fields; the header has \(columns.count)")
            }
            var row: [SQLValue] = []
            for (field, column) in zip(record.fields, columns) {
                row.append(try convert(field.isEmpty ? nil : field, column, file: file, line: record.line))
            }
            rows.append(row)
        }
        return Parsed(columns: columns.map(\.name.name), rows: rows)
    }

    static func parseJSONLines(_ text: String, file: String, source: Source) throws(IngestError) -> Parsed {
        var columns: [Source.Column] = []
        var objects: [(line: Int, object: [String: Any])] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] else {
                throw IngestError(
                    file: file, line: index + 1, column: nil, value: nil, problem: "is not a JSON object on one line")
            }
            for key in object.keys.sorted() where !columns.contains(where: { $0.name.name == key }) {
                guard let column = source.column(named: key) else {
                    let hint =
                        closestMatch(to: key, in: source.columns.map(\.name.name)).map { "; did you mean '\($0)'?" }
                        ?? ""
                    throw IngestError(
                        file: file, line: index + 1, column: key, value: nil,
                        problem: "is not a declared column of source '\(source.id)'\(hint)")
                }
                columns.append(column)
            }
            objects.append((index + 1, object))
        }
        var rows: [[SQLValue]] = []
        for (line, object) in objects {
            var row: [SQLValue] = []
            for column in columns {
                let raw = object[column.name.name]
                let text: String?
                switch raw {
                case nil, is NSNull: text = nil
                case let string as String: text = string
                case let number as NSNumber:
                    // NSNumber hides JSON booleans; CFBoolean's type id tells them apart.
                    if String(cString: number.objCType) == "c" || column.type == .boolean {
                        text = number.boolValue ? "true" : "false"
                    } else {
                        text = number.stringValue
                    }
                default:
                    throw IngestError(
                        file: file, line: line, column: column.name.name, value: "\(raw!)",
                        problem: "is not a single value (objects and arrays cannot be loaded)")
                }
                row.append(try convert(text, column, file: file, line: line))
            }
            rows.append(row)
        }
        return Parsed(columns: columns.map(\.name.name), rows: rows)
    }

    /// Converts one field to the column's type, or names what is wrong with it.
    static func convert(
        _ text: String?, _ column: Source.Column, file: String, line: Int
    ) throws(IngestError) -> SQLValue {
        guard let text else { return .null }
        func bad(_ problem: String) -> IngestError {
            IngestError(file: file, line: line, column: column.name.name, value: text, problem: problem)
        }
        switch column.type {
        case .string:
            return .text(text)
        case .integer:
            guard let value = Int64(text.trimmingCharacters(in: .whitespaces)) else {
                throw bad("is not a whole number")
            }
            return .integer(value)
        case .number:
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw bad("is not a number")
            }
            return .double(value)
        case .boolean:
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "true", "t", "1", "yes", "y": return .bool(true)
            case "false", "f", "0", "no", "n": return .bool(false)
            default: throw bad("is not true or false")
            }
        case .date:
            guard CalendarDay(parsing: text) != nil else { throw bad("is not a date (YYYY-MM-DD)") }
            return .text(text)
        case .timestamp:
            guard let normalized = normalizeTimestamp(text) else {
                throw bad("is not a timestamp (YYYY-MM-DD HH:MM:SS, or ISO 8601 with Z or an offset such as -05:00)")
            }
            return .text(normalized)
        }
    }

    /// `2026-11-25 14:03:00`, ISO 8601 (`2026-11-25T14:03:00Z`, `2013-01-01T05:15:00-05:00`,
    /// `…+0530`, fractional seconds) or a bare date → `YYYY-MM-DD HH:MM:SS` in UTC. A value
    /// without a zone is taken as UTC.
    ///
    /// Foundation's `Date.ISO8601FormatStyle` is not used because it accepts too much for a
    /// loader. It reads `T5:15:00Z` (an hour of one digit) and `+05:3`, which it takes as
    /// +05:03 and so stores a wrong time. It also reads neither a space between date
    /// and time nor a value without a zone. Both kinds appear in exports.
    static func normalizeTimestamp(_ text: String) -> String? {
        let value = text.trimmingCharacters(in: .whitespaces)
        if value.count == 10, CalendarDay(parsing: value) != nil { return value + " 00:00:00" }
        guard value.count >= 19 else { return nil }
        let date = String(value.prefix(10))
        let separator = value[value.index(value.startIndex, offsetBy: 10)]
        let time = value.dropFirst(11).prefix(8)
        guard let day = CalendarDay(parsing: date), separator == " " || separator == "T" || separator == "t" else {
            return nil
        }
        let parts = time.split(separator: ":")
        guard parts.count == 3, parts.allSatisfy({ $0.count == 2 }), let h = Int(parts[0]), let m = Int(parts[1]),
            let s = Int(parts[2]), (0..<24).contains(h), (0..<60).contains(m), (0..<61).contains(s)
        else { return nil }
        var rest = value.dropFirst(19)
        if rest.first == "." {  // fractional seconds are dropped
            rest = rest.dropFirst()
            guard rest.first?.isASCII == true, rest.first?.isNumber == true else { return nil }
            rest = rest.drop { $0.isASCII && $0.isNumber }
        }
        var offset = 0
        if rest == "Z" || rest == "z" {
            rest = ""
        } else if let sign = rest.first, sign == "+" || sign == "-" {
            let digits = rest.dropFirst()
            let compact = digits.filter { $0 != ":" }
            guard [2, 4].contains(compact.count), compact.allSatisfy({ $0.isASCII && $0.isNumber }),
                digits.count == compact.count || (digits.count == 5 && digits.dropFirst(2).first == ":"),
                let hours = Int(compact.prefix(2)),
                let minutes = Int(compact.dropFirst(2).isEmpty ? "0" : compact.dropFirst(2)),
                hours <= 18, minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (sign == "+" ? 1 : -1)
            rest = ""
        }
        guard rest.isEmpty else { return nil }
        if offset == 0 { return "\(date) \(time)" }
        // Local time minus its offset is UTC.
        let seconds = day.dayNumber * 86_400 + h * 3600 + m * 60 + min(s, 59) - offset
        return LocalTime.utcText(Date(timeIntervalSince1970: Double(seconds)))
    }
}

/// RFC 4180 CSV: quoted fields, doubled quotes, line breaks inside quotes.
public enum CSV {
    /// One record and the line it starts on.
    public struct Record: Equatable, Sendable {
        public var line: Int
        public var fields: [String]
    }

    /// The records of `text`; `file` names it in errors.
    public static func records(_ text: String, file: String) throws(IngestError) -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var recordLine = 1
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let scalar = pending {
                pending = nil
                return scalar
            }
            return iterator.next()
        }
        while let scalar = next() {
            if inQuotes {
                if scalar == "\"" {
                    let following = next()
                    if following == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        inQuotes = false
                        pending = following
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty:
                inQuotes = true
            case ",":
                fields.append(field)
                field = ""
            case "\r":
                continue
            case "\n":
                fields.append(field)
                records.append(Record(line: recordLine, fields: fields))
                fields = []
                field = ""
                line += 1
                recordLine = line
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes {
            throw IngestError(
                file: file, line: recordLine, column: nil, value: nil, problem: "has a quote that is never closed")
        }
        if !field.isEmpty || !fields.isEmpty {
            fields.append(field)
            records.append(Record(line: recordLine, fields: fields))
        }
        return records
    }
}
