/// Escaping for HTML and XML (SVG) text, shared so there is one correct version.
public enum Markup {
    /// Escapes `&`, `<`, `>` and the given quote marks, scalar by scalar (so a combining
    /// mark after `<` cannot hide it), and drops the control characters XML 1.0 cannot hold.
    public static func escape(_ text: String, quotes: Set<Character> = []) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where quotes.contains("\""): result += "&quot;"
            case "'" where quotes.contains("'"): result += "&#39;"
            case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { continue }
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
