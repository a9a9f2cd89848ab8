import Foundation
import Synchronization

/// An immutable inverted index over one set of documents (the catalog, or one entity's
/// values), built in one go and swapped whole.
///
/// Why our own index rather than SQLite FTS5: measured on the same 100,000-entry corpus
/// and queries (`Benchmarks/search-engines.sh`), FTS5 answered at p99 24 ms (0.28 ms here),
/// far from what a type-ahead needs, found 12% of the typo queries, and its MATCH syntax
/// turns user input into errors. Here postings carry a
/// precomputed BM25F score per (term, document), so a query is lookups, merges and
/// additions over arrays; typo tolerance is a deletion neighbourhood over the vocabulary
/// (SymSpell), prefixes a binary search in the sorted vocabulary. Everything is in memory
/// and rebuilt from the catalog and the warehouse, never a source of truth.
final class IndexSegment: Sendable {
    let documents: [SearchDocument]
    /// Stem → term id.
    let termIDs: [String: UInt32]
    let terms: [String]
    /// Postings of term t: `postingStart[t]..<postingStart[t+1]`, ascending by document.
    let postingStart: [Int]
    let postingDocs: [UInt32]
    let postingScores: [Float]
    /// Distinct folded words, sorted, each with its term: prefix and typo lookups go
    /// through the words people type, not through stems.
    let words: [String]
    let wordTerms: [UInt32]
    /// Hashes of every one-character deletion of every word (4+ characters), sorted,
    /// with the word each came from.
    let deleteKeys: [UInt64]
    let deleteWords: [UInt32]
    /// Each document's terms in order, fields separated by `separator`, for phrases.
    let tokenStart: [Int]
    let tokens: [UInt32]
    /// Per-document values that filters and facets read for every candidate.
    let columns: DocumentColumns
    private let scratchPool = Mutex<[Scratch]>([])

    static let separator = UInt32.max
    /// Words shorter than this are not corrected (too many neighbours one edit away).
    static let minimumTypoLength = 5
    static let k1: Float = 5
    static let b: Float = 0.75

    var count: Int { documents.count }
    /// Whether any document here is restricted to some groups.
    var hasRestricted: Bool { columns.hasRestricted }

    /// Average length of each field, for BM25F's length normalisation.
    let fieldAverages: [Float]

