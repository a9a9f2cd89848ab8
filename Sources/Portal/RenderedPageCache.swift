import AlmanacCore
import Catalog
import Foundation
import Hummingbird
import NIOCore
import Synchronization

/// Rendered pages kept in memory, one per audience rather than per reader.
///
/// A page is rendered for an ``Audience``'s nameless reader with two gaps: the reader's name
/// and the view count of the item it shows. A hit fills the gaps into copies of the cached
/// bytes, so thousands of readers in the same groups cost one render. Concurrent misses on the
/// same page wait for one render. The cache is bounded in bytes; past the bound, the pages
/// used longest ago go.
final class RenderedPageCache: Sendable {
    /// Everything a cached page depends on besides the reader's name and its view count.
    struct Key: Hashable, Sendable {
        enum Format: Hashable, Sendable { case html, json }
        var path: String
        var format = Format.html
        /// The query's parameters, sorted, so their order does not split the cache.
        var query: [String] = []
        var audience: Audience
        var catalogRevision: String
        var catalogBroken: Bool
        /// "… ago" and "next run" are written to the minute.
        var minute: Int
        /// Lists show view counts and usage as of the last background refresh.
        var usageRevision: Int = 0
        /// Search pages: the index's answers change with it (entity values, popularity).
        var indexGeneration: Int = 0
        /// The day the data ends on (template renders).
        var dataDay: String? = nil
        var artifactVersion: String? = nil
        /// The stale-dashboard notice shown while remote generators fail.
        var notice: String? = nil

        /// What the key itself costs, roughly, beside the page.
        var bytes: Int {
            200 + path.utf8.count + query.reduce(0) { $0 + $1.utf8.count + 16 } + catalogRevision.utf8.count
                + (audience.groups + audience.teams).reduce(0) { $0 + $1.utf8.count + 16 }
        }
    }

    /// The item a page counts a view of, recorded again on every hit.
    struct CountedView: Sendable {
        var kind: ItemKind
        var id: String
        var parameters: [String: String] = [:]
    }

    /// A page's bytes around its gaps.
    struct Entry: Sendable {
        enum Gap: Sendable { case readerName, viewCount, shared }
        let pieces: [ByteBuffer]
        let gaps: [Gap]
        let countedView: CountedView?
        /// Whether the count is written as JSON writes numbers ("12345") rather than for people.
        var plainCount = false
        /// A large part many audiences' pages have in common (a dashboard), kept once however
        /// many pages hold it (see ``RenderedPageCache/page(for:render:)``).
        fileprivate(set) var shared: ByteBuffer?

        /// - Parameters:
        ///   - html: the page, with ``RenderedPageCache/sharedMarker`` where `shared` goes.
        ///   - shared: the part in common, if any.
        init(html: String, countedView: CountedView?, shared: String? = nil) {
            // One pass over the bytes: every marker starts with a byte no other text here does
            // (the count's "9090…" is checked where a '9' starts it).
            let bytes = Array(html.utf8)
            var markers: [([UInt8], Gap)] = [
                (Array(RenderedPageCache.readerMarker.utf8), .readerName),
                (Array(RenderedPageCache.countMarker.utf8), .viewCount),
            ]
            if shared != nil { markers.append((Array(RenderedPageCache.sharedMarker.utf8), .shared)) }
            var pieces: [ByteBuffer] = []
            var gaps: [Gap] = []
            var start = 0
            var index = 0
            scan: while index < bytes.count {
                let byte = bytes[index]
                if byte == 0xEF || byte == UInt8(ascii: "9") {
                    for (marker, gap) in markers where marker.first == byte {
                        guard index + marker.count <= bytes.count,
                            bytes[index..<index + marker.count].elementsEqual(marker)
                        else { continue }
                        pieces.append(ByteBuffer(bytes: bytes[start..<index]))
                        gaps.append(gap)
                        index += marker.count
                        start = index
                        continue scan
                    }
                }
                index += 1
            }
            pieces.append(ByteBuffer(bytes: bytes[start..<bytes.count]))
            self.pieces = pieces
            self.gaps = gaps
            self.countedView = countedView
            self.shared = shared.map { ByteBuffer(string: $0) }
        }

        /// The page's own bytes (not the shared part).
        var bytes: Int { pieces.reduce(0) { $0 + $1.readableBytes } }

        /// The page for one reader as the pieces to write: the cached bytes themselves (not
        /// copied) with their name (HTML-escaped) and the current count in the gaps.
        func pieces(readerName: String, count: Int) -> [ByteBuffer] {
            let name = ByteBuffer(string: Markup.escape(readerName, doubleQuote: true, singleQuote: true))
            let number = ByteBuffer(string: plainCount ? String(count) : Self.grouped(count))
            var result: [ByteBuffer] = []
            result.reserveCapacity(pieces.count * 2)
            for (index, piece) in pieces.enumerated() {
                result.append(piece)
                guard index < gaps.count else { continue }
                switch gaps[index] {
                case .readerName: result.append(name)
                case .viewCount: result.append(number)
                case .shared: if let shared { result.append(shared) }
                }
            }
            return result
        }

        /// `count` with thousands separators, as the pages write numbers ("12,345"), without
        /// asking ICU on every request.
        static func grouped(_ count: Int) -> String {
            let digits = String(count.magnitude)
            var result = count < 0 ? "-" : ""
            for (index, digit) in digits.enumerated() {
                if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
                result.append(digit)
            }
            return result
        }
    }

