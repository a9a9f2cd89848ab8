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
///
/// A page is kept once per ``Key/stable`` key. What changes by the minute on its own (the
/// "… ago" texts, usage lists, search ranking: ``Key/freshness``) makes a page out of date,
/// not wrong for its audience. With a ``StalePolicy``, a kept page whose figures have moved is
/// served as it is for a while after its render, then while one render of the current page
/// runs in the background, so no reader waits for those renders and a page is rendered again
/// at most about once per ``StalePolicy/refreshAfter`` however often its figures move.
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
        /// Search pages: what the index holds (``SearchIndex/documentsGeneration``). Part of the
        /// stable key: a page from other documents may show what its audience may no longer see.
        var indexDocuments: Int = 0
        /// The day the data ends on (template renders).
        var dataDay: String? = nil
        var artifactVersion: String? = nil
        /// The stale-dashboard notice shown while remote generators fail.
        var notice: String? = nil

        /// The parts that only date a page (see ``Freshness``).
        var freshness: Freshness {
            Freshness(minute: minute, usageRevision: usageRevision, indexGeneration: indexGeneration)
        }

        /// The key without its ``freshness``: one page is kept per stable key.
        var stable: Key {
            var key = self
            key.minute = 0
            key.usageRevision = 0
            key.indexGeneration = 0
            return key
        }

        /// What the key itself costs, roughly, beside the page.
        var bytes: Int {
            200 + path.utf8.count + query.reduce(0) { $0 + $1.utf8.count + 16 } + catalogRevision.utf8.count
                + (audience.groups + audience.teams).reduce(0) { $0 + $1.utf8.count + 16 }
        }
    }

    /// What dates a page without changing who may read it: the minute it was rendered in, and
    /// the usage figures and search index it was rendered from.
    struct Freshness: Hashable, Sendable {
        var minute: Int
        var usageRevision: Int
        var indexGeneration: Int
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
        /// A search page's number of results, for the search log.
        var resultCount: Int?
        /// A search page's query as the search log records it (parsed once, when rendered).
        var loggedQuery: String?
        /// A large part many audiences' pages have in common (a dashboard), kept once however
        /// many pages hold it (see ``RenderedPageCache/page(for:render:)``).
        fileprivate(set) var shared: ByteBuffer?
        /// Set when the cache keeps it: whether it still does (see ``isKept``).
        fileprivate(set) var liveness: Liveness?

        /// Whether the cache still holds this page for its key (not replaced by a newer render,
        /// not evicted); a page the cache never kept counts as kept. ``PageMemo`` answers a
        /// remembered page only while it is.
        var isKept: Bool { liveness?.isKept ?? true }

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

        /// An answer with no gaps (search results as JSON), kept as it is.
        init(body: ByteBuffer) {
            pieces = [body]
            gaps = []
            countedView = nil
        }

        /// The page's own bytes (not the shared part).
        var bytes: Int { pieces.reduce(0) { $0 + $1.readableBytes } }

        /// The page for one reader as the pieces to write: the cached bytes themselves (not
        /// copied) with their name (HTML-escaped) and the current count in the gaps.
        func pieces(readerName: String, count: Int) -> [ByteBuffer] {
            pieces(
                name: ByteBuffer(string: Markup.escape(readerName, doubleQuote: true, singleQuote: true)), count: count)
        }

        /// ``pieces(readerName:count:)`` with the name already escaped.
        func pieces(name: ByteBuffer, count: Int) -> [ByteBuffer] {
            // Most pages show no count.
            lazy var number = ByteBuffer(string: plainCount ? String(count) : Self.grouped(count))
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

    /// When a kept page whose figures have moved (another ``Freshness``) is served as it is.
    struct StalePolicy: Sendable {
        /// For this long after its render (plus up to half as much again, different for each
        /// page, so pages rendered together are not all rendered again together), it is served
        /// as it is.
        var refreshAfter: Double
        /// Until it is this old, it is served while one background render replaces it; an
        /// older page is rendered before it is served.
        var servedUntil: Double

        /// Pages out of date served as they are for `seconds`, then while they re-render, up
        /// to three times as long.
        init(seconds: Double) {
            refreshAfter = seconds
            servedUntil = seconds * 3
        }
    }

    private struct Stored {
        var entry: Entry
        var freshness: Freshness
        var bytes: Int
        var lastUsed: UInt64
        /// When it was rendered and when it is rendered again if its figures moved (seconds).
        var renderedAt: Double
        var refreshAt: Double
    }
    /// A kept page for a reader: current, out of date but servable (and whether its background
    /// render is due), too old to serve, or none.
    private enum Use {
        case current(Entry)
        case outOfDate(Entry, refreshDue: Bool, refreshAt: Double)
        case tooOld
        case missing
    }
    /// A render under way: it keeps its page itself, as the freshness of the key that started it.
    private struct Rendering {
        var id: UInt64
        var task: Task<Entry, any Error>
        /// Waiting for its turn behind other refreshes: nobody waits for it.
        var inBackground: Bool
    }
    /// A background render whose page was rendered in the foreground meanwhile.
    private struct Superseded: Error {}
    private struct State {
        /// By stable key.
        var entries: [Key: Stored] = [:]
        var rendering: [Key: Rendering] = [:]
        /// Shared parts by content, with how many kept pages hold each: a part is counted in
        /// `bytes` once, while some page holds it.
        var shared: [ByteBuffer: Int] = [:]
        var bytes = 0
        var tick: UInt64 = 0
        var renderIDs: UInt64 = 0

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

        /// What the page kept for `key` is worth to a reader asking with `freshness` at `now`
        /// (marked as used when kept).
        mutating func use(_ key: Key, _ freshness: Freshness, now: Double, policy: StalePolicy?) -> Use {
            // One lookup (the key's hash is most of what a hit costs).
            guard let index = entries.index(forKey: key) else { return .missing }
            tick += 1
            entries.values[index].lastUsed = tick
            let stored = entries.values[index]
            if stored.freshness == freshness { return .current(stored.entry) }
            guard let policy, now < stored.renderedAt + policy.servedUntil else { return .tooOld }
            return .outOfDate(
                stored.entry, refreshDue: now >= stored.refreshAt && rendering[key] == nil, refreshAt: stored.refreshAt)
        }

        mutating func release(_ entry: Entry) {
            entry.liveness?.supersede()
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
    /// One background render at a time.
    private let backgroundRenders: TakingTurns
    /// The most the cache holds, in bytes of pages and keys.
    let capacityBytes: Int
    /// `nil`: every out-of-date page is rendered before it is served.
    let stalePolicy: StalePolicy?
    /// Seconds since 1970, from the portal's clock.
    private let now: @Sendable () -> Double
    private let metrics: CacheMetrics

    /// - Parameter name: the `cache` label of its figures in `/metrics`.
    init(
        name: String = "page", capacityBytes: Int = 256 << 20, stalePolicy: StalePolicy? = nil,
        now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }
    ) {
        self.capacityBytes = capacityBytes
        self.stalePolicy = stalePolicy
        self.now = now
        let metrics = CacheMetrics(cache: name, capacityBytes: capacityBytes)
        self.metrics = metrics
        self.backgroundRenders = TakingTurns(onWaiting: { metrics.waiting($0) })
    }

    /// Bytes held now (pages and keys).
    var bytes: Int { state.withLock { $0.bytes } }
    var count: Int { state.withLock { $0.entries.count } }
    /// Pages rendered for the cache so far.
    var rendered: Int { renders.load(ordering: .relaxed) }

    /// The cached page for `key`, or `render`'s, rendered once however many ask at once.
    /// A failure (a 404, a tombstone) is not kept.
    ///
    /// A kept page of another ``Key/freshness`` is served as ``stalePolicy`` allows.
    func page(for key: Key, render: @escaping @Sendable () async throws -> Entry) async throws -> Entry {
        enum Found {
            case hit(Entry)
            case stale(Entry)
            case wait(Task<Entry, any Error>)
        }
        let stable = key.stable
        let freshness = key.freshness
        let policy = stalePolicy
        let now = policy == nil ? 0 : self.now()
        let found = state.withLock { state -> Found in
            func startRender(inBackground: Bool) -> Task<Entry, any Error> {
                state.renderIDs += 1
                let id = state.renderIDs
                renders.add(1, ordering: .relaxed)
                let task = Task { [self] in
                    do {
                        let entry: Entry
                        if inBackground {
                            // Refreshes take turns: rendering every page whose figures moved at
                            // once would stall the event loops that answer requests.
                            entry = try await backgroundRenders.run {
                                guard self.state.withLock({ $0.rendering[stable]?.id == id }) else {
                                    throw Superseded()
                                }
                                return try await render()
                            }
                        } else {
                            entry = try await render()
                        }
                        store(entry, for: stable, freshness, render: id)
                        return entry
                    } catch {
                        self.state.withLock { state in
                            if state.rendering[stable]?.id == id { state.rendering[stable] = nil }
                        }
                        throw error
                    }
                }
                state.rendering[stable] = Rendering(id: id, task: task, inBackground: inBackground)
                return task
            }
            switch state.use(stable, freshness, now: now, policy: policy) {
            case .current(let entry): return .hit(entry)
            case .outOfDate(let entry, let refreshDue, _):
                if refreshDue { _ = startRender(inBackground: true) }
                return .stale(entry)
            case .tooOld, .missing: break
            }
            // A reader waits for a render of their own, not for one queued behind refreshes.
            if let rendering = state.rendering[stable], !rendering.inBackground { return .wait(rendering.task) }
            return .wait(startRender(inBackground: false))
        }
        switch found {
        case .hit(let entry):
            metrics.hit()
            return entry
        case .stale(let entry):
            metrics.hit(stale: true)
            return entry
        case .wait(let task):
            metrics.miss()
            return try await task.value
        }
    }

    /// The kept page for `key` when it may be served now without a render: the same decision as
    /// ``page(for:render:)``'s, else `nil`, also when a kept page is due for its background
    /// render, which ``page(for:render:)`` starts.
    func cachedPage(for key: Key) -> Entry? { lookup(key)?.entry }

    /// ``cachedPage(for:)``'s page, and until when (in ``now()``'s seconds) it would be served as
    /// it is: `nil` while it is current, else until its refresh is due (an out-of-date page).
    func lookup(_ key: Key) -> (entry: Entry, servedUntil: Double?)? {
        let stable = key.stable
        let freshness = key.freshness
        let policy = stalePolicy
        let now = policy == nil ? 0 : self.now()
        switch state.withLock({ $0.use(stable, freshness, now: now, policy: policy) }) {
        case .current(let entry):
            metrics.hit()
            return (entry, nil)
        case .outOfDate(let entry, refreshDue: false, let refreshAt):
            metrics.hit(stale: true)
            return (entry, refreshAt)
        case .outOfDate(_, refreshDue: true, _), .tooOld, .missing:
            return nil
        }
    }

    /// A hit answered from a memo of this cache's lookups (``PageMemo``), counted as one.
    func countHit(stale: Bool) { metrics.hit(stale: stale) }

    /// The cache's clock, in seconds (what ``lookup(_:)``'s `servedUntil` is on).
    func clock() -> Double { now() }

    /// The kept answer for `key` if it may be served now (as ``cachedPage(for:)`` decides), else
    /// `answer`'s, computed by the caller at once and kept: for answers cheaper than a render
    /// task (search results, well under a millisecond), so concurrent misses each compute
    /// their own rather than wait for one.
    func answer(for key: Key, _ answer: () -> Entry) -> Entry {
        if let entry = cachedPage(for: key) { return entry }
        metrics.miss()
        let entry = answer()
        renders.add(1, ordering: .relaxed)
        store(entry, for: key.stable, key.freshness, render: nil)
        return entry
    }

    /// Waits for the renders under way now, background ones included (tests).
    func rendersSettled() async {
        for task in state.withLock({ $0.rendering.values.map(\.task) }) { _ = try? await task.value }
    }

    /// Keeps `entry` for `key` when the render `id` is still the one under way for it; with no
    /// `id` (``answer(for:_:)``), unless some render is under way for it, which keeps its own.
    private func store(_ entry: Entry, for key: Key, _ freshness: Freshness, render id: UInt64?) {
        let (evicted, bytes, count) = state.withLock { state -> (Int, Int, Int) in
            guard state.rendering[key]?.id == id else { return (0, state.bytes, state.entries.count) }
            state.rendering[key] = nil
            let size = entry.bytes + key.bytes
            guard size + (entry.shared?.readableBytes ?? 0) <= capacityBytes / 4 else {
                return (0, state.bytes, state.entries.count)
            }
            state.tick += 1
            var kept = entry
            kept.liveness = Liveness()
            state.hold(&kept)
            let renderedAt = stalePolicy == nil ? 0 : now()
            // Spread by the key: pages rendered together are not all due again together.
            let spread = Double(UInt(bitPattern: key.hashValue) % 1_000) / 2_000
            let stored = Stored(
                entry: kept, freshness: freshness, bytes: size, lastUsed: state.tick, renderedAt: renderedAt,
                refreshAt: renderedAt + (stalePolicy?.refreshAfter ?? 0) * (1 + spread))
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

/// Runs the work given to it one piece at a time, in the order given.
final class TakingTurns: Sendable {
    private struct State {
        var busy = false
        /// First in, first out: `waiting[next...]` (thousands wait when every page goes out of date).
        var waiting: [CheckedContinuation<Void, Never>] = []
        var next = 0
    }
    private let state = Mutex(State())
    /// How many wait for their turn (exported as a gauge by the owner).
    private let onWaiting: @Sendable (Int) -> Void

    init(onWaiting: @escaping @Sendable (Int) -> Void = { _ in }) { self.onWaiting = onWaiting }

    func run<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { state -> Int? in
                guard state.busy else {
                    state.busy = true
                    return nil
                }
                state.waiting.append(continuation)
                return state.waiting.count - state.next
            }
            if let waiting { onWaiting(waiting) } else { continuation.resume() }
        }
        defer {
            let (next, waiting) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Int) in
                guard state.next < state.waiting.count else {
                    state.waiting.removeAll(keepingCapacity: true)
                    state.next = 0
                    state.busy = false
                    return (nil, 0)
                }
                state.next += 1
                return (state.waiting[state.next - 1], state.waiting.count - state.next)
            }
            onWaiting(waiting)
            next?.resume()
        }
        return try await work()
    }
}

/// Which audience each reader belongs to in the current catalog, remembered per reader so a
/// request costs a dictionary lookup (the audience needs a pass over the catalog's teams).
///
/// Readers signed in by the sign-on proxy's headers are also remembered by those headers' raw
/// values (``signedIn(user:groups:in:make:)``): the early answers then take the viewer, its
/// audience and its escaped name from one lookup instead of splitting the groups into a set and
/// hashing it on every request.
final class Audiences: Sendable {
    /// A reader known by the values of its identity headers.
    struct SignedIn: Sendable {
        let viewer: Viewer
        let audience: Audience
        /// Names ``audience`` among the audiences of the catalog of ``generation`` (see
        /// ``PageMemo``).
        let audienceID: Int
        /// The ``Catalog/CatalogSnapshot/generation`` the reader was decided in.
        let generation: Int
        /// The reader's name as pages show it, HTML-escaped.
        let name: ByteBuffer
    }

    /// The raw values of the identity headers.
    private struct Headers: Hashable {
        let user: String
        let groups: String
    }

    private struct State {
        /// The ``CatalogSnapshot/generation`` the memos were made for.
        var generation = -1
        var known: [Viewer: Audience] = [:]
        var signedIn: [Headers: SignedIn] = [:]
        var audienceIDs: [Audience: Int] = [:]
        /// What `known` and `signedIn` hold, roughly, in bytes.
        var knownBytes = 0
        var signedInBytes = 0

        mutating func start(_ generation: Int) {
            guard self.generation != generation else { return }
            self = State(generation: generation)
        }
    }
    private let state = Mutex(State())
    /// Readers remembered at most (in each memo); past it the memory starts over.
    let capacity: Int
    /// Bytes each memo holds at most, roughly (names, groups, the dictionary's slots); past
    /// it the memo starts over. Identity headers are at most 1 KiB (``CachedPageRoutes``).
    static let bytesPerMemo = 16 << 20

    init(capacity: Int = 50_000) { self.capacity = capacity }

    /// What remembering `viewer` costs, roughly, in bytes.
    private static func bytes(of viewer: Viewer) -> Int {
        128 + (viewer.user?.utf8.count ?? 0) + viewer.groups.reduce(0) { $0 + $1.utf8.count + 32 }
    }

    func audience(of viewer: Viewer, in snapshot: CatalogSnapshot) -> Audience {
        let generation = snapshot.generation
        if let known = state.withLock({ $0.generation == generation ? $0.known[viewer] : nil }) { return known }
        let audience = snapshot.catalog.audience(of: viewer, accessGroups: snapshot.accessGroups)
        state.withLock { state in
            state.start(generation)
            let bytes = Self.bytes(of: viewer) * 2
            if state.known.count >= capacity || state.knownBytes + bytes > Self.bytesPerMemo {
                state.known.removeAll(keepingCapacity: true)
                state.knownBytes = 0
            }
            if state.known.updateValue(audience, forKey: viewer) == nil { state.knownBytes += bytes }
        }
        return audience
    }

    /// The reader whose identity headers hold `user` and `groups` (as sent), from the memo, or
    /// from `make` (the sign-in's own decision) the first time in this catalog.
    func signedIn(
        user: String, groups: String, in snapshot: CatalogSnapshot, make: () -> Viewer?
    ) -> SignedIn? {
        let generation = snapshot.generation
        let headers = Headers(user: user, groups: groups)
        if let known = state.withLock({ $0.generation == generation ? $0.signedIn[headers] : nil }) { return known }
        guard let viewer = make() else { return nil }
        let audience = audience(of: viewer, in: snapshot)
        let name = ByteBuffer(string: Markup.escape(viewer.displayName, doubleQuote: true, singleQuote: true))
        return state.withLock { state in
            state.start(generation)
            let bytes = Self.bytes(of: viewer) + user.utf8.count + groups.utf8.count + name.readableBytes + 128
            if state.signedIn.count >= capacity || state.signedInBytes + bytes > Self.bytesPerMemo {
                state.signedIn.removeAll(keepingCapacity: true)
                state.signedInBytes = 0
            }
            // Numbered from the memo's start: an id never names two audiences of one catalog.
            let id = state.audienceIDs[audience] ?? state.audienceIDs.count
            state.audienceIDs[audience] = id
            let reader = SignedIn(
                viewer: viewer, audience: audience, audienceID: id, generation: generation, name: name)
            if state.signedIn.updateValue(reader, forKey: headers) == nil { state.signedInBytes += bytes }
            return reader
        }
    }
}

/// Whether a kept page is still its cache's page for its key: a page is kept until a newer
/// render replaces it or the cache evicts it, and then stays so.
final class Liveness: Sendable {
    private let superseded = Atomic<Bool>(false)

    var isKept: Bool { !superseded.load(ordering: .acquiring) }

    func supersede() { superseded.store(true, ordering: .releasing) }
}