    /// - Parameter reference: for a delta segment, the base it amends: scores then use the
    ///   base's document count, document frequencies and field lengths plus the delta's own,
    ///   so an edited document ranks as it would after a full rebuild.
    init(documents: [SearchDocument], synonyms: SynonymTable = SynonymTable(), reference: IndexSegment? = nil) {
        self.documents = documents
        let fields = SearchField.allCases
        var termIDs: [String: UInt32] = [:]
        var terms: [String] = []
        var wordToTerm: [String: UInt32] = [:]
        var tokens: [UInt32] = []
        var tokenStart: [Int] = [0]
        var fieldLengths = [[UInt16]](repeating: [], count: fields.count)
        tokens.reserveCapacity(documents.count * 16)
        tokenStart.reserveCapacity(documents.count + 1)

        func termID(ofWord word: String) -> UInt32 {
            if let id = wordToTerm[word] { return id }
            let stem = Analyzer.term(word)
            let id: UInt32
            if let existing = termIDs[stem] {
                id = existing
            } else {
                id = UInt32(terms.count)
                terms.append(stem)
                termIDs[stem] = id
            }
            wordToTerm[word] = id
            return id
        }

        // Pass 1: text → term ids, by field.
        for document in documents {
            for field in fields {
                let before = tokens.count
                let text =
                    field == .expansions
                    ? (synonyms.isEmpty ? "" : synonyms.expansions(for: document).joined(separator: " ; "))
                    : field.text(of: document)
                Analyzer.forEachWord(in: text) { tokens.append(termID(ofWord: $0)) }
                fieldLengths[field.rawValue].append(UInt16(clamping: tokens.count - before))
                tokens.append(Self.separator)
            }
            tokenStart.append(tokens.count)
        }
        let averages =
            reference?.fieldAverages
            ?? fieldLengths.map { lengths -> Float in
                lengths.isEmpty ? 1 : max(1, Float(lengths.reduce(0) { $0 + Int($1) }) / Float(lengths.count))
            }

        // Pass 2: weighted term frequencies per document (BM25F), and document frequencies.
        var docTermStart: [Int] = [0]
        var docTerms: [UInt32] = []
        var docWeights: [Float] = []
        var documentFrequency = [Int](repeating: 0, count: terms.count)
        var pairs: [(UInt32, Float)] = []
        docTermStart.reserveCapacity(documents.count + 1)
        for doc in 0..<documents.count {
            pairs.removeAll(keepingCapacity: true)
            var field = 0
            for position in tokenStart[doc]..<tokenStart[doc + 1] {
                let term = tokens[position]
                if term == Self.separator {
                    field += 1
                    continue
                }
                let length = Float(fieldLengths[field][doc])
                let norm = 1 - Self.b + Self.b * length / averages[field]
                pairs.append((term, fields[field].weight / norm))
            }
            pairs.sort { $0.0 < $1.0 }
            var index = 0
            while index < pairs.count {
                let term = pairs[index].0
                var weight: Float = 0
                while index < pairs.count && pairs[index].0 == term {
                    weight += pairs[index].1
                    index += 1
                }
                docTerms.append(term)
                docWeights.append(weight)
                documentFrequency[Int(term)] += 1
            }
            docTermStart.append(docTerms.count)
        }

        // Pass 3: postings, ascending by document because documents are visited in order.
        var postingStart = [Int](repeating: 0, count: terms.count + 1)
        for term in 0..<terms.count { postingStart[term + 1] = postingStart[term] + documentFrequency[term] }
        var cursor = Array(postingStart.dropLast())
        var postingDocs = [UInt32](repeating: 0, count: docTerms.count)
        var postingScores = [Float](repeating: 0, count: docTerms.count)
        let total = Float(documents.count + (reference?.count ?? 0))
        let idf = documentFrequency.indices.map { term -> Float in
            let inReference = reference.flatMap { base in base.termIDs[terms[term]].map(base.documentFrequency) } ?? 0
            let df = Float(documentFrequency[term] + inReference)
            return log(1 + (total - df + 0.5) / (df + 0.5))
        }
        for doc in 0..<documents.count {
            for index in docTermStart[doc]..<docTermStart[doc + 1] {
                let term = Int(docTerms[index])
                let weight = docWeights[index]
                let slot = cursor[term]
                cursor[term] += 1
                postingDocs[slot] = UInt32(doc)
                postingScores[slot] = idf[term] * weight * (Self.k1 + 1) / (weight + Self.k1)
            }
        }

        // The vocabulary of words, and its deletion neighbourhood for typos.
        let sortedWords = wordToTerm.keys.sorted()
        var deletes: [(UInt64, UInt32)] = []
        deletes.reserveCapacity(sortedWords.count * 6)
        for (index, word) in sortedWords.enumerated() {
            Self.forEachDeletion(of: word) { deletes.append(($0, UInt32(index))) }
        }
        deletes.sort { $0.0 < $1.0 }

        self.termIDs = termIDs
        self.terms = terms
        self.postingStart = postingStart
        self.postingDocs = postingDocs
        self.postingScores = postingScores
        self.words = sortedWords
        self.wordTerms = sortedWords.map { wordToTerm[$0]! }
        self.deleteKeys = deletes.map(\.0)
        self.deleteWords = deletes.map(\.1)
        self.tokenStart = tokenStart
        self.tokens = tokens
        self.columns = DocumentColumns(documents)
        self.fieldAverages = averages
    }

    // MARK: - Vocabulary lookups

    func documentFrequency(_ term: UInt32) -> Int { postingStart[Int(term) + 1] - postingStart[Int(term)] }

