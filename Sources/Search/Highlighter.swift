/// Marks the words of a text that the query matched: by stem (so "signups" lights up for
/// "signup"), by the typo-corrected word, and by the prefix still being typed.
struct Highlighter {
    let stems: Set<String>
    let prefix: String?
    /// The first two characters of every stem: a word that starts otherwise cannot match,
    /// which spares stemming nearly every word of a snippet. A query has a few stems, so a
    /// list is searched faster than a set is hashed.
    private let heads: [UInt64]
    /// Words around the first match in a snippet.
    static let snippetWords = 28

    init(stems: Set<String>, prefix: String?) {
        self.stems = stems
        self.prefix = prefix
        heads = Array(Set(stems.map(Self.head)))
    }

    /// The first two scalars of a word as one number.
    static func head(_ word: String) -> UInt64 {
        var iterator = word.unicodeScalars.makeIterator()
        let first = UInt64(iterator.next()?.value ?? 0)
        let second = UInt64(iterator.next()?.value ?? 0)
        return first << 21 | second
    }

    func matches(_ word: String) -> Bool {
        // Both sides are folded the same way, so bytes compare as the words do.
        if let prefix, word.utf8.starts(with: prefix.utf8) { return true }
        guard heads.contains(Self.head(word)) else { return false }
        return stems.contains(Analyzer.term(word))
    }

    func highlight(_ text: String) -> HighlightedText {
        mark(text, words: Analyzer.wordRanges(text), from: nil, to: nil)
    }

    /// A window of the description around the first matching word; else the synonyms or
    /// tags that matched; else the start of the description (ids and aliases only when
    /// there is no description at all, as for entity values).
    func snippet(of document: SearchDocument) -> HighlightedText {
        // The description's words serve both the match and the fallback; the synonyms and tags
        // are joined only when the description has no match.
        let description = document.description.isEmpty ? [] : Analyzer.wordRanges(document.description)
        if let window = window(document.description, words: description) { return window }
        for text in [document.synonyms.joined(separator: ", "), document.tags.joined(separator: ", ")]
        where !text.isEmpty {
            if let window = window(text, words: Analyzer.wordRanges(text)) { return window }
        }
        if !description.isEmpty {
            return mark(
                document.description, words: description, from: 0, to: min(description.count, Self.snippetWords))
        }
        let fallback = document.keywords.joined(separator: " · ")
        guard !fallback.isEmpty else { return HighlightedText(parts: []) }
        let words = Analyzer.wordRanges(fallback)
        return mark(fallback, words: words, from: 0, to: min(words.count, Self.snippetWords))
    }

    /// Up to ``snippetWords`` words of `text` around its first match, or nil without one.
    private func window(_ text: String, words: [(range: Range<String.Index>, word: String)]) -> HighlightedText? {
        guard let first = words.firstIndex(where: { matches($0.word) }) else { return nil }
        let start = max(0, first - 8)
        return mark(text, words: words, from: start, to: min(words.count, start + Self.snippetWords))
    }

    /// The text from word `from` to word `to` (all of it when nil), matched words marked.
    private func mark(
        _ text: String, words: [(range: Range<String.Index>, word: String)], from: Int?, to: Int?
    ) -> HighlightedText {
        var parts: [HighlightedText.Part] = []
        // The pieces come in text order, each starting where the last ended: a run of pieces
        // with the same mark is one range of `text`, made into a string once.
        var run: (range: Range<String.Index>, matched: Bool)?
        var leadingEllipsis = false
        func endRun() {
            guard let (range, matched) = run else { return }
            run = nil
            var piece = String(text[range])
            if leadingEllipsis {
                leadingEllipsis = false
                if matched { parts.append(.init(text: "…", matched: false)) } else { piece = "…" + piece }
            }
            parts.append(.init(text: piece, matched: matched))
        }
        func add(_ range: Range<String.Index>, _ matched: Bool) {
            guard !range.isEmpty else { return }
            if let current = run, current.matched == matched, current.range.upperBound == range.lowerBound {
                run = (current.range.lowerBound..<range.upperBound, matched)
            } else {
                endRun()
                run = (range, matched)
            }
        }
        let first = from ?? 0
        let last = to ?? words.count
        var cursor: String.Index
        if from != nil, first < words.count {
            cursor = words[first].range.lowerBound
            leadingEllipsis = first > 0
        } else {
            cursor = text.startIndex
        }
        var index = first
        while index < last {
            let range = words[index].range
            // Several folded words can share one range ("½"); mark it once.
            var matched = matches(words[index].word)
            while index + 1 < last && words[index + 1].range == range {
                index += 1
                matched = matched || matches(words[index].word)
            }
            if range.lowerBound >= cursor {
                add(cursor..<range.lowerBound, false)
                add(range, matched)
                cursor = range.upperBound
            }
            index += 1
        }
        let isWhole = to == nil || last >= words.count
        if isWhole { add(cursor..<text.endIndex, false) }
        endRun()
        if leadingEllipsis { parts.append(.init(text: "…", matched: false)) }
        if !isWhole {
            if let end = parts.last, !end.matched {
                parts[parts.count - 1].text += "…"
            } else {
                parts.append(.init(text: "…", matched: false))
            }
        }
        return HighlightedText(parts: parts)
    }
}
