/// Escaping for HTML and XML (SVG) text, shared so there is one correct version.
public enum Markup {
    /// Escapes `&`, `<`, `>` and the given quote marks, scalar by scalar (so a combining
    /// mark after `<` cannot hide it), and drops the control characters XML 1.0 cannot hold.
    public static func escape(_ text: String, quotes: Set<Character> = []) -> String {
        escape(text, doubleQuote: quotes.contains("\""), singleQuote: quotes.contains("'"))
    }

    /// As ``escape(_:quotes:)``; text that needs nothing escaped (most of it) is returned as is
    /// after one pass over its bytes.
    public static func escape(_ text: String, doubleQuote: Bool, singleQuote: Bool = false) -> String {
        if !needsEscaping(text, doubleQuote: doubleQuote, singleQuote: singleQuote) { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where doubleQuote: result += "&quot;"
            case "'" where singleQuote: result += "&#39;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func needsEscaping(_ text: String, doubleQuote: Bool, singleQuote: Bool) -> Bool {
        // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
        var before2: UInt8 = 0
        var before1: UInt8 = 0
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"), UInt8(ascii: "<"), UInt8(ascii: ">"): return true
            case UInt8(ascii: "\"") where doubleQuote: return true
            case UInt8(ascii: "'") where singleQuote: return true
            case 0xBE where before2 == 0xEF && before1 == 0xBF: return true
            case 0xBF where before2 == 0xEF && before1 == 0xBF: return true
            case 0x09, 0x0A, 0x0D: break
            case 0..<0x20: return true
            default: break
            }
            before2 = before1
            before1 = byte
        }
        return false
    }
}
