public import AlmanacCore
import Foundation
import Synchronization

/// Options of one search.
public struct SearchOptions: Sendable, Hashable {
    public var limit: Int
    public var offset: Int
    /// Count matches by kind, team, status and tag.
    public var facets: Bool
    /// Attach a score explanation to each hit.
    public var explain: Bool
    /// Build highlighted titles and snippets for the returned hits.
    public var snippets: Bool

    public init(limit: Int = 20, offset: Int = 0, facets: Bool = true, explain: Bool = false, snippets: Bool = true) {
        self.limit = max(0, min(limit, 100))
        self.offset = max(0, min(offset, 10_000))
        self.facets = facets
        self.explain = explain
        self.snippets = snippets
    }
}

/// Text with the parts that matched the query marked.
public struct HighlightedText: Sendable, Hashable, Codable {
    public struct Part: Sendable, Hashable, Codable {
        public var text: String
        public var matched: Bool
        public init(text: String, matched: Bool) {
            self.text = text
            self.matched = matched
        }
    }
    public var parts: [Part]

    public init(parts: [Part]) { self.parts = parts }
    public init(plain text: String) { parts = text.isEmpty ? [] : [Part(text: text, matched: false)] }

    public var plain: String { parts.map(\.text).joined() }
    public var isEmpty: Bool { parts.isEmpty }
}

/// One result.
public struct SearchHit: Sendable {
    public var document: SearchDocument
    public var score: Double
    public var title: HighlightedText
    public var snippet: HighlightedText
    public var views30: Int
    /// How the score came about (with `explain`).
    public var explanation: String?
}

/// Match counts by one dimension, for the facets beside the results.
public struct SearchFacet: Sendable, Hashable {
    public struct Value: Sendable, Hashable {
        public var value: String
        /// "Report" for `report`, "Growth" for team `growth`.
        public var label: String
        public var count: Int
    }
    /// `kind`, `team`, `status` or `tag`: the filter key the values go with.
    public var name: String
    /// Most matches first (statuses in lifecycle order).
    public var values: [Value]
}

/// The answer to a query for one viewer: only what the viewer may see is in the hits, the
/// total and the facets.
public struct SearchResults: Sendable {
    public var query: SearchQuery
    public var hits: [SearchHit]
    /// Matches visible to the viewer.
    public var total: Int
    public var facets: [SearchFacet]
    /// Misspelt words and the word searched instead.
    public var corrections: [(from: String, to: String)]
    /// The query with the corrections applied, when there were any.
    public var didYouMean: String?
    /// Words that matched nothing at all and were left out.
    public var ignoredWords: [String]
    /// How many matches were drafts or retired and left out (so the page can say how to see them).
    public var hiddenStatuses: Int
    /// Set when no result has every word: the words the first result has.
    public var partialWords: [String]? = nil
}

/// The search index: the catalog's documents and each entity's values, with popularity,
/// queried by any number of requests at once and updated in place.
///
/// Readers take the current snapshot (segments are immutable) and never wait for an
/// update; an update builds new segments off to the side and swaps them in.
public final class SearchIndex: Sendable {
    struct Slot: Sendable {
        var segment: IndexSegment
        /// Documents replaced or removed since the segment was built.
        var deleted: Set<UInt32> = []
        /// Ranking factor per document: popularity, certified, deprecated.
        var priors: [Float]
        var views30: [Int32]
    }

    struct Snapshot: Sendable {
        var catalogBase: Slot?
        /// Documents added or changed since the base was built (an incremental update).
        var catalogDelta: Slot?
        var entities: [String: Slot] = [:]
        var popularity: [String: Popularity] = [:]
        /// Results opened from each normalised query: `[query: [item: clicks]]` (see
        /// ``SearchDocument/clickKey``).
        var queryClicks: [String: [String: Int]] = [:]
        var synonyms = SynonymTable()
        var rawSynonyms: [[String]] = []
        var generation = 0
        /// Counts the changes to the documents alone (see ``SearchIndex/documentsGeneration``).
        var documentsGeneration = 0
        /// The catalog version the catalog documents came from, when the caller said.
        var catalogVersion: String?

        var slots: [Slot] {
            [catalogBase, catalogDelta].compactMap { $0 } + entities.keys.sorted().compactMap { entities[$0] }
        }
    }

    private let state = Mutex(Snapshot())
    /// Serialises writers; readers never take it.
    private let writer = Mutex(())

    public init() {}

    /// Counts every change to the index (catalog, entity values, popularity, synonyms):
    /// results cached under one generation are the index's answers until it moves.
    public var generation: Int { state.withLock { $0.generation } }

    /// Counts the changes to what is indexed (catalog documents, entity values, synonyms), not
    /// to the ranking (popularity, clicks): what may be found, and by whom, changes only with it,
    /// so a result cached under another one must not be served even while out-of-date pages are.
    public var documentsGeneration: Int { state.withLock { $0.documentsGeneration } }

