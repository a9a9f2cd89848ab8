import AlmanacCore
import Catalog
import Foundation

/// How a query term was found, for its weight and for the score explanation.
enum MatchKind: Sendable {
    case exact, synonym, prefix, typo

    var factor: Float {
        switch self {
        case .exact: 1
        case .synonym: 0.6
        case .prefix: 0.8
        case .typo: 0.75
        }
    }
}

/// One execution of a query over a snapshot's segments.
struct QueryRun {
    let query: SearchQuery
    let viewer: Viewer
    let options: SearchOptions
    let slots: [SearchIndex.Slot]
    let synonyms: SynonymTable
    /// Results opened after this query before, by ``SearchDocument/clickKey``.
    var clicks: [String: Int] = [:]

    /// A query word resolved in every segment.
    struct Word {
        var text: String
        /// Per slot: (term, how it matched).
        var terms: [[(term: UInt32, kind: MatchKind)]]
        var correction: String?
        /// Still being typed: it also matched as a prefix.
        var isPrefix = false
        var matched: Bool { terms.contains { !$0.isEmpty } }
    }

    struct Candidate {
        /// Tiers before score: how many of the query's words the result covers, then an exact
        /// name, then an entity value whose template the other words describe.
        var rank: Int32
        var score: Float
        var slot: Int
        var doc: UInt32
        var text: Float
    }

    /// What one pass over the segments found.
    struct Scan {
        var top: [Candidate] = []
        var total = 0
        var hidden = 0
        var kindFacet = FacetCounter()
        var teamFacet = FacetCounter()
        var statusFacet = FacetCounter()
        var tagFacet = FacetCounter()
    }

    /// The query's words sorted out: `content` must match (all of them, or as many as can be),
    /// `hints` only add to the score (see ``QueryHints``).
    struct Words {
        var content: [Word]
        var hints: [Word]
        var hintedKinds: Set<String>
        /// Per template id: which content words its own document matches, and how well. An
        /// entity value whose template matches some words needs only the others ("hooli ocean").
        var templates: [String: (words: UInt64, score: Float)] = [:]
    }

    /// Rank weights: coverage dominates, then an exact name, then entity-and-intent.
    static let coverageRank: Int32 = 4
    static let exactRank: Int32 = 2
    static let intentRank: Int32 = 1
    /// Results looked at for an exact name, however few are asked for (type-ahead asks for 8).
    static let exactPool = 10

    func run() -> SearchResults {
        let resolved = query.words.enumerated().map { index, word in
            resolve(word, isPrefix: query.lastWordIsPrefix && index == query.words.count - 1)
        }
        let phraseWords = Set(query.phrases.flatMap { $0 })
        let isHint = { (word: Word) in !phraseWords.contains(word.text) && QueryHints.isHint(word.text) }
        var content = resolved.filter { !isHint($0) }
        var hints = resolved.filter(isHint)
        let hintedKinds = Set(hints.flatMap { QueryHints.kinds[$0.text] ?? [] })
        // Hints are searched as words when nothing else is there to search for.
        if !content.contains(where: \.matched) && hints.contains(where: \.matched) {
            content = hints.filter(\.matched)
            hints = []
        }
        hints.removeAll { !$0.matched }
        var ignored: [String] = []
        // Forgiving: a word that matches nothing anywhere is left out, unless it is all there is
        // or part of a quoted phrase.
        if content.contains(where: \.matched) {
            ignored = content.filter { !$0.matched && !phraseWords.contains($0.text) }.map(\.text)
            content.removeAll { !$0.matched && !phraseWords.contains($0.text) }
        }
        let corrections = (content + hints).compactMap { word in word.correction.map { (from: word.text, to: $0) } }
        var empty = SearchResults(
            query: query, hits: [], total: 0, facets: [], corrections: corrections,
            didYouMean: corrections.isEmpty ? nil : correctedText(corrections), ignoredWords: ignored,
            hiddenStatuses: 0)
        if content.isEmpty && !query.hasFilters { return empty }
        if content.contains(where: { !$0.matched }) { return empty }

        var words = Words(content: content, hints: hints, hintedKinds: hintedKinds)
        // Entity and intent needs two words and entity values to open templates with.
        if content.count >= 2, slots.contains(where: { template(of: $0) != nil }) {
            words.templates = templateMatches(content)
        }
        var scan = self.scan(words, partial: false)
        var partial = false
        if scan.total == 0 && content.count >= 2 {
            // No result has every word: rank those with some of them by how many (and how rare).
            scan = self.scan(words, partial: true)
            partial = true
        }
        var top = rerank(scan.top, words)

        let matchedStems = Set(
            (content + hints).flatMap { word in
                word.terms.enumerated().flatMap { slot, terms in terms.map { slots[slot].segment.terms[Int($0.term)] } }
            })
        let prefix = (content + hints).last { $0.isPrefix }?.text
        let highlighter = Highlighter(stems: matchedStems, prefix: prefix)
        if top.count > options.offset + options.limit { top.removeLast(top.count - options.offset - options.limit) }
        let page = top.dropFirst(options.offset)
        empty.hits = page.map { candidate in
            let slot = slots[candidate.slot]
            let document = slot.segment.documents[Int(candidate.doc)]
            var hit = SearchHit(
                document: document, score: Double(candidate.score),
                title: options.snippets
                    ? highlighter.highlight(document.title) : HighlightedText(plain: document.title),
                snippet: options.snippets ? highlighter.snippet(of: document) : HighlightedText(parts: []),
                views30: Int(slot.views30[Int(candidate.doc)]))
            if options.explain { hit.explanation = explain(candidate, words: content + hints) }
            return hit
        }
        if partial, let best = top.first {
            empty.partialWords = coveredWords(by: best, words)
        }
        empty.total = scan.total
        empty.hiddenStatuses = scan.hidden
        if options.facets {
            empty.facets = [
                SearchFacet(name: "kind", values: scan.kindFacet.top(20)),
                SearchFacet(name: "team", values: scan.teamFacet.top(15)),
                SearchFacet(
                    name: "status",
                    values: scan.statusFacet.top(4).sorted {
                        SearchStatus(rawValue: $0.value)!.order < SearchStatus(rawValue: $1.value)!.order
                    }),
                SearchFacet(name: "tag", values: scan.tagFacet.top(15)),
            ].filter { !$0.values.isEmpty }
        }
        return empty
    }

