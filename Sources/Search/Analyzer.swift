import Foundation

/// Turns text into search terms: the same steps for indexed fields and for queries.
///
/// NFKC, lower case, diacritics folded ("Zürich" and "Zu\u{308}rich" both become
/// "zurich"); words are runs of letters and digits, and every other character separates
/// words, so nothing a user types can act as syntax. Terms are Porter stems.
public enum Analyzer {
    /// Words dropped from queries (unless nothing else is left); they are indexed as usual.
    public static let stopWords: Set<String> = [
        "and", "or", "not", "the", "of", "by", "for", "in", "a", "an", "to", "per", "with", "on", "at", "vs",
    ]

    /// The folded words of `text`, before stemming, in order.
    public static func words(_ text: String) -> [String] {
        var out: [String] = []
        forEachWord(in: text) { out.append($0) }
        return out
    }

    /// Calls `body` with each folded word of `text`.
    ///
    /// ASCII text (nearly all of a catalog) takes a byte loop; anything else is normalised
    /// and folded by Foundation first.
    public static func forEachWord(in text: String, _ body: (String) -> Void) {
        var isASCII = true
        for byte in text.utf8 where byte >= 0x80 {
            isASCII = false
            break
        }
        if isASCII {
            var current: [UInt8] = []
            current.reserveCapacity(16)
            for byte in text.utf8 {
                switch byte {
                case 0x30...0x39, 0x61...0x7A: current.append(byte)
                case 0x41...0x5A: current.append(byte + 0x20)
                default:
                    if !current.isEmpty {
                        body(String(decoding: current, as: UTF8.self))
                        current.removeAll(keepingCapacity: true)
                    }
                }
            }
            if !current.isEmpty { body(String(decoding: current, as: UTF8.self)) }
            return
        }
        let folded = fold(text)
        var current = String.UnicodeScalarView()
        for scalar in folded.unicodeScalars {
            if isWordScalar(scalar) {
                current.append(scalar)
            } else if !current.isEmpty {
                body(String(current))
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { body(String(current)) }
    }

    /// Lower case, compatibility-normalised, diacritics and widths folded.
    public static func fold(_ text: String) -> String {
        text.precomposedStringWithCompatibilityMapping
            .folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
            .lowercased()
    }

    static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        return properties.isAlphabetic || properties.numericType != nil
    }

    /// The index term of a folded word.
    public static func term(_ word: String) -> String { PorterStemmer.stem(word) }

    /// The terms of `text` (stemmed words), in order.
    public static func terms(_ text: String) -> [String] { words(text).map(term) }

    /// Each word of `text` with where it sits in `text`, for highlighting.
    ///
    /// One pass over the bytes: an ASCII word is lowered straight into its string; only a run
    /// with bytes beyond ASCII (a name such as "Inés", or "—" between two words) is decoded as
    /// scalars and folded.
    static func wordRanges(_ text: String) -> [(range: Range<String.Index>, word: String)] {
        var out: [(range: Range<String.Index>, word: String)] = []
        let utf8 = text.utf8
        let done: Void? = utf8.withContiguousStorageIfAvailable { bytes in
            out.reserveCapacity(bytes.count / 6)
            let count = bytes.count
            var position = 0
            while position < count {
                guard bytes[position] >= 0x80 || isASCIIWordByte(bytes[position]) else {
                    position += 1
                    continue
                }
                // A run of word bytes and bytes beyond ASCII: it starts and ends next to an ASCII
                // separator (or the text's ends), so on scalar boundaries.
                let start = position
                var isASCII = true
                while position < count, bytes[position] >= 0x80 || isASCIIWordByte(bytes[position]) {
                    if bytes[position] >= 0x80 { isASCII = false }
                    position += 1
                }
                // Offsets into native UTF-8 storage: constant time.
                let lower = utf8.index(utf8.startIndex, offsetBy: start)
                let upper = utf8.index(lower, offsetBy: position - start)
                guard isASCII else {
                    appendWordRanges(of: text[lower..<upper], to: &out)
                    continue
                }
                let length = position - start
                let word = String(unsafeUninitializedCapacity: length) { buffer in
                    for offset in 0..<length {
                        let letter = bytes[start + offset]
                        buffer[offset] = letter >= 0x41 && letter <= 0x5A ? letter + 0x20 : letter
                    }
                    return length
                }
                out.append((lower..<upper, word))
            }
        }
        if done == nil { appendWordRanges(of: text[...], to: &out) }
        return out
    }

    /// ``wordRanges(_:)`` scalar by scalar over the whole text: what the byte pass must agree with.
    static func scalarWordRanges(_ text: String) -> [(range: Range<String.Index>, word: String)] {
        var out: [(range: Range<String.Index>, word: String)] = []
        appendWordRanges(of: text[...], to: &out)
        return out
    }

    /// The words of `text` (a whole text, or a run between ASCII separators) scalar by scalar,
    /// with ranges in the string `text` is a slice of.
    private static func appendWordRanges(
        of text: Substring, to out: inout [(range: Range<String.Index>, word: String)]
    ) {
        let scalars = text.unicodeScalars
        var start: String.Index?
        var isASCII = true
        func flush(_ end: String.Index) {
            guard let begin = start else { return }
            if isASCII {
                let lowered = text.utf8[begin..<end].map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
                out.append((begin..<end, String(decoding: lowered, as: UTF8.self)))
            } else {
                // A word may fold into several (e.g. "½"); each keeps the whole range.
                for word in words(String(text[begin..<end])) { out.append((begin..<end, word)) }
            }
            start = nil
            isASCII = true
        }
        var index = scalars.startIndex
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let isWord: Bool
            if scalar.value < 0x80 {
                let value = scalar.value
                isWord =
                    (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A)
                    || (value >= 0x61 && value <= 0x7A)
            } else {
                // Combining marks belong to the word they follow (Zu\u{308}rich).
                isWord = isWordScalar(scalar) || (start != nil && scalar.properties.generalCategory == .nonspacingMark)
                if isWord { isASCII = false }
            }
            if isWord {
                if start == nil { start = index }
            } else {
                flush(index)
            }
            index = scalars.index(after: index)
        }
        flush(scalars.endIndex)
    }

    private static func isASCIIWordByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }
}
