/// A table or column name that is safe to write into SQL.
///
/// Almanac never interpolates values into SQL; the only text it writes into a statement
/// besides keywords are identifiers, and those exist only as `SQLIdentifier`s, which can
/// only be made from names that passed validation. A name is one or two dot-separated
/// parts of `[A-Za-z_][A-Za-z0-9_]*` (at most 63 bytes each) and not an SQL keyword.
public struct SQLIdentifier: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The parts of a possibly schema-qualified name, e.g. `["analytics", "events"]`.
    public let parts: [String]

    /// Validates `name`, or returns `nil` if it is not a safe identifier.
    public init?(_ name: String, allowQualified: Bool = false) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard !parts.isEmpty, parts.count <= (allowQualified ? 2 : 1),
            parts.allSatisfy({ Self.isSafePart($0) })
        else { return nil }
        self.parts = parts
    }

    /// The name as written in the catalog.
    public var name: String { parts.joined(separator: ".") }
    public var description: String { name }

    /// The name double-quoted for SQL, which both SQLite and PostgreSQL accept.
    public var quoted: String { parts.map { "\"\($0)\"" }.joined(separator: ".") }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = SQLIdentifier(text, allowQualified: true) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "unsafe SQL identifier '\(text)'"))
        }
        self = value
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    static func isSafePart(_ part: String) -> Bool {
        let bytes = Array(part.utf8)
        guard let first = bytes.first, bytes.count <= 63, isLetter(first) || first == UInt8(ascii: "_") else {
            return false
        }
        guard bytes.allSatisfy({ isLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }) else { return false }
        return !reservedWords.contains(part.lowercased())
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// Words reserved in SQLite or PostgreSQL that would change a statement's meaning unquoted
    /// or confuse readers quoted; refusing them keeps catalog SQL boring.
    public static let reservedWords: Set<String> = [
        "all", "alter", "and", "any", "as", "asc", "between", "by", "case", "cast", "check", "collate", "column",
        "constraint", "create", "cross", "current_date", "current_time", "current_timestamp", "default", "delete",
        "desc", "distinct", "drop", "else", "end", "except", "exists", "false", "fetch", "for", "foreign", "from",
        "full", "grant", "group", "having", "in", "inner", "insert", "intersect", "into", "is", "join", "left",
        "like", "limit", "natural", "not", "null", "offset", "on", "or", "order", "outer", "primary", "references",
        "right", "select", "set", "table", "then", "to", "true", "union", "unique", "update", "using", "values",
        "when", "where", "with",
    ]
}