    /// The template an entity slot's values open, if it is one.
    private func template(of slot: SearchIndex.Slot) -> String? {
        guard case .entityValue(_, let template, _, _) = slot.segment.documents.first?.target else { return nil }
        return template.rawValue
    }

    /// Which content words each template's own document (that the viewer may see) matches.
    private func templateMatches(_ content: [Word]) -> [String: (words: UInt64, score: Float)] {
        var found: [String: (words: UInt64, score: Float)] = [:]
        for (slotIndex, slot) in slots.enumerated() where template(of: slot) == nil {
            let segment = slot.segment
            guard let templateCode = segment.columns.kindNames.firstIndex(of: ItemKind.template.rawValue) else {
                continue
            }
            let templateDocs = segment.columns.templateDocs
            for (index, word) in content.enumerated() {
                var best: [UInt32: Float] = [:]
                for (term, kind) in word.terms[slotIndex] {
                    let postings = segment.postingStart[Int(term)]..<segment.postingStart[Int(term) + 1]
                    if templateDocs.count * 16 < postings.count {
                        // Few templates, a common word: look the templates up in its postings.
                        for doc in templateDocs {
                            if let score = segment.score(of: term, in: doc) {
                                best[doc] = max(best[doc] ?? 0, score * kind.factor)
                            }
                        }
                        continue
                    }
                    for posting in postings {
                        let doc = segment.postingDocs[posting]
                        guard Int(segment.columns.kinds[Int(doc)]) == templateCode else { continue }
                        best[doc] = max(best[doc] ?? 0, segment.postingScores[posting] * kind.factor)
                    }
                }
                for (doc, score) in best {
                    let document = segment.documents[Int(doc)]
                    guard !slot.deleted.contains(doc), document.status.isListed,
                        viewer.isAdmin || document.isVisible(to: viewer),
                        case .item(let key) = document.target
                    else { continue }
                    var entry = found[key.id] ?? (0, 0)
                    entry.words |= 1 << UInt64(index)
                    entry.score += score
                    found[key.id] = entry
                }
            }
        }
        return found
    }