    /// Index of the first word not less than `text`.
    private func lowerBound(_ text: String) -> Int {
        var low = 0
        var high = words.count
        while low < high {
            let mid = (low + high) / 2
            if words[mid] < text { low = mid + 1 } else { high = mid }
        }
        return low
    }

    func containsWord(_ word: String) -> Bool {
        let index = lowerBound(word)
        return index < words.count && words[index] == word
    }

    /// Terms of words that start with `prefix` (the word itself excluded), the most frequent
    /// first, at most `limit`, and how many words matched.
    func prefixTerms(_ prefix: String, limit: Int) -> [UInt32] {
        var index = lowerBound(prefix)
        var found: [UInt32: Int] = [:]
        let prefixBytes = Array(prefix.utf8)
        var scanned = 0
        while index < words.count, words[index].utf8.starts(with: prefixBytes) {
            let term = wordTerms[index]
            if found[term] == nil { found[term] = documentFrequency(term) }
            index += 1
            scanned += 1
            // NB: a two-letter prefix over a million entity names can match tens of thousands
            // of words; the frequent ones are what type-ahead wants.
            if scanned > 20_000 { break }
        }
        if found.count <= limit { return Array(found.keys) }
        return found.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.prefix(limit).map(\.key)
    }

    /// Words within one edit (insertion, deletion, substitution or transposition) of `word`.
    func wordsWithinOneEdit(of word: String) -> [String] {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count >= Self.minimumTypoLength, scalars.count <= 40 else { return [] }
        var candidates = Set<UInt32>()
        func collect(_ key: UInt64) {
            var low = 0
            var high = deleteKeys.count
            while low < high {
                let mid = (low + high) / 2
                if deleteKeys[mid] < key { low = mid + 1 } else { high = mid }
            }
            while low < deleteKeys.count && deleteKeys[low] == key {
                candidates.insert(deleteWords[low])
                low += 1
            }
        }
        // The word is a deletion of a longer word, or one of its deletions is a word or a
        // deletion of a word.
        collect(Self.hash(word.utf8))
        Self.forEachDeletion(of: word) { key in collect(key) }
        var out: [String] = []
        for deletion in Self.deletions(of: scalars) where containsWord(deletion) { out.append(deletion) }
        for index in candidates {
            let candidate = words[Int(index)]
            if candidate != word, Self.withinOneEdit(scalars, Array(candidate.unicodeScalars)) { out.append(candidate) }
        }
        return Array(Set(out))
    }

    func term(ofWord word: String) -> UInt32? {
        let index = lowerBound(word)
        return index < words.count && words[index] == word ? wordTerms[index] : nil
    }

    static func deletions(of scalars: [Unicode.Scalar]) -> [String] {
        (0..<scalars.count).map { skip in
            var view = String.UnicodeScalarView()
            for (index, scalar) in scalars.enumerated() where index != skip { view.append(scalar) }
            return String(view)
        }
    }

    static func forEachDeletion(of word: String, _ body: (UInt64) -> Void) {
        let bytes = Array(word.utf8)
        guard bytes.count >= minimumTypoLength, bytes.count <= 40 else { return }
        if bytes.allSatisfy({ $0 < 0x80 }) {
            var previous: UInt8 = 0
            for skip in 0..<bytes.count {
                // Deleting either letter of a double gives the same string: hash it once.
                if skip > 0 && bytes[skip] == previous { continue }
                previous = bytes[skip]
                var h: UInt64 = 0xcbf2_9ce4_8422_2325
                for (index, byte) in bytes.enumerated() where index != skip {
                    h = (h ^ UInt64(byte)) &* 0x100_0000_01b3
                }
                body(h)
            }
            return
        }
        for deletion in Set(deletions(of: Array(word.unicodeScalars))) { body(hash(deletion.utf8)) }
    }