    /// ``generation`` and ``documentsGeneration`` read together.
    public var generations: (all: Int, documents: Int) {
        state.withLock { ($0.generation, $0.documentsGeneration) }
    }

    // MARK: - Updates

    /// Replaces the catalog's documents, rebuilding only what changed: when few documents
    /// changed, the changed ones go into a small delta segment and their old versions are
    /// masked; otherwise everything is rebuilt. Returns how many documents were (re)indexed.
    @discardableResult
    public func updateCatalog(
        _ documents: [SearchDocument], synonyms: [[String]] = [], version: String? = nil
    ) -> Int {
        defer { state.withLock { $0.catalogVersion = version } }
        return writer.withLock { _ in
            let current = state.withLock { $0 }
            if synonyms != current.rawSynonyms || current.catalogBase == nil {
                let table = SynonymTable(synonyms)
                let base = makeSlot(IndexSegment(documents: documents, synonyms: table), current.popularity)
                state.withLock {
                    $0.catalogBase = base
                    $0.catalogDelta = nil
                    $0.synonyms = table
                    $0.rawSynonyms = synonyms
                    $0.generation += 1
                    $0.documentsGeneration += 1
                }
                return documents.count
            }
            // Which live documents are unchanged?
            var live: [SearchTarget: (slot: Int, doc: UInt32)] = [:]
            let slots = [current.catalogBase, current.catalogDelta]
            for (slotIndex, slot) in slots.enumerated() {
                guard let slot else { continue }
                for (doc, document) in slot.segment.documents.enumerated() where !slot.deleted.contains(UInt32(doc)) {
                    live[document.target] = (slotIndex, UInt32(doc))
                }
            }
            var fresh: [SearchDocument] = []
            var deleted: [Set<UInt32>] = [current.catalogBase?.deleted ?? [], current.catalogDelta?.deleted ?? []]
            var seen = Set<SearchTarget>()
            for document in documents {
                seen.insert(document.target)
                if let (slotIndex, doc) = live[document.target] {
                    if slots[slotIndex]!.segment.documents[Int(doc)] == document { continue }
                    deleted[slotIndex].insert(doc)
                }
                fresh.append(document)
            }
            for (target, (slotIndex, doc)) in live where !seen.contains(target) { deleted[slotIndex].insert(doc) }
            if fresh.isEmpty && deleted[0] == (current.catalogBase?.deleted ?? [])
                && deleted[1] == (current.catalogDelta?.deleted ?? [])
            {
                return 0
            }
            // The delta keeps its own live documents plus the fresh ones.
            var deltaDocuments: [SearchDocument] = []
            if let delta = current.catalogDelta {
                for (doc, document) in delta.segment.documents.enumerated() where !deleted[1].contains(UInt32(doc)) {
                    deltaDocuments.append(document)
                }
            }
            deltaDocuments += fresh
            if deltaDocuments.count > max(256, documents.count / 10) {
                // Too much has changed for a delta: rebuild.
                let base = makeSlot(IndexSegment(documents: documents, synonyms: current.synonyms), current.popularity)
                state.withLock {
                    $0.catalogBase = base
                    $0.catalogDelta = nil
                    $0.generation += 1
                    $0.documentsGeneration += 1
                }
                return documents.count
            }
            let delta =
                deltaDocuments.isEmpty
                ? nil
                : makeSlot(
                    IndexSegment(
                        documents: deltaDocuments, synonyms: current.synonyms, reference: current.catalogBase?.segment),
                    current.popularity)
            state.withLock {
                $0.catalogBase?.deleted = deleted[0]
                $0.catalogDelta = delta
                $0.generation += 1
                $0.documentsGeneration += 1
            }
            return fresh.count
        }
    }

    /// Replaces the values of one entity (after its lookup was read from the warehouse).
    public func replaceEntityValues(_ entity: String, _ documents: [SearchDocument]) {
        replaceEntityValues([(entity, documents)])
    }

    /// Replaces the values of several entities, building their segments in parallel (one per
    /// core), and swaps them in together.
    public func replaceEntityValues(_ batches: [(entity: String, documents: [SearchDocument])]) {
        writer.withLock { _ in
            let popularity = state.withLock { $0.popularity }
            let built = Mutex([String: Slot?]())
            DispatchQueue.concurrentPerform(iterations: batches.count) { index in
                let (entity, documents) = batches[index]
                let slot = documents.isEmpty ? nil : makeSlot(IndexSegment(documents: documents), popularity)
                built.withLock { $0[entity] = .some(slot) }
            }
            let slots = built.withLock { $0 }
            state.withLock {
                for (entity, slot) in slots { $0.entities[entity] = slot }
                $0.generation += 1
                $0.documentsGeneration += 1
            }
        }
    }

