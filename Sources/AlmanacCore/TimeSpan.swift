/// A catalog duration such as `90s`, `15m`, `26h`, `7d` or `2w`.
///
/// Kept as whole seconds with the unit it was written in, so that it prints back the way
/// the author wrote it.
public struct TimeSpan: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public enum Unit: String, Sendable, Codable, CaseIterable {
        case seconds = "s", minutes = "m", hours = "h", days = "d", weeks = "w"

        var seconds: Int {
            switch self {
            case .seconds: 1
            case .minutes: 60
            case .hours: 3600
            case .days: 86_400
            case .weeks: 604_800
            }
        }
    }

    public let amount: Int
    public let unit: Unit

    public init(_ amount: Int, _ unit: Unit) {
        self.amount = amount
        self.unit = unit
    }

    /// Parses `"26h"`; returns `nil` for anything else, including zero and negative spans.
    public init?(parsing text: String) {
        guard let last = text.last, let unit = Unit(rawValue: String(last)),
            let amount = Int(text.dropLast()), amount > 0, amount <= 100_000
        else { return nil }
        self.init(amount, unit)
    }

    public var seconds: Int { amount * unit.seconds }
    public var duration: Duration { .seconds(seconds) }
    /// Whole days, rounding down; a window in days is what SQL date arithmetic needs.
    public var days: Int { seconds / 86_400 }
    public var description: String { "\(amount)\(unit.rawValue)" }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.seconds < rhs.seconds }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let span = TimeSpan(parsing: text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "bad duration '\(text)'"))
        }
        self = span
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
