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
    private var repeated: [String: [String]] = [:]

    init(_ request: Request) {
        self.init(encoded: request.uri.query ?? "")
    }

    /// An `application/x-www-form-urlencoded` body or query string.
    init(encoded query: String) {
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let key = Self.decode(parts[0]) else { continue }
            let value = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
            repeated[key, default: []].append(value)
            if values[key] == nil { values[key] = value }
        }
    }

    /// The first value of `name`, if present.
    func get(_ name: String) -> String? { values[name] }

    /// Every value of `name`, in order (checkboxes send one per box ticked).
    func values(_ name: String) -> [String] { repeated[name] ?? [] }

    /// Every name with its first value.
    var all: [String: String] { values }

    private static func decode(_ text: Substring) -> String? {
        // Nearly every name and most values need no decoding at all.
        if !text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) { return String(text) }
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        // Malformed escapes ("%zz") are kept as typed rather than refused.
        return spaced.removingPercentEncoding ?? spaced
    }
}