    static func hash(_ bytes: String.UTF8View) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return h
    }

    /// Optimal-string-alignment distance ≤ 1.
    static func withinOneEdit(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Bool {
        if abs(a.count - b.count) > 1 { return false }
        var i = 0
        while i < a.count && i < b.count && a[i] == b[i] { i += 1 }
        if i == a.count && i == b.count { return true }
        if a.count == b.count {
            if a[(i + 1)...].elementsEqual(b[(i + 1)...]) { return true }  // substitution
            return i + 1 < a.count && a[i] == b[i + 1] && a[i + 1] == b[i]
                && a[(i + 2)...].elementsEqual(b[(i + 2)...])  // transposition
        }
        return a.count > b.count ? a[(i + 1)...].elementsEqual(b[i...]) : a[i...].elementsEqual(b[(i + 1)...])
    }

    // MARK: - Evaluation

    /// One query word resolved in this segment: its terms, each with a factor (1 exact,
    /// less for prefix, synonym or typo matches).
    struct Group {
        var terms: [(term: UInt32, factor: Float)]
    }

    /// Documents matching every group, with the sum over groups of the best factor-weighted
    /// term score. Unordered.
    func evaluate(_ groups: [Group]) -> (docs: [UInt32], scores: [Float]) {
        guard !groups.isEmpty, groups.allSatisfy({ !$0.terms.isEmpty }) else { return ([], []) }
        let sized = groups.map { group in (group, group.terms.reduce(0) { $0 + documentFrequency($1.term) }) }
            .sorted { $0.1 < $1.1 }
        let scratch = takeScratch()
        defer { returnScratch(scratch) }

        // The smallest group drives; the others are looked up or scanned, whichever is cheaper.
        var docs: [UInt32] = []
        var scores: [Float] = []
        let driver = sized[0].0
        if driver.terms.count == 1 {
            let (term, factor) = driver.terms[0]
            let range = postingStart[Int(term)]..<postingStart[Int(term) + 1]
            docs = Array(postingDocs[range])
            scores = factor == 1 ? Array(postingScores[range]) : postingScores[range].map { $0 * factor }
        } else {
            let epoch = scratch.nextEpoch()
            docs.reserveCapacity(sized[0].1)
            scratch.accumulate(driver.terms, of: self, epoch: epoch) { docs.append($0) }
            scratch.scores.withUnsafeBufferPointer { values in scores = docs.map { values[Int($0)] } }
        }

        for (group, size) in sized.dropFirst() {
            if docs.isEmpty { break }
            let lookupCost = docs.count * group.terms.count * 16
            var keptDocs: [UInt32] = []
            var keptScores: [Float] = []
            keptDocs.reserveCapacity(docs.count)
            keptScores.reserveCapacity(docs.count)
            if size < lookupCost {
                let epoch = scratch.nextEpoch()
                scratch.accumulate(group.terms, of: self, epoch: epoch) { _ in }
                scratch.stamps.withUnsafeBufferPointer { stamps in
                    scratch.scores.withUnsafeBufferPointer { values in
                        for (index, doc) in docs.enumerated() where stamps[Int(doc)] == epoch {
                            keptDocs.append(doc)
                            keptScores.append(scores[index] + values[Int(doc)])
                        }
                    }
                }
            } else {
                for (index, doc) in docs.enumerated() {
                    var best: Float = -1
                    for (term, factor) in group.terms {
                        if let score = score(of: term, in: doc) { best = max(best, score * factor) }
                    }
                    if best >= 0 {
                        keptDocs.append(doc)
                        keptScores.append(scores[index] + best)
                    }
                }
            }
            docs = keptDocs
            scores = keptScores
        }
        return (docs, scores)
    }

    /// Documents matching at least one group (unordered): per document the sum over the groups
    /// it matches of the best factor-weighted term score, and which groups those are (bit `i`
    /// for group `i`; at most 64 groups). Used when no document matches them all.
    func evaluateAny(_ groups: [Group]) -> (docs: [UInt32], scores: [Float], masks: [UInt64]) {
        let scratch = takeScratch()
        defer { returnScratch(scratch) }
        var docs: [UInt32] = []
        var scores: [Float] = []
        var masks: [UInt64] = []
        // Where each document is in `docs`, for documents seen under `seen` in `positions`.
        let seen = scratch.nextUnionEpoch()
        for (index, group) in groups.prefix(64).enumerated() where !group.terms.isEmpty {
            let epoch = scratch.nextEpoch()
            var touched: [UInt32] = []
            scratch.accumulate(group.terms, of: self, epoch: epoch) { touched.append($0) }
            let bit = UInt64(1) << UInt64(index)
            scratch.unionStamps.withUnsafeMutableBufferPointer { stamps in
                scratch.positions.withUnsafeMutableBufferPointer { positions in
                    scratch.scores.withUnsafeBufferPointer { groupScores in
                        for doc in touched {
                            let d = Int(doc)
                            if stamps[d] == seen {
                                let at = Int(positions[d])
                                scores[at] += groupScores[d]
                                masks[at] |= bit
                            } else {
                                stamps[d] = seen
                                positions[d] = Int32(docs.count)
                                docs.append(doc)
                                scores.append(groupScores[d])
                                masks.append(bit)
                            }
                        }
                    }
                }
            }
        }
        return (docs, scores, masks)
    }

    /// The score of `term` in `doc`, by binary search in its postings.
    func score(of term: UInt32, in doc: UInt32) -> Float? {
        var low = postingStart[Int(term)]
        var high = postingStart[Int(term) + 1]
        while low < high {
            let mid = (low + high) / 2
            let value = postingDocs[mid]
            if value == doc { return postingScores[mid] }
            if value < doc { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// Whether the document's text holds the terms in this order, within one field.
    func containsPhrase(_ phrase: [UInt32], in doc: UInt32) -> Bool {
        guard !phrase.isEmpty else { return true }
        let start = tokenStart[Int(doc)]
        let end = tokenStart[Int(doc) + 1]
        guard end - start >= phrase.count else { return false }
        var position = start
        while position + phrase.count <= end {
            var matched = true
            for (offset, term) in phrase.enumerated() where tokens[position + offset] != term {
                matched = false
                break
            }
            if matched { return true }
            position += 1
        }
        return false
    }

    private func takeScratch() -> Scratch {
        if let scratch = scratchPool.withLock({ $0.popLast() }) { return scratch }
        return Scratch(count: documents.count)
    }

    private func returnScratch(_ scratch: Scratch) {
        scratchPool.withLock { pool in if pool.count < 16 { pool.append(scratch) } }
    }
}

/// Per-query working memory sized to a segment: a score per document and a stamp telling
/// whether the score belongs to the current pass, so nothing is ever cleared.
///
/// NB: `@unchecked Sendable` because a scratch is only ever used by the one query that took
/// it from the segment's pool.
final class Scratch: @unchecked Sendable {
    var scores: [Float]
    var stamps: [UInt32]
    private var epoch: UInt32 = 0
    /// For ``IndexSegment/evaluateAny(_:)`` only (made on its first use): whether a document
    /// is in the union being built, and where.
    var unionStamps: [UInt32] = []
    var positions: [Int32] = []
    private var unionEpoch: UInt32 = 0

    func nextUnionEpoch() -> UInt32 {
        if unionStamps.isEmpty {
            unionStamps = [UInt32](repeating: 0, count: scores.count)
            positions = [Int32](repeating: 0, count: scores.count)
        }
        return Self.advance(&unionEpoch, clearing: &unionStamps)
    }

    /// The next stamp after `epoch`; before the stamp would wrap, `stamps` is cleared and the
    /// count starts again, so an old stamp can never be mistaken for the current one.
    private static func advance(_ epoch: inout UInt32, clearing stamps: inout [UInt32]) -> UInt32 {
        if epoch == UInt32.max - 1 {
            epoch = 0
            for index in stamps.indices { stamps[index] = 0 }
        }
        epoch += 1
        return epoch
    }

    init(count: Int) {
        scores = [Float](repeating: 0, count: count)
        stamps = [UInt32](repeating: 0, count: count)
    }

    /// Adds the postings of `terms` into the scratch under `epoch`, keeping each document's
    /// best factor-weighted score; `first` sees each document the first time it is touched.
    func accumulate(
        _ terms: [(term: UInt32, factor: Float)], of segment: IndexSegment, epoch: UInt32, first: (UInt32) -> Void
    ) {
        stamps.withUnsafeMutableBufferPointer { stamps in
            scores.withUnsafeMutableBufferPointer { values in
                segment.postingDocs.withUnsafeBufferPointer { postingDocs in
                    segment.postingScores.withUnsafeBufferPointer { postingScores in
                        for (term, factor) in terms {
                            for slot in segment.postingStart[Int(term)]..<segment.postingStart[Int(term) + 1] {
                                let doc = Int(postingDocs[slot])
                                let score = postingScores[slot] * factor
                                if stamps[doc] != epoch {
                                    stamps[doc] = epoch
                                    values[doc] = score
                                    first(UInt32(doc))
                                } else if score > values[doc] {
                                    values[doc] = score
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func nextEpoch() -> UInt32 { Self.advance(&epoch, clearing: &stamps) }
}

/// Filters and facets as small integer codes per document, so that a query touching tens
/// of thousands of candidates reads compact arrays instead of whole documents.
struct DocumentColumns: Sendable {
    var kindNames: [String] = []
    var kindLabels: [String] = []
    var kinds: [UInt16] = []
    /// Team names by code; code 0 is "no team".
    var teamNames: [String] = [""]
    var teamLabels: [String] = [""]
    var teams: [UInt16] = []
    var statuses: [SearchStatus] = []
    var restricted: [Bool] = []
    var tagNames: [String] = []
    var tagStart: [UInt32] = [0]
    var tags: [UInt16] = []
    /// People (user names, e-mails) who own each team's documents, by team code.
    var teamIdentities: [Set<String>] = [[]]
    /// Words `owner:` matches (team id, name, members), by team code.
    var teamOwnerWords: [Set<String>] = [[]]
    var hasRestricted = false
    /// The templates' documents: their words lend meaning to their entities' values.
    var templateDocs: [UInt32] = []

    init(_ documents: [SearchDocument]) {
        var kindCodes: [String: UInt16] = [:]
        var teamCodes: [String: UInt16] = [:]
        var tagCodes: [String: UInt16] = [:]
        func code(_ value: String, _ codes: inout [String: UInt16], _ names: inout [String]) -> UInt16 {
            if let existing = codes[value] { return existing }
            let new = UInt16(clamping: names.count)
            codes[value] = new
            names.append(value)
            return new
        }
        kinds.reserveCapacity(documents.count)
        teams.reserveCapacity(documents.count)
        for (index, document) in documents.enumerated() {
            if document.kind == "template" { templateDocs.append(UInt32(index)) }
            let kind = code(document.kind, &kindCodes, &kindNames)
            if Int(kind) == kindLabels.count { kindLabels.append(document.kindLabel) }
            kinds.append(kind)
            let team = document.team.map { code($0, &teamCodes, &teamNames) } ?? 0
            if Int(team) == teamLabels.count {
                teamLabels.append(document.teamName ?? document.team ?? "")
                teamIdentities.append([])
                teamOwnerWords.append([])
            }
            teamIdentities[Int(team)].formUnion(document.ownerIdentities)
            teamOwnerWords[Int(team)].formUnion(document.ownerWords)
            teams.append(team)
            statuses.append(document.status)
            restricted.append(!document.access.isEmpty)
            if !document.access.isEmpty { hasRestricted = true }
            for tag in Set(document.tags.map { $0.lowercased() }).sorted() {
                tags.append(code(tag, &tagCodes, &tagNames))
            }
            tagStart.append(UInt32(tags.count))
        }
    }
}