    /// The documents of one segment that match, with their scores and rank tiers (`ranks` is
    /// empty when every candidate has the rank `uniformRank`).
    private func candidates(
        in slotIndex: Int, _ words: Words, partial: Bool
    ) -> (
        docs: [UInt32], scores: [Float], ranks: [Int32], uniformRank: Int32
    ) {
        let slot = slots[slotIndex]
        let segment = slot.segment
        let content = words.content
        let groups = content.map { word in
            IndexSegment.Group(terms: word.terms[slotIndex].map { ($0.term, $0.kind.factor) })
        }
        let full = Int32(content.count) * Self.coverageRank
        // An entity value needs only the words its template does not already match.
        let intent = template(of: slot).flatMap { words.templates[$0] }
        var docs: [UInt32]
        var scores: [Float]
        var ranks: [Int32] = []
        var uniformRank: Int32 = 0
        if groups.isEmpty {
            docs = (0..<UInt32(segment.count)).map { $0 }
            scores = [Float](repeating: 1, count: segment.count)
        } else if !partial {
            (docs, scores) = segment.evaluate(groups)
            uniformRank = full
            if let intent, intent.words != 0, intent.words.nonzeroBitCount < content.count {
                ranks = [Int32](repeating: full, count: docs.count)
                let rest = groups.indices.filter { intent.words & (1 << UInt64($0)) == 0 }.map { groups[$0] }
                let (more, moreScores) = segment.evaluate(rest)
                var at: [UInt32: Int] = [:]
                for (index, doc) in docs.enumerated() { at[doc] = index }
                for (index, doc) in more.enumerated() {
                    if let known = at[doc] {
                        ranks[known] = full + Self.intentRank
                    } else {
                        docs.append(doc)
                        scores.append(moreScores[index] + intent.score / 2)
                        ranks.append(full + Self.intentRank)
                    }
                }
            }
        } else {
            let masks: [UInt64]
            (docs, scores, masks) = segment.evaluateAny(groups)
            ranks = masks.indices.map { index in
                var covered = masks[index]
                if let intent, intent.words & ~covered != 0 {
                    covered |= intent.words
                    scores[index] += intent.score / 2
                    return Int32(covered.nonzeroBitCount) * Self.coverageRank + Self.intentRank
                }
                return Int32(covered.nonzeroBitCount) * Self.coverageRank
            }
        }
        // Hints' kinds lift the score (their words count in ``rerank(_:_:)``, for the best few).
        if !words.hintedKinds.isEmpty {
            let kindBoost: [Float] = segment.columns.kindNames.map { words.hintedKinds.contains($0) ? 1.5 : 1 }
            if kindBoost.contains(where: { $0 != 1 }) {
                let kinds = segment.columns.kinds
                for index in docs.indices { scores[index] *= kindBoost[Int(kinds[Int(docs[index])])] }
            }
        }
        return (docs, scores, ranks, uniformRank)
    }

