/// A typed identifier: a `MetricID` cannot be passed where a `ReportID` is expected.
///
/// Catalog ids are lower case (`^[a-z][a-z0-9_-]{0,63}$`), which makes them safe in URLs,
/// file names and log lines without escaping.
public struct Identifier<Kind>: RawRepresentable, Hashable, Comparable, Sendable, Codable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Whether `text` is a well-formed catalog id.
    public static func isValid(_ text: String) -> Bool {
        guard let first = text.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            text.utf8.count <= 64
        else { return false }
        return text.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }
}

/// Phantom kinds for ``Identifier``.
public enum IDKind {
    public enum Team {}
    public enum Source {}
    public enum Metric {}
    public enum Report {}
    public enum Template {}
    public enum Entity {}
    public enum Annotation {}
    public enum Subscription {}
    public enum Trigger {}
    public enum Backend {}
    public enum Dimension {}
}

public typealias TeamID = Identifier<IDKind.Team>
public typealias SourceID = Identifier<IDKind.Source>
public typealias MetricID = Identifier<IDKind.Metric>
public typealias ReportID = Identifier<IDKind.Report>
public typealias TemplateID = Identifier<IDKind.Template>
public typealias EntityID = Identifier<IDKind.Entity>
public typealias AnnotationID = Identifier<IDKind.Annotation>
public typealias SubscriptionID = Identifier<IDKind.Subscription>
public typealias TriggerID = Identifier<IDKind.Trigger>
public typealias BackendID = Identifier<IDKind.Backend>
public typealias DimensionID = Identifier<IDKind.Dimension>
