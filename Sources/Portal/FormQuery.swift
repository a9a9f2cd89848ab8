import Foundation
import Hummingbird

/// A request's query string decoded as an HTML form sends it: `+` is a space and `%XX`
/// a byte.
///
/// Hummingbird has two decoders, and neither fits here. `queryParameters` decodes only
/// `%XX`, so "weekly+active" from the search box would keep its plus signs. Its
/// `URLEncodedFormDecoder` throws on a name sent twice, but a form's checkboxes send
/// `team=a&team=b`. It also throws on an escape like "%zz" that someone typed into the
/// search box, and that should be searched for as typed, not answered with a 400.
struct FormQuery: Sendable {
    private var values: [String: String] = [:]
    /// Every pair in order; the few names sent more than once are looked up here.
    private var pairs: [(name: String, value: String)] = []

    init(_ request: Request) {
        self.init(encoded: request.uri.query ?? "")
    }

    /// An `application/x-www-form-urlencoded` body or query string.
    init(encoded query: String) {
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let equals = pair.firstIndex(of: UInt8(ascii: "="))
            guard let key = Self.decode(Substring(pair[..<(equals ?? pair.endIndex)])) else { continue }
            let value = equals.map { Self.decode(Substring(pair[pair.index(after: $0)...])) ?? "" } ?? ""
            pairs.append((key, value))
            if values[key] == nil { values[key] = value }
        }
    }

    /// The first value of `name`, if present.
    func get(_ name: String) -> String? { values[name] }

    /// Every value of `name`, in order (checkboxes send one per box ticked).
    func values(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// Every name with its first value.
    var all: [String: String] { values }

    static func decode(_ text: Substring) -> String? {
        // Nearly every name and most values need no decoding at all.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) { return String(text) }
        // One pass over the bytes (Foundation's replacing and percent decoding were 3% of a
        // cached search page's CPU). A malformed escape ("%zz", a lone "%") keeps the text as
        // typed, with only its plus signs made spaces; bytes that are not UTF-8 become U+FFFD,
        // as browsers decode forms.
        var decoded: [UInt8] = []
        decoded.reserveCapacity(text.utf8.count)
        var wellFormed = true
        var index = text.utf8.startIndex
        while index < text.utf8.endIndex {
            let byte = text.utf8[index]
            text.utf8.formIndex(after: &index)
            switch byte {
            case UInt8(ascii: "+"):
                decoded.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard index < text.utf8.endIndex, let high = hexValue(text.utf8[index]) else {
                    wellFormed = false
                    decoded.append(byte)
                    continue
                }
                let next = text.utf8.index(after: index)
                guard next < text.utf8.endIndex, let low = hexValue(text.utf8[next]) else {
                    wellFormed = false
                    decoded.append(byte)
                    continue
                }
                decoded.append(high << 4 | low)
                index = text.utf8.index(after: next)
            default:
                decoded.append(byte)
            }
        }
        if wellFormed { return String(decoding: decoded, as: UTF8.self) }
        return String(decoding: text.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