    /// One pass over every segment: the best `offset + limit` results (at least
    /// ``exactPool``, for ``rerank(_:_:)``), their count and facets.
    private func scan(_ words: Words, partial: Bool) -> Scan {
        let limit = max(options.offset + options.limit, Self.exactPool)
        var scan = Scan()
        for (slotIndex, slot) in slots.enumerated() {
            let segment = slot.segment
            let columns = segment.columns
            let kinds = columns.kinds
            let teams = columns.teams
            let statuses = columns.statuses
            let restricted = columns.restricted
            let tagStart = columns.tagStart
            let tags = columns.tags
            let priors = slot.priors
            // Phrases as term sequences; a phrase with a word this segment lacks matches nothing here.
            var phrases: [[UInt32]] = []
            var phraseImpossible = false
            // A one-word phrase is just the word.
            for phrase in query.phrases where phrase.count > 1 {
                let terms = phrase.map { segment.termIDs[Analyzer.term($0)] }
                if terms.contains(where: { $0 == nil }) { phraseImpossible = true }
                phrases.append(terms.compactMap { $0 })
            }
            if phraseImpossible { continue }

            let allowedKinds = allowedCodes(query.kinds, columns.kindNames)
            if !options.facets, let allowedKinds, !allowedKinds.contains(true) { continue }
            let allowedTeams = allowedCodes(query.teams, columns.teamNames)
            let allowedTags = allowedCodes(query.tags, columns.tagNames)
            let ownerTeams = columns.teamOwnerWords.map { words in query.owners.allSatisfy(words.contains) }
            // Drafts show to their owners (decided once per team, not per document); retired
            // items only to `status:retired`.
            let user = viewer.user?.lowercased()
            let ownedTeams = columns.teamNames.indices.map { code in
                code > 0
                    && (viewer.memberOf.map { $0.contains(columns.teamNames[code]) }
                        ?? (viewer.groups.contains(columns.teamNames[code])
                            || user.map { columns.teamIdentities[code].contains($0) } ?? false))
            }

            let (docs, scores, ranks, uniformRank) = candidates(in: slotIndex, words, partial: partial)
            if !options.facets && allowedKinds == nil && allowedTeams == nil && allowedTags == nil
                && query.statuses.isEmpty && phrases.isEmpty && query.owners.isEmpty && slot.deleted.isEmpty
                && limit <= Self.insertionLimit
            {
                scanPlain(
                    docs, scores, ranks, uniformRank, in: slotIndex, ownedTeams: ownedTeams, limit: limit, into: &scan)
                continue
            }
            var kindLocal = [Int](repeating: 0, count: columns.kindNames.count)
            var teamLocal = [Int](repeating: 0, count: columns.teamNames.count)
            var tagLocal = [Int](repeating: 0, count: columns.tagNames.count)
            var statusLocal = [Int](repeating: 0, count: SearchStatus.allCases.count)
            let checkDeleted = !slot.deleted.isEmpty

            // The hot loop: every candidate (tens of thousands on a common word), reading the
            // small per-document columns; whole documents only when a filter needs them.
            let needsDocument =
                checkDeleted || !phrases.isEmpty || !query.owners.isEmpty || (!viewer.isAdmin && segment.hasRestricted)
            let statusFilter = query.statuses.isEmpty ? nil : SearchStatus.allCases.map { query.statuses.contains($0) }
            let facets = options.facets
            // Columns and counters as spans: the loop keeps their bounds in registers, and a write
            // to a counter checks no uniqueness (counters as arrays: bench-search --full, 100,000
            // entries, p99 1.015 ms against 0.673 ms through pointers).
            let docSpan = docs.span
            let scoreSpan = scores.span
            let rankSpan = ranks.span
            let kindSpan = kinds.span
            let teamSpan = teams.span
            let statusSpan = statuses.span
            let restrictedSpan = restricted.span
            let tagStartSpan = tagStart.span
            let tagSpan = tags.span
            let priorSpan = priors.span
            var kindCount = kindLocal.mutableSpan
            var teamCount = teamLocal.mutableSpan
            var tagCount = tagLocal.mutableSpan
            var statusCount = statusLocal.mutableSpan
            let deep = limit > Self.insertionLimit
            var kept = Kept(scan.top, limit: deep ? Int.max : limit)
            scan.top = []
            var total = 0
            var hidden = 0
            for index in 0..<docSpan.count {
                let doc = docSpan[index]
                let d = Int(doc)
                if needsDocument {
                    if checkDeleted && slot.deleted.contains(doc) { continue }
                    if restrictedSpan[d] && !viewer.isAdmin && !segment.documents[d].isVisible(to: viewer) {
                        continue
                    }
                    if !phrases.isEmpty && !phrases.allSatisfy({ segment.containsPhrase($0, in: doc) }) { continue }
                    if !query.owners.isEmpty {
                        let team = Int(teamSpan[d])
                        guard
                            team > 0
                                ? ownerTeams[team]
                                : query.owners.allSatisfy(segment.documents[d].ownerWords.contains)
                        else { continue }
                    }
                }
                let kind = Int(kindSpan[d])
                let team = Int(teamSpan[d])
                let kindOK = allowedKinds?[kind] ?? true
                let teamOK = allowedTeams?[team] ?? true
                let tagRange = Int(tagStartSpan[d])..<Int(tagStartSpan[d + 1])
                var tagOK = true
                if let allowedTags {
                    tagOK = false
                    for position in tagRange where allowedTags[Int(tagSpan[position])] {
                        tagOK = true
                        break
                    }
                }
                let status = statusSpan[d]
                let statusCode = status.order
                let statusOK =
                    statusFilter?[statusCode] ?? (status.isListed || (status == .draft && ownedTeams[team]))
                if facets {
                    if teamOK && statusOK && tagOK { kindCount[kind] &+= 1 }
                    if kindOK && statusOK && tagOK { teamCount[team] &+= 1 }
                    if kindOK && teamOK && tagOK { statusCount[statusCode] &+= 1 }
                    if kindOK && teamOK && statusOK {
                        for position in tagRange { tagCount[Int(tagSpan[position])] &+= 1 }
                    }
                }
                guard kindOK && teamOK && tagOK else { continue }
                guard statusOK else {
                    if statusFilter == nil { hidden += 1 }
                    continue
                }
                total += 1
                let rank = rankSpan.isEmpty ? uniformRank : rankSpan[index]
                let score = scoreSpan[index] * priorSpan[d]
                guard kept.admits(rank, score) else { continue }
                let candidate = Candidate(rank: rank, score: score, slot: slotIndex, doc: doc, text: scoreSpan[index])
                if deep {
                    // Deep pages: collected, sorted once below.
                    kept.top.append(candidate)
                } else {
                    kept.keep(candidate)
                }
            }
            scan.top = kept.top
            scan.total += total
            scan.hidden += hidden
            if options.facets {
                scan.kindFacet.add(kindLocal, values: columns.kindNames, labels: columns.kindLabels)
                // Team code 0 is "no team".
                teamLocal[0] = 0
                scan.teamFacet.add(teamLocal, values: columns.teamNames, labels: columns.teamLabels)
                scan.tagFacet.add(tagLocal, values: columns.tagNames, labels: columns.tagNames)
                let names = SearchStatus.allCases.map(\.rawValue)
                scan.statusFacet.add(statusLocal, values: names, labels: names.map(\.capitalized))
            }
        }
        if limit > Self.insertionLimit {
            scan.top.sort(by: Self.precedes)
            if scan.top.count > limit { scan.top.removeLast(scan.top.count - limit) }
        }
        return scan
    }

