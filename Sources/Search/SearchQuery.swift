import Foundation

/// What a user typed, understood: words, "exact phrases" and `key:value` filters.
///
/// Parsing never fails. Quotes that do not close run to the end; `key:value` with a key
/// that is not a filter is read as words; every character that is not a letter or digit
/// separates words, so FTS operators, `*`, parentheses and the like are plain text.
public struct SearchQuery: Sendable, Hashable {
    /// The longest input looked at; the rest is ignored.
    public static let maximumLength = 1_000
    /// Words beyond this many are ignored (a pasted paragraph is not a search).
    public static let maximumWords = 8
    public static let filterKeys = ["kind", "team", "owner", "tag", "status"]

    public var text: String
    /// Folded words that must all match, in order (phrase words included).
    public var words: [String]
    /// Quoted phrases, as folded words.
    public var phrases: [[String]]
    /// Whether the last word is still being typed, so it also matches as a prefix.
    public var lastWordIsPrefix: Bool
    public var kinds: Set<String> = []
    public var teams: Set<String> = []
    /// Folded words of `owner:` values: each must name the owning team or one of its people.
    public var owners: [String] = []
    public var tags: Set<String> = []
    public var statuses: Set<SearchStatus> = []
    /// Filters that were not understood, e.g. `status:gone`, to tell the user.
    public var unknownFilters: [String] = []

    /// The query as the search log keeps it: its words, folded, then its filters, sorted
    /// ("MRR", " mrr" and "Mrr " are one query), at most 200 characters.
    public var normalized: String {
        var parts = words
        parts += kinds.sorted().map { "kind:\($0)" } + teams.sorted().map { "team:\($0)" }
        parts += owners.map { "owner:\($0)" } + tags.sorted().map { "tag:\($0)" }
        parts += statuses.map(\.rawValue).sorted().map { "status:\($0)" }
        return String(parts.joined(separator: " ").prefix(200))
    }

    public var hasFilters: Bool {
        !kinds.isEmpty || !teams.isEmpty || !owners.isEmpty || !tags.isEmpty || !statuses.isEmpty
    }

    public init(parsing input: String) {
        let text = String(input.prefix(Self.maximumLength))
        self.text = text
        words = []
        phrases = []
        lastWordIsPrefix = false

        var bare: [(word: String, isStop: Bool)] = []
        var order: [(word: String, bare: Bool)] = []
        var index = text.startIndex
        var endedInWord = false
        while index < text.endIndex {
            let character = text[index]
            if character.isWhitespace {
                index = text.index(after: index)
                endedInWord = false
                continue
            }
            if character == "\"" || character == "“" || character == "”" {
                let start = text.index(after: index)
                let end = text[start...].firstIndex { $0 == "\"" || $0 == "”" || $0 == "“" } ?? text.endIndex
                let phrase = Analyzer.words(String(text[start..<end]))
                if !phrase.isEmpty {
                    phrases.append(phrase)
                    order += phrase.map { ($0, false) }
                }
                index = end < text.endIndex ? text.index(after: end) : end
                endedInWord = false
                continue
            }
            // A bare chunk runs to the next whitespace or quote.
            var end = index
            while end < text.endIndex, !text[end].isWhitespace, text[end] != "\"" { end = text.index(after: end) }
            var chunk = String(text[index..<end])
            if let colon = chunk.firstIndex(of: ":"), colon != chunk.startIndex {
                let key = chunk[..<colon].lowercased()
                if Self.filterKeys.contains(key) {
                    var value = String(chunk[chunk.index(after: colon)...])
                    if value.isEmpty, end < text.endIndex, text[end] == "\"" {
                        // key:"a value with spaces"
                        let start = text.index(after: end)
                        let close = text[start...].firstIndex(of: "\"") ?? text.endIndex
                        value = String(text[start..<close])
                        end = close < text.endIndex ? text.index(after: close) : close
                        chunk = key + ":" + value
                    }
                    if apply(key: key, value: value) {
                        index = end
                        endedInWord = false
                        continue
                    }
                    if value.isEmpty { unknownFilters.append(chunk) }
                }
            }
            for word in Analyzer.words(chunk) {
                bare.append((word, Analyzer.stopWords.contains(word)))
                order.append((word, true))
            }
            index = end
            endedInWord = end == text.endIndex && !chunk.isEmpty && chunk.last.map(isWordCharacter) == true
        }
        let keepStopWords = bare.allSatisfy(\.isStop) && phrases.isEmpty
        for (word, isBare) in order {
            if isBare && !keepStopWords && Analyzer.stopWords.contains(word) { continue }
            words.append(word)
        }
        let truncated = words.count > Self.maximumWords
        if truncated { words = Array(words.prefix(Self.maximumWords)) }
        // Only a word still being typed at the very end, and kept, is a prefix ("revenue by"
        // does not make "revenue" one).
        let lastKept = order.last.map { $0.bare && (keepStopWords || !Analyzer.stopWords.contains($0.word)) } ?? false
        lastWordIsPrefix = endedInWord && lastKept && !truncated && (words.last?.count ?? 0) >= 2
    }

    private func isWordCharacter(_ character: Character) -> Bool {
        character.unicodeScalars.contains { Analyzer.isWordScalar($0) }
    }

    /// Applies `key:value`; false when the value is empty or not understood.
    private mutating func apply(key: String, value: String) -> Bool {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { return false }
        let lowered = trimmed.lowercased()
        switch key {
        case "kind":
            // "kind:reports" means the same as "kind:report".
            kinds.insert(lowered.hasSuffix("s") && lowered.count > 3 ? String(lowered.dropLast()) : lowered)
            kinds.insert(lowered)
        case "team": teams.insert(lowered)
        case "owner":
            let words = Analyzer.words(trimmed)
            guard !words.isEmpty else { return false }
            owners += words
        case "tag": tags.insert(lowered)
        case "status":
            guard let status = SearchStatus(rawValue: lowered) else {
                unknownFilters.append("status:\(trimmed)")
                return true
            }
            statuses.insert(status)
        default: return false
        }
        return true
    }
}
