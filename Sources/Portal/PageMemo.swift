import Rendering
import Synchronization

/// The kept pages that early answers found, remembered by request target and audience while
/// nothing else their lookup depends on changes (``Token``): a hit then skips parsing the
/// query, building the page's cache key and hashing it, which was the larger part of a cached
/// search page's own work.
///
/// A token that differs in anything
/// (another catalog, a broken edit on disk, the minute, the usage figures, the search index,
/// the data day) starts the memo over; a remembered page the cache no longer holds (a newer
/// render replaced it, or it was evicted: ``RenderedPageCache/Entry/isKept``) is let go when
/// it is asked for. So a hit is the page the cache would have answered. A page the cache served out of date (its figures
/// moved since its render, see ``RenderedPageCache/StalePolicy``) is remembered only until its
/// refresh is due, when the long way starts that render. One hit in ``fullLookupEvery`` goes the long way
/// anyway, which marks the page as used in the cache's eviction order.
///
/// Its own memory: at most ``capacity`` targets of at most ``longestTarget`` bytes, under
/// 5 MiB. The pages it refers to are the cache's (counted there); one the cache drops is
/// let go when it is next asked for, or with the rest at the next minute.
final class PageMemo: Sendable {
    /// Everything besides the target and the audience that a kept page's key and its lookup
    /// depend on.
    struct Token: Equatable, Sendable {
        /// ``Catalog/CatalogSnapshot/generation``.
        var catalog: Int
        var catalogBroken: Bool
        var minute: Int
        var usageRevision: Int
        var indexGeneration: Int
        var indexDocuments: Int
        var dataDay: Int?
    }

    /// A kept page, and the search it answers (search pages: what the search log records).
    struct Found: Sendable {
        let entry: RenderedPageCache.Entry
        let search: SearchRequest?
        /// `nil`: current; else the page is out of date and answered as it is until then (the
        /// cache's clock, seconds).
        var servedUntil: Double? = nil
    }

    private struct Key: Hashable {
        let target: String
        let audience: Int
    }

    private struct State {
        var token: Token?
        var found: [Key: Found] = [:]
        var hits = 0
    }

    private let state = Mutex(State())
    /// Targets and audiences remembered at most; past it the memo starts over.
    let capacity: Int
    /// Longer targets (path and query, in bytes) are not remembered.
    static let longestTarget = 512
    static let fullLookupEvery = 16

    init(capacity: Int = 8_192) { self.capacity = capacity }

    /// The page remembered for `target` and `audience` under `token`, unless this hit is one
    /// that goes the long way or the page is out of date and due for its refresh at `now` (the
    /// cache's clock).
    func found(target: String, audience: Int, token: Token, now: () -> Double) -> Found? {
        let found = state.withLock { state -> Found? in
            let key = Key(target: target, audience: audience)
            guard state.token == token, let found = state.found[key] else { return nil }
            guard found.entry.isKept else {
                state.found[key] = nil
                return nil
            }
            state.hits &+= 1
            return state.hits % Self.fullLookupEvery == 0 ? nil : found
        }
        if let until = found?.servedUntil, now() >= until { return nil }
        return found
    }

    /// Remembers the page the cache answered for `target` and `audience`; `token` was taken
    /// before the lookup.
    func remember(_ found: Found, target: String, audience: Int, token: Token) {
        guard target.utf8.count <= Self.longestTarget else { return }
        state.withLock { state in
            if state.token != token { state = State(token: token) }
            if state.found.count >= capacity { state.found.removeAll(keepingCapacity: true) }
            state.found[Key(target: target, audience: audience)] = found
        }
    }
}