    /// Drops entities no longer in the catalog.
    public func retainEntities(_ ids: Set<String>) {
        writer.withLock { _ in
            state.withLock { snapshot in
                for key in snapshot.entities.keys where !ids.contains(key) { snapshot.entities[key] = nil }
                snapshot.generation += 1
                snapshot.documentsGeneration += 1
            }
        }
    }

    /// The results people opened from each query (`[normalised query: [item: clicks]]`): a
    /// result opened often after a query ranks higher for that query.
    public func updateQueryClicks(_ clicks: [String: [String: Int]]) {
        writer.withLock { _ in
            state.withLock {
                $0.queryClicks = clicks
                $0.generation += 1
            }
        }
    }

    /// New view counts: only the ranking factors are recomputed, no text is re-indexed.
    public func updatePopularity(_ popularity: [String: Popularity]) {
        writer.withLock { _ in
            let current = state.withLock { $0 }
            var updated = current
            updated.popularity = popularity
            updated.catalogBase = current.catalogBase.map { rerank($0, popularity) }
            updated.catalogDelta = current.catalogDelta.map { rerank($0, popularity) }
            updated.entities = current.entities.mapValues { rerank($0, popularity) }
            updated.generation += 1
            state.withLock { $0 = updated }
        }
    }

    private func makeSlot(_ segment: IndexSegment, _ popularity: [String: Popularity]) -> Slot {
        rerank(Slot(segment: segment, priors: [], views30: []), popularity)
    }

    private func rerank(_ slot: Slot, _ popularity: [String: Popularity]) -> Slot {
        var slot = slot
        slot.priors = slot.segment.documents.map { document in
            var prior = Self.kindWeight(document.kind)
            if let key = document.popularityKey, let figures = popularity[key] { prior *= figures.boost }
            if document.certified { prior *= 1.3 }
            if document.status == .deprecated { prior *= 0.4 }
            return prior
        }
        slot.views30 = slot.segment.documents.map { document in
            Int32(clamping: document.popularityKey.flatMap { popularity[$0]?.views30 } ?? 0)
        }
        return slot
    }

    /// What people come to a reporting portal for ranks first: reports, templates, metrics
    /// and entity values; then teams and people; sources, annotations, deliveries and
    /// entity definitions last.
    static func kindWeight(_ kind: String) -> Float {
        switch kind {
        case "report", "template", "metric": 1
        case "team", "person": 0.9
        case "source", "entity", "annotation", "subscription", "trigger", "backend": 0.75
        default: 1  // entity values (customer, campaign…) and anything new
        }
    }

    /// The catalog version last indexed (as given to ``updateCatalog(_:synonyms:version:)``).
    public var catalogVersion: String? { state.withLock { $0.catalogVersion } }

    /// Counts for the admin pages and logs.
    public var statistics: (documents: Int, catalogDocuments: Int, entityValues: Int, terms: Int, generation: Int) {
        let snapshot = state.withLock { $0 }
        let catalog = [snapshot.catalogBase, snapshot.catalogDelta].compactMap { $0 }
            .reduce(0) { $0 + $1.segment.count - $1.deleted.count }
        let entities = snapshot.entities.values.reduce(0) { $0 + $1.segment.count }
        let terms = snapshot.slots.reduce(0) { $0 + $1.segment.terms.count }
        return (catalog + entities, catalog, entities, terms, snapshot.generation)
    }

    /// Every live document (for tests and the CLI).
    public var documents: [SearchDocument] {
        state.withLock { $0 }.slots.flatMap { slot in
            slot.segment.documents.enumerated().filter { !slot.deleted.contains(UInt32($0.offset)) }.map(\.element)
        }
    }

    // MARK: - Queries

    /// Runs `query` for `viewer`. Never throws: any input gives results or none.
    public func search(_ query: SearchQuery, viewer: Viewer, options: SearchOptions = SearchOptions()) -> SearchResults
    {
        let snapshot = state.withLock { $0 }
        return QueryRun(
            query: query, viewer: viewer, options: options, slots: snapshot.slots, synonyms: snapshot.synonyms,
            clicks: snapshot.queryClicks.isEmpty ? [:] : snapshot.queryClicks[query.normalized] ?? [:]
        ).run()
    }

    /// Convenience: parse and search.
    public func search(_ text: String, viewer: Viewer, options: SearchOptions = SearchOptions()) -> SearchResults {
        search(SearchQuery(parsing: text), viewer: viewer, options: options)
    }

    /// Type-ahead: the best few hits for what has been typed so far.
    public func suggest(_ text: String, viewer: Viewer, limit: Int = 8) -> [SearchHit] {
        search(
            SearchQuery(parsing: text), viewer: viewer,
            options: SearchOptions(limit: limit, facets: false, snippets: false)
        ).hits
    }
}