    /// The hot loop of ``scan(_:partial:)`` for the common search (no filters, facets, phrases
    /// or deleted documents): columns read through pointers, and a candidate that cannot enter
    /// the kept results turned away on the last one's rank and score before anything is built
    /// (bench-search, 100,000 entries: see Benchmarks/README).
    private func scanPlain(
        _ docs: [UInt32], _ scores: [Float], _ ranks: [Int32], _ uniformRank: Int32, in slotIndex: Int,
        ownedTeams: [Bool], limit: Int, into scan: inout Scan
    ) {
        let slot = slots[slotIndex]
        let segment = slot.segment
        let columns = segment.columns
        let checkRestricted = !viewer.isAdmin && segment.hasRestricted
        let slotNumber = slotIndex
        var total = 0
        var hidden = 0
        var kept = Kept(scan.top, limit: limit)
        scan.top = []
        docs.withUnsafeBufferPointer { docs in
            scores.withUnsafeBufferPointer { scores in
                ranks.withUnsafeBufferPointer { ranks in
                    columns.statuses.withUnsafeBufferPointer { statuses in
                        columns.teams.withUnsafeBufferPointer { teams in
                            columns.restricted.withUnsafeBufferPointer { restricted in
                                slot.priors.withUnsafeBufferPointer { priors in
                                    ownedTeams.withUnsafeBufferPointer { ownedTeams in
                                        let uniform = ranks.isEmpty
                                        for index in 0..<docs.count {
                                            let doc = docs[index]
                                            let d = Int(doc)
                                            if checkRestricted && restricted[d]
                                                && !segment.documents[d].isVisible(to: viewer)
                                            {
                                                continue
                                            }
                                            let status = statuses[d]
                                            guard status.isListed || (status == .draft && ownedTeams[Int(teams[d])])
                                            else {
                                                hidden += 1
                                                continue
                                            }
                                            total += 1
                                            let rank = uniform ? uniformRank : ranks[index]
                                            let score = scores[index] * priors[d]
                                            guard kept.admits(rank, score) else { continue }
                                            kept.keep(
                                                Candidate(
                                                    rank: rank, score: score, slot: slotNumber, doc: doc,
                                                    text: scores[index]))
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        scan.top = kept.top
        scan.total += total
        scan.hidden += hidden
    }

    /// The best `limit` candidates so far, in order, and the floor a candidate must reach to
    /// enter once they are that many: the last one's rank and score (a tie on both is settled
    /// by `precedes`, on segment and document).
    struct Kept {
        var top: [Candidate]
        let limit: Int
        private var floorRank = Int32.min
        private var floorScore = -Float.infinity

        init(_ top: [Candidate], limit: Int) {
            self.top = top
            self.limit = limit
            raiseFloor()
        }

        /// Whether a candidate of this rank and score may enter (below the floor it cannot).
        @inline(__always) func admits(_ rank: Int32, _ score: Float) -> Bool {
            !(rank < floorRank || (rank == floorRank && score < floorScore))
        }

        @inline(__always) mutating func keep(_ candidate: Candidate) {
            if top.count < limit {
                QueryRun.insert(candidate, into: &top)
            } else if let last = top.last, QueryRun.precedes(candidate, last) {
                // Candidates are not in document order (a word with several terms merges
                // them), so ties are settled by (segment, document) here too.
                top.removeLast()
                QueryRun.insert(candidate, into: &top)
            } else {
                return
            }
            raiseFloor()
        }

        private mutating func raiseFloor() {
            guard top.count >= limit, let last = top.last else { return }
            floorRank = last.rank
            floorScore = last.score
        }
    }

    /// Lifts the results whose title, id or a synonym is the query itself (case, punctuation
    /// and little words aside), with or without its hints: "MRR" is the metric named MRR
    /// before "Net new MRR"; "marketing team" the Marketing team. Then results people opened
    /// after this query score higher, by the logarithm of how often.
    private func rerank(_ top: [Candidate], _ words: Words) -> [Candidate] {
        let typed = query.words
        let content = typed.filter { word in words.content.contains { $0.text == word } }
        let forms = Set([typed, content].filter { !$0.isEmpty })
        guard !forms.isEmpty || !clicks.isEmpty || !words.hints.isEmpty else { return top }
        let vocabulary = Set(typed)
        // Most names are told apart by their count of letters and digits outside little words
        // (one pass over the bytes) before any is split into words.
        let letters = forms.map { $0.reduce(0) { $0 + $1.utf8.count } }
        func isQuery(_ name: String) -> Bool {
            guard QueryRun.mayBe(name, ofLetters: letters) else { return false }
            var nameWords: [String] = []
            var possible = true
            Analyzer.forEachWord(in: name) { word in
                guard possible, !Analyzer.stopWords.contains(word) else { return }
                if vocabulary.contains(word) { nameWords.append(word) } else { possible = false }
            }
            return possible && forms.contains(nameWords)
        }
        var ranked = top
        var lifted = false
        for index in ranked.indices {
            // The document's fields read in place (a copy of the whole document retains each).
            let documents = slots[ranked[index].slot].segment.documents
            let doc = Int(ranked[index].doc)
            if !forms.isEmpty,
                isQuery(documents[doc].title) || documents[doc].keywords.contains(where: isQuery)
                    || documents[doc].synonyms.contains(where: isQuery)
            {
                ranked[index].rank += Self.exactRank
                lifted = true
            }
            // A hint word the result has adds its score (its own form and synonyms only).
            for hint in words.hints {
                var best: Float = 0
                for (term, kind) in hint.terms[ranked[index].slot] where kind == .exact || kind == .synonym {
                    if let score = slots[ranked[index].slot].segment.score(of: term, in: ranked[index].doc) {
                        best = max(best, score * kind.factor)
                    }
                }
                if best > 0 {
                    ranked[index].score += best * slots[ranked[index].slot].priors[Int(ranked[index].doc)]
                    // The explanation's "text × ranking factors = score" includes the hint too.
                    ranked[index].text += best
                    lifted = true
                }
            }
            if !clicks.isEmpty, let key = documents[doc].clickKey, let opened = clicks[key], opened > 0 {
                ranked[index].score *= 1 + 0.5 * log2(1 + Float(opened))
                lifted = true
            }
        }
        if lifted { ranked.sort(by: Self.precedes) }
        return ranked
    }

    /// Whether `name` may be a query whose words (stop words aside) hold one of `letters` bytes
    /// in all: ``letterBounds(_:)`` holds the name's count, so a name outside them is not the
    /// query, and is never split into words.
    static func mayBe(_ name: String, ofLetters letters: [Int]) -> Bool {
        let bounds = letterBounds(name)
        return letters.contains { $0 >= bounds.low && $0 <= bounds.high }
    }

    /// Bounds of the bytes in a name's analyzed words outside the stop words, from one pass
    /// over its UTF-8 and without folding it.
    ///
    /// An ASCII word counts exactly (nothing, if it is a stop word), so for an ASCII name the
    /// bounds are one number. A character beyond ASCII may fold into a letter that joins the
    /// ASCII letters beside it ("In" + "é" + "s" is the word "ines"), into several, or into
    /// none, and it may separate words. So it adds up to four bytes to the high bound and
    /// nothing to the low one. ASCII letters touching such a character add to the low bound
    /// only when there are four or more of them and they are not a stop word: a shorter run
    /// may end up in a stop word ("On" of "On‑call", with a non-breaking hyphen).
    static func letterBounds(_ name: String) -> (low: Int, high: Int) {
        var low = 0
        var high = 0
        var word: UInt32 = 0
        var length = 0
        // Whether the current run of ASCII letters touches a character beyond ASCII.
        var touches = false
        func endRun(touching next: Bool) {
            if length > 0 {
                let isStopWord = length <= 4 && stopWordsPacked.contains(word)
                if touches || next {
                    high += length
                    if length >= 4 && !isStopWord { low += length }
                } else if !isStopWord {
                    low += length
                    high += length
                }
            }
            word = 0
            length = 0
            touches = next
        }
        for byte in name.utf8 {
            if byte >= 0x80 {
                // The first byte of a character (not a continuation byte).
                if byte >= 0xC0 {
                    endRun(touching: true)
                    high += 4
                }
                continue
            }
            let lower = byte | 0x20
            if (byte >= 0x30 && byte <= 0x39) || (lower >= 0x61 && lower <= 0x7A) {
                let folded = byte >= 0x41 && byte <= 0x5A ? lower : byte
                if length < 4 { word = word << 8 | UInt32(folded) }
                length += 1
            } else {
                endRun(touching: false)
            }
        }
        endRun(touching: false)
        return (low, high)
    }

    /// The analyzer's stop words (all of four letters or fewer), each packed into an integer.
    static let stopWordsPacked: Set<UInt32> = Set(
        Analyzer.stopWords.filter { $0.utf8.count <= 4 }.map { $0.utf8.reduce(UInt32(0)) { $0 << 8 | UInt32($1) } })

    /// The content words `candidate` covers, itself or through its template.
    private func coveredWords(by candidate: Candidate, _ words: Words) -> [String] {
        let slot = slots[candidate.slot]
        let intent = template(of: slot).flatMap { words.templates[$0] }?.words ?? 0
        return words.content.enumerated().compactMap { index, word in
            let own = word.terms[candidate.slot].contains { slot.segment.score(of: $0.term, in: candidate.doc) != nil }
            return own || intent & (1 << UInt64(index)) != 0 ? word.text : nil
        }
    }

    private func allowedCodes(_ wanted: Set<String>, _ names: [String]) -> [Bool]? {
        wanted.isEmpty ? nil : names.map { wanted.contains($0.lowercased()) }
    }

    /// Up to this many results are kept in order as candidates arrive; beyond it (deep
    /// pages) candidates are collected and sorted once.
    static let insertionLimit = 200

    /// Higher rank first, then higher score; ties by segment and document order, so results
    /// are stable.
    static func precedes(_ candidate: Candidate, _ other: Candidate) -> Bool {
        if candidate.rank != other.rank { return candidate.rank > other.rank }
        if candidate.score != other.score { return candidate.score > other.score }
        if candidate.slot != other.slot { return candidate.slot < other.slot }
        return candidate.doc < other.doc
    }

    @inline(__always) static func insert(_ candidate: Candidate, into top: inout [Candidate]) {
        var index = top.count
        while index > 0 && precedes(candidate, top[index - 1]) { index -= 1 }
        top.insert(candidate, at: index)
    }

    /// Finds a query word's terms in every segment: the word itself (by its stem), words it
    /// begins (while typing), and only when neither exists anywhere, words one typo away.
    private func resolve(_ word: String, isPrefix: Bool) -> Word {
        let stem = Analyzer.term(word)
        let alternatives = synonyms.alternatives(of: stem)
        var terms = [[(term: UInt32, kind: MatchKind)]](repeating: [], count: slots.count)
        for (index, slot) in slots.enumerated() {
            let exact = slot.segment.termIDs[stem].flatMap { visible($0, in: slot) ? $0 : nil }
            if let exact { terms[index].append((exact, .exact)) }
            for alternative in alternatives {
                if let term = slot.segment.termIDs[alternative], visible(term, in: slot) {
                    terms[index].append((term, .synonym))
                }
            }
            if isPrefix {
                for term in slot.segment.prefixTerms(word, limit: 48) where term != exact && visible(term, in: slot) {
                    terms[index].append((term, .prefix))
                }
            }
        }
        var resolved = Word(text: word, terms: terms, correction: nil, isPrefix: isPrefix)
        // Typos are looked for when the word matches nothing, or when nobody ever wrote it
        // this way and only its stem matched ("stickness" → stick, but meant stickiness).
        let typed = slots.contains { $0.segment.containsWord(word) }
        if (resolved.matched && typed) || word.count < IndexSegment.minimumTypoLength
            || word.contains(where: \.isNumber)
        {
            return resolved
        }
        var best: (word: String, frequency: Int)?
        for (index, slot) in slots.enumerated() {
            var seen = Set<UInt32>()
            for candidate in slot.segment.wordsWithinOneEdit(of: word) {
                guard let term = slot.segment.term(ofWord: candidate), seen.insert(term).inserted,
                    visible(term, in: slot)
                else { continue }
                terms[index].append((term, .typo))
                let frequency = slot.segment.documentFrequency(term)
                if best == nil || frequency > best!.frequency
                    || (frequency == best!.frequency && candidate < best!.word)
                {
                    best = (candidate, frequency)
                }
            }
        }
        resolved.terms = terms
        resolved.correction = best?.word
        if let correction = best?.word, Analyzer.term(correction) == stem { resolved.correction = nil }
        return resolved
    }

    /// Whether `term` occurs in a live document the viewer may see. A word found only in
    /// restricted documents is treated as unknown, so that neither "did you mean" nor the
    /// words left out can tell an outsider that it exists.
    private func visible(_ term: UInt32, in slot: SearchIndex.Slot) -> Bool {
        let segment = slot.segment
        if viewer.isAdmin || (!segment.hasRestricted && slot.deleted.isEmpty) { return true }
        for position in segment.postingStart[Int(term)]..<segment.postingStart[Int(term) + 1] {
            let doc = segment.postingDocs[position]
            if slot.deleted.contains(doc) { continue }
            if !segment.columns.restricted[Int(doc)] || segment.documents[Int(doc)].isVisible(to: viewer) {
                return true
            }
        }
        return false
    }

    /// The query as typed, with each misspelt word replaced (quotes and filters kept).
    private func correctedText(_ corrections: [(from: String, to: String)]) -> String {
        var text = query.text
        for (range, word) in Analyzer.wordRanges(query.text).reversed() {
            if let correction = corrections.first(where: { $0.from == word }) {
                text.replaceSubrange(range, with: correction.to)
            }
        }
        return text
    }

    /// "retention (exact, title…) 4.12 + …; × 1.45 popularity (…)".
    private func explain(_ candidate: Candidate, words: [Word]) -> String {
        let slot = slots[candidate.slot]
        let segment = slot.segment
        var parts: [String] = []
        for word in words {
            var best: (String, MatchKind, Float)?
            for (term, kind) in word.terms[candidate.slot] {
                guard let score = segment.score(of: term, in: candidate.doc) else { continue }
                let weighted = score * kind.factor
                if best == nil || weighted > best!.2 { best = (segment.terms[Int(term)], kind, weighted) }
            }
            if let (term, kind, score) = best {
                parts.append("'\(word.text)' → \(term) (\(kind)) \(String(format: "%.3f", score))")
            }
        }
        let document = segment.documents[Int(candidate.doc)]
        var factors = [String(format: "text %.3f", candidate.text)]
        let views = slot.views30[Int(candidate.doc)]
        factors.append(String(format: "× %.3f ranking factor", slot.priors[Int(candidate.doc)]))
        var reasons: [String] = []
        if views > 0 { reasons.append("\(views) views in 30 days") }
        if document.certified { reasons.append("certified ×1.3") }
        if document.status == .deprecated { reasons.append("deprecated ×0.4") }
        if let key = document.clickKey, let opened = clicks[key], opened > 0 {
            reasons.append("opened \(opened) times after this query")
        }
        if !reasons.isEmpty { factors.append("(" + reasons.joined(separator: ", ") + ")") }
        // The tiers that come before the score.
        let tier = candidate.rank % Self.coverageRank
        var tiers = ["\(candidate.rank / Self.coverageRank) of \(words.count) words"]
        if tier >= Self.exactRank { tiers.append("exact name") }
        if tier % Self.exactRank >= Self.intentRank { tiers.append("opens a template those words describe") }
        factors.insert("[" + tiers.joined(separator: ", ") + "]", at: 0)
        return parts.joined(separator: " + ") + "; " + factors.joined(separator: " ")
            + String(format: " = %.3f", candidate.score)
    }
}

/// Facet counts merged over segments. Each segment contributes its most frequent values
/// only (it counts by code into an array; names are looked at only for the few it reports).
///
/// A segment's values are distinct (its columns intern them), so the first segment's are kept
/// as they come; they are hashed by name only when a second segment reports too (most queries
/// match in one segment: hashing names cost 15% of a search with facets).
struct FacetCounter {
    private var values: [SearchFacet.Value] = []
    /// Where each value sits in `values`, once a second segment has reported.
    private var positions: [String: Int]?
    /// Values a segment reports at most; more than any facet shows.
    static let perSegment = 50

    mutating func add(_ local: [Int], values names: [String], labels: [String]) {
        var best: [(code: Int, count: Int)] = []
        for (code, count) in local.enumerated() where count > 0 {
            if best.count == Self.perSegment {
                guard count > best[best.count - 1].count else { continue }
                best.removeLast()
            }
            var index = best.count
            while index > 0 && best[index - 1].count < count { index -= 1 }
            best.insert((code, count), at: index)
        }
        guard !best.isEmpty else { return }
        guard !values.isEmpty else {
            values = best.map { SearchFacet.Value(value: names[$0.code], label: labels[$0.code], count: $0.count) }
            return
        }
        var positions =
            self.positions
            ?? Dictionary(uniqueKeysWithValues: values.enumerated().map { ($1.value, $0) })
        for (code, count) in best {
            if let position = positions[names[code]] {
                values[position].count += count
            } else {
                positions[names[code]] = values.count
                values.append(SearchFacet.Value(value: names[code], label: labels[code], count: count))
            }
        }
        self.positions = positions
    }

    func top(_ limit: Int) -> [SearchFacet.Value] {
        Array(values.sorted { ($1.count, $0.value) < ($0.count, $1.value) }.prefix(limit))
    }
}
