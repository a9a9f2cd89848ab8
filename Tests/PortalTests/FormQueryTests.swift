import AlmanacTestSupport
import Foundation
import Testing

@testable import Portal

/// Query strings decode as HTML forms send them: `+` is a space and `%XX` a byte; a malformed
/// escape leaves the text as typed (plus signs made spaces), and bytes that are not UTF-8
/// become U+FFFD. Where Foundation's replacing and percent decoding (what the portal used
/// before) give an answer without U+FFFD, the answer is the same.
@Suite struct FormQueryTests {
    @Test(arguments: [
        ("weekly+active", "weekly active"), ("a%20b", "a b"), ("%E2%82%AC", "€"), ("%e2%82%ac+%2B", "€ +"),
        ("%zz", "%zz"), ("50%", "50%"), ("50%2", "50%2"), ("%", "%"), ("+", " "), ("++%2B+", "  + "),
        ("50%25+%zz", "50%25 %zz"), ("%C3%A9", "é"), ("%00", "\u{0}"), ("a%2Fb%3Fc%3Dd%26e", "a/b?c=d&e"),
        ("%2525", "%25"), ("caf%C3%A9+%F0%9F%93%88", "café 📈"), ("%%41", "%%41"), ("%G1", "%G1"), ("plain", "plain"),
        ("", ""), ("é+é", "é é"), ("%C3", "\u{FFFD}"), ("%FF%FE", "\u{FFFD}\u{FFFD}"), ("%C3%28", "\u{FFFD}("),
        ("a%A9b", "a\u{FFFD}b"), ("%EF%BB%BFa", "\u{FEFF}a"), ("+\u{31E}", " \u{31E}"),
    ])
    func decodes(text: String, expected: String) {
        #expect(FormQuery.decode(Substring(text)) == expected)
    }

    @Test func hostileAndRandomTextDecodesAsFoundationDidWhereItDecodes() {
        var random = HostileStrings(seed: 7)
        var texts = HostileStrings.fixed.map { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0 }
        texts += HostileStrings.fixed
        for _ in 0..<500 { texts.append(random.string()) }
        // Random mixtures of escapes, pluses and stray percent signs.
        var state: UInt64 = 42
        let pieces = ["%", "+", "a", "%2", "%C3", "%A9", "%zz", "%F0%9F%93%88", "é", "%41", " ", "%FF"]
        for _ in 0..<2_000 {
            var text = ""
            for _ in 0..<6 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                text += pieces[Int((state >> 33) % UInt64(pieces.count))]
            }
            texts.append(text)
        }
        var compared = 0
        for text in texts {
            // Plus signs by byte: Foundation's replacing compares characters, so it leaves a "+"
            // that a combining mark follows, which a form's decoding does not.
            let spaced = String(
                decoding: text.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            // Foundation also drops a leading byte order mark, which a form's decoding keeps.
            let foundation = (spaced.removingPercentEncoding ?? spaced).replacingOccurrences(of: "\u{FEFF}", with: "")
            let decoded = FormQuery.decode(Substring(text))?.replacingOccurrences(of: "\u{FEFF}", with: "")
            if foundation.contains("\u{FFFD}") && !text.contains("\u{FFFD}") {
                // Foundation repaired bytes that are not UTF-8; so does this, maybe elsewhere.
                #expect(decoded?.contains("\u{FFFD}") == true, "\(text.prefix(60))")
            } else if decoded?.contains("\u{FFFD}") == true && !text.contains("\u{FFFD}") {
                // Bytes Foundation refused outright (it kept the text as typed).
                #expect(foundation == spaced.replacingOccurrences(of: "\u{FEFF}", with: ""), "\(text.prefix(60))")
            } else {
                #expect(decoded == foundation, "\(text.prefix(60))")
                compared += 1
            }
        }
        #expect(compared > 1_500, "most texts are compared exactly: \(compared)")
    }

    @Test func namesSentTwiceKeepEveryValue() {
        let query = FormQuery(encoded: "team=a&q=weekly+active&team=b%20c&empty=&flag")
        #expect(query.get("q") == "weekly active")
        #expect(query.values("team") == ["a", "b c"])
        #expect(query.get("empty") == "" && query.get("flag") == "")
    }
}