    /// Rendered in place of the view count; no page shows this number otherwise.
    static let placeholder = 9_090_909_090_909_090
    static let countMarker = String(placeholder)
    /// Rendered in place of the reader's name: private-use characters no catalog text holds
    /// next to this word, and that HTML escaping leaves alone.
    static let readerMarker = "\u{F8FF}reader\u{F8FF}"
    /// Rendered in place of a page's shared part (a dashboard's HTML, not escaped).
    static let sharedMarker = "\u{F8FF}shared\u{F8FF}"

    private struct Stored {
        var entry: Entry
        var bytes: Int
        var lastUsed: UInt64
    }
    private struct State {
        var entries: [Key: Stored] = [:]
        var rendering: [Key: Task<Entry, any Error>] = [:]
        /// Shared parts by content, with how many kept pages hold each: a part is counted in
        /// `bytes` once, while some page holds it.
        var shared: [ByteBuffer: Int] = [:]
        var bytes = 0
        var tick: UInt64 = 0

        /// Takes the entry's shared part in (or finds the same bytes already kept) and counts it.
        mutating func hold(_ entry: inout Entry) {
            guard let part = entry.shared else { return }
            if let index = shared.index(forKey: part) {
                entry.shared = shared.keys[index]  // the same storage, not a second copy
                shared.values[index] += 1
            } else {
                shared[part] = 1
                bytes += part.readableBytes
            }
        }

        mutating func release(_ entry: Entry) {
            guard let part = entry.shared, let count = shared[part] else { return }
            if count > 1 {
                shared[part] = count - 1
            } else {
                shared[part] = nil
                bytes -= part.readableBytes
            }
        }
    }
    private let state = Mutex(State())
    private let renders = Atomic<Int>(0)
    /// The most the cache holds, in bytes of pages and keys.
    let capacityBytes: Int
    private let metrics: CacheMetrics

    init(capacityBytes: Int = 256 << 20) {
        self.capacityBytes = capacityBytes
        self.metrics = CacheMetrics(cache: "page", capacityBytes: capacityBytes)
    }

    /// Bytes held now (pages and keys).
    var bytes: Int { state.withLock { $0.bytes } }
    var count: Int { state.withLock { $0.entries.count } }
    /// Pages rendered for the cache so far.
    var rendered: Int { renders.load(ordering: .relaxed) }

    /// The cached page for `key`, or `render`'s, rendered once however many ask at once.
    /// A failure (a 404, a tombstone) is not kept.
    func page(for key: Key, render: @escaping @Sendable () async throws -> Entry) async throws -> Entry {
        enum Found {
            case hit(Entry)
            case wait(Task<Entry, any Error>)
        }
        let found = state.withLock { state -> Found in
            if let stored = state.entries[key] {
                state.tick += 1
                state.entries[key]?.lastUsed = state.tick
                return .hit(stored.entry)
            }
            if let task = state.rendering[key] { return .wait(task) }
            let task = Task { [self] in
                renders.add(1, ordering: .relaxed)
                return try await render()
            }
            state.rendering[key] = task
            return .wait(task)
        }
        switch found {
        case .hit(let entry):
            metrics.hit()
            return entry
        case .wait(let task):
            metrics.miss()
            do {
                let entry = try await task.value
                store(entry, for: key, task: task)
                return entry
            } catch {
                state.withLock { state in
                    if state.rendering[key] == task { state.rendering[key] = nil }
                }
                throw error
            }
        }
    }

    private func store(_ entry: Entry, for key: Key, task: Task<Entry, any Error>) {
        let (evicted, bytes, count) = state.withLock { state -> (Int, Int, Int) in
            guard state.rendering[key] == task else { return (0, state.bytes, state.entries.count) }
            state.rendering[key] = nil
            let size = entry.bytes + key.bytes
            guard size + (entry.shared?.readableBytes ?? 0) <= capacityBytes / 4 else {
                return (0, state.bytes, state.entries.count)
            }
            state.tick += 1
            var kept = entry
            state.hold(&kept)
            let stored = Stored(entry: kept, bytes: size, lastUsed: state.tick)
            if let old = state.entries.updateValue(stored, forKey: key) {
                state.bytes -= old.bytes
                state.release(old.entry)
            }
            state.bytes += size
            var evicted = 0
            if state.bytes > capacityBytes {
                // Down to 90%, so eviction (a sort) runs once per many stores, not on each.
                for (old, stored) in state.entries.sorted(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                    guard state.bytes > capacityBytes * 9 / 10 else { break }
                    state.entries[old] = nil
                    state.bytes -= stored.bytes
                    state.release(stored.entry)
                    evicted += 1
                }
            }
            return (evicted, state.bytes, state.entries.count)
        }
        metrics.held(bytes: bytes, entries: count, evicted: evicted)
    }
}

/// Which audience each reader belongs to in the current catalog, remembered per reader so a
/// request costs a dictionary lookup (the audience needs a pass over the catalog's teams).
final class Audiences: Sendable {
    private struct State {
        var revision = ""
        var accessGroups: Set<String> = []
        var known: [Viewer: Audience] = [:]
    }
    private let state = Mutex(State())
    /// Readers remembered at most; past it the memory starts over.
    let capacity: Int

    init(capacity: Int = 50_000) { self.capacity = capacity }

    func audience(of viewer: Viewer, in catalog: Catalog) -> Audience {
        let revision = catalog.revision
        if let known = state.withLock({ $0.revision == revision ? $0.known[viewer] : nil }) { return known }
        let groups =
            state.withLock { $0.revision == revision ? $0.accessGroups : nil } ?? catalog.accessGroups
        let audience = catalog.audience(of: viewer, accessGroups: groups)
        state.withLock { state in
            if state.revision != revision {
                state = State(revision: revision, accessGroups: groups)
            }
            if state.known.count >= capacity { state.known.removeAll(keepingCapacity: true) }
            state.known[viewer] = audience
        }
        return audience
    }
}
