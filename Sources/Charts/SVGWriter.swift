import AlmanacCore
import Foundation

/// A minimal writer for SVG markup: escaped text and attributes, coordinates at one decimal.
struct SVGWriter {
    private(set) var output = ""

    /// Opens `name` with attributes in the given order (order is part of the deterministic output).
    mutating func open(_ name: String, _ attributes: [(String, String)] = []) {
        output += "<" + name + Self.attributes(attributes) + ">"
    }

    mutating func close(_ name: String) {
        output += "</" + name + ">"
    }

    /// A self-closing element.
    mutating func element(_ name: String, _ attributes: [(String, String)]) {
        output += "<" + name + Self.attributes(attributes) + "/>"
    }

    /// An element holding escaped text.
    mutating func element(_ name: String, _ attributes: [(String, String)], text: String) {
        output += "<" + name + Self.attributes(attributes) + ">" + Self.escape(text) + "</" + name + ">"
    }

    /// An attribute quoted with single quotes, for JSON values full of double quotes.
    static func singleQuoted(_ name: String, _ value: String) -> (String, String) {
        ("'" + name, value)
    }

    private static func attributes(_ attributes: [(String, String)]) -> String {
        var text = ""
        for (name, value) in attributes {
            if name.hasPrefix("'") {
                text += " " + name.dropFirst() + "='" + escape(value, quote: "'") + "'"
            } else {
                text += " " + name + "=\"" + escape(value, quote: "\"") + "\""
            }
        }
        return text
    }

    /// XML-escapes `text`, and drops the control characters XML 1.0 cannot hold at all.
    static func escape(_ text: String, quote: Character? = nil) -> String {
        Markup.escape(text, doubleQuote: quote == "\"", singleQuote: quote == "'")
    }

    /// A coordinate at one decimal, without a trailing `.0` or a negative zero.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let tenths = Int((value * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let magnitude = abs(tenths)
        return sign + String(magnitude / 10) + (magnitude % 10 == 0 ? "" : "." + String(magnitude % 10))
    }

    /// `value` as compact JSON (keys in order, `/` as itself) for a data attribute.
    static func json(encoding value: some Encodable) -> String {
        // NB: the values are strings, numbers and arrays of them: encoding cannot fail.
        (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "[]"
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// A path's `d` attribute, built from runs of points.
struct PathBuilder {
    private(set) var d = ""

    /// A polyline through `points`; a single point becomes a zero-length segment, which round
    /// caps draw as a dot so that an isolated day stays visible.
    mutating func line(_ points: [(x: Double, y: Double)]) {
        guard let first = points.first else { return }
        d += "M" + SVGWriter.number(first.x) + " " + SVGWriter.number(first.y)
        if points.count == 1 {
            d += "h0"
            return
        }
        for point in points.dropFirst() {
            d += "L" + SVGWriter.number(point.x) + " " + SVGWriter.number(point.y)
        }
    }

    /// A closed polygon: `upper` left to right, then `lower` right to left.
    mutating func polygon(upper: [(x: Double, y: Double)], lower: [(x: Double, y: Double)]) {
        guard !upper.isEmpty else { return }
        line(upper + lower.reversed())
        d += "Z"
    }
}
