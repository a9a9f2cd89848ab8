import AlmanacCore
import Testing

/// `Markup.escape`'s byte-level fast path against a plain scalar-by-scalar escape.
@Suite(.timeLimit(.minutes(10))) struct MarkupTests {
    static func reference(_ text: String, double: Bool, single: Bool) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"" where double: out += "&quot;"
            case "'" where single: out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    @Test func theFastPathAgreesWithAPlainEscapeOnHostileText() {
        let pieces: [String] = [
            "a", "Z", " ", "&", "<", ">", "\"", "'", "\t", "\n", "\r", "\u{0}", "\u{1F}", "\u{7F}", "é", "e\u{301}",
            "<\u{338}", "\u{FFFE}", "\u{FFFF}", "\u{FFFD}", "\u{EFBF}", "日本", "👩‍💻", "&amp;", "\u{BF}", "\u{FEFF}",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }.joined()
            for (double, single) in [(false, false), (true, false), (true, true), (false, true)] {
                #expect(
                    Markup.escape(text, doubleQuote: double, singleQuote: single)
                        == Self.reference(text, double: double, single: single), "\(text.debugDescription)")
            }
        }
        #expect(Markup.escape("plain text") == "plain text")
        #expect(Markup.escape("a\u{FFFF}b<") == "ab&lt;")
    }
}
