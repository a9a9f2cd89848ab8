public import AlmanacCore
public import Foundation
public import Logging
import Metrics
import Scheduling
public import ServiceLifecycle
public import Storage
import Synchronization

/// Counts every page view, and every search with the results opened from it, without a
/// database write on the request's path.
///
/// Views are buffered in memory and written in one transaction every `flushInterval` (on the
/// injected clock) by the counter's service, which also flushes on graceful shutdown. Totals for pages come
/// from a snapshot of the state store, refreshed every `refreshInterval`, plus the views this
/// process has counted since; so a busy report page costs a dictionary lookup, not a query.
public final class ViewCounter: Service, Sendable {
    private struct State {
        var pending: [ViewEvent] = []
        var searches = SearchActivity()
        var snapshot: [String: Int] = [:]
        var sinceSnapshot: [String: Int] = [:]
        var loaded = false
    }
    private let state = Mutex(State())
    /// Views counted, written to the store, and waiting to be written (for /metrics).
    private let recorded: Counter
    private let written: Counter
    private let buffered: Gauge
    let store: any StateStore
    let logger: Logger
    let flushInterval: Duration
    /// How often the totals are read back from the store: how soon this instance's pages count
    /// the views other instances served (one read of the per-item totals, so cheap enough to
    /// keep portals sharing a store within seconds of each other).
    let refreshInterval: Duration
    let clock: any WallClock
    /// When the counter was built: its flushes count from here.
    let createdAt: WallInstant

    public init(
        store: any StateStore, logger: Logger, flushInterval: Duration = .seconds(1),
        refreshInterval: Duration = .seconds(10), clock: any WallClock = SystemClock()
    ) {
        self.store = store
        self.logger = logger
        self.flushInterval = flushInterval
        self.refreshInterval = refreshInterval
        self.clock = clock
        self.createdAt = clock.now
        PortalMetrics.bootstrap()
        recorded = Counter(label: "almanac_views_recorded_total")
        written = Counter(label: "almanac_views_written_total")
        buffered = Gauge(label: "almanac_views_buffered")
    }

    /// Loads the totals once, so counts include earlier runs before the first refresh.
    public func load() async {
        if !state.withLock({ $0.loaded }) { await refresh() }
    }

    /// Counts one view; it reaches the state store within `flushInterval`.
    public func record(_ view: ViewEvent) {
        let pending = state.withLock { state in
            state.pending.append(view)
            state.sinceSnapshot["\(view.itemKind)/\(view.itemID)", default: 0] += 1
            return state.pending.count
        }
        recorded.increment()
        buffered.record(pending)
    }

    /// Counts one search (its normalised query, whether it found anything); not who searched.
    public func recordSearch(query: String, found: Bool, at date: Date) {
        guard !query.isEmpty else { return }
        let key = SearchActivity.Key(day: UsageDay.of(date), query: query)
        state.withLock { state in
            state.searches.searches[key, default: .init()].searches += 1
            if !found { state.searches.searches[key, default: .init()].zeroResults += 1 }
        }
    }

    /// Counts a result opened from the results of `query`.
    public func recordSearchClick(query: String, item: String, at date: Date) {
        guard !query.isEmpty else { return }
        let click = SearchActivity.Click(day: UsageDay.of(date), query: query, item: item)
        state.withLock { $0.searches.clicks[click, default: 0] += 1 }
    }

    /// Views per `kind/id`, including those not yet written.
    public func counts() async -> [String: Int] {
        if !state.withLock({ $0.loaded }) { await refresh() }
        return state.withLock { state in
            state.snapshot.merging(state.sinceSnapshot, uniquingKeysWith: +)
        }
    }

    /// Views of one item, including those not yet written; a lookup, not a merge.
    public func count(kind: String, id: String) -> Int {
        let key = "\(kind)/\(id)"
        return state.withLock { ($0.snapshot[key] ?? 0) + ($0.sinceSnapshot[key] ?? 0) }
    }

    /// Writes the buffered views; on failure they are kept for the next attempt.
    public func flush() async {
        let (batch, searches) = state.withLock { state -> ([ViewEvent], SearchActivity) in
            defer {
                state.pending.removeAll(keepingCapacity: true)
                state.searches = SearchActivity()
            }
            return (state.pending, state.searches)
        }
        if !searches.isEmpty {
            do {
                try await store.recordSearchActivity(searches)
            } catch {
                logger.error("could not record searches; will retry", metadata: ["error": "\(error)"])
                state.withLock { $0.searches.add(searches) }
            }
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.recordViews(batch)
            written.increment(by: batch.count)
            buffered.record(state.withLock { $0.pending.count })
        } catch {
            logger.error(
                "could not record views; will retry", metadata: ["views": "\(batch.count)", "error": "\(error)"])
            state.withLock { $0.pending.insert(contentsOf: batch, at: 0) }
        }
    }

    /// Flushes, then replaces the snapshot with the store's totals (which include other instances' views).
    func refresh() async {
        await flush()
        do {
            let totals = try await store.viewCounts(kind: nil, since: nil)
            state.withLock { state in
                // Views counted while the query ran stay in sinceSnapshot only if still pending.
                let pending = Dictionary(state.pending.map { ("\($0.itemKind)/\($0.itemID)", 1) }, uniquingKeysWith: +)
                state.snapshot = totals
                state.sinceSnapshot = pending
                state.loaded = true
            }
        } catch {
            logger.error("could not read view counts", metadata: ["error": "\(error)"])
        }
    }

    public func run() async throws {
        // NB: no load here: this service starts beside the state store's migrations; totals are
        // loaded by the first page that needs them.
        var ticker = Ticker(every: flushInterval, on: clock, from: createdAt)
        var refreshDue = createdAt.advanced(by: refreshInterval)
        while await ticker.tick() {
            if clock.now >= refreshDue {
                refreshDue = clock.now.advanced(by: refreshInterval)
                await refresh()
            } else {
                await flush()
            }
        }
        await flush()  // nothing counted is lost on a graceful stop
    }
}
