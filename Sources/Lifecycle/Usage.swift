public import AlmanacCore
public import Foundation
public import Storage
import Synchronization

/// How much one item was viewed in the usual windows, all ending today (UTC days).
public struct UsageTotals: Sendable, Hashable, Codable {
    public var views7 = 0
    public var views30 = 0
    public var views90 = 0
    /// The 7 and 30 days before the last 7 and 30: what trends compare with.
    public var previous7 = 0
    public var previous30 = 0

    public init(views7: Int = 0, views30: Int = 0, views90: Int = 0, previous7: Int = 0, previous30: Int = 0) {
        self.views7 = views7
        self.views30 = views30
        self.views90 = views90
        self.previous7 = previous7
        self.previous30 = previous30
    }

    /// The change of the last 30 days against the 30 before, in percent; `nil` when there
    /// were no views before (a rise from nothing is not a percentage).
    public var trend30: Double? {
        previous30 == 0 ? nil : (Double(views30) - Double(previous30)) / Double(previous30) * 100
    }

    /// How far the last week rose above the one before, in the week before's standard
    /// deviations (counts are Poisson-like: √n, with 4 added so small counts are damped):
    /// 12 → 21 views outranks 2 → 6, and 40 → 120 outranks both.
    public var trendingScore: Double {
        Double(views7 - previous7) / (Double(previous7) + 4).squareRoot()
    }
}

/// One item's usage as its page shows it.
public struct ItemUsage: Sendable, Hashable, Codable {
    public var totals: UsageTotals
    public var viewers7: Int
    public var viewers30: Int
    public var viewers90: Int
    /// Views per day, the 90 days ending today, oldest first.
    public var daily: [Int]
    /// The first of those days.
    public var firstDay: Date
}

/// Usage figures from the state store's daily rollups, with the all-items totals kept for a
/// short while (home page, glossary, search ranking and the retirement review all read them).
public final class UsageService: Sendable {
    public let state: any StateStore
    public let clock: any WallClock
    /// How long the all-items totals are reused.
    public let maxAge: Duration
    private struct Cached {
        var totals: [String: UsageTotals]
        var day: Int
        var at: WallInstant
    }
    private let cache = Mutex<Cached?>(nil)
    /// The refresh running now, if any: one at a time, whoever notices the totals are old.
    private let refreshing = Mutex<Task<Void, Never>?>(nil)
    private let refreshes = Atomic<Int>(0)

    /// Runs before the store is read (the portal writes its buffered views first).
    let beforeRead: @Sendable () async -> Void

    public init(
        state: any StateStore, clock: any WallClock = SystemClock(), maxAge: Duration = .seconds(30),
        beforeRead: @escaping @Sendable () async -> Void = {}
    ) {
        self.state = state
        self.clock = clock
        self.maxAge = maxAge
        self.beforeRead = beforeRead
    }

    /// Counts the totals read from the store: pages that show them are cached per revision.
    public var revision: Int { refreshes.load(ordering: .relaxed) }

    /// Totals of every viewed item (`kind/id`).
    ///
    /// Only the first call reads the store on its caller's time. Later, totals older than
    /// `maxAge` (or of another day) are returned as they are while one refresh runs in the
    /// background: no request waits for the rollup query.
    public func totals() async throws -> [String: UsageTotals] {
        let now = clock.now
        guard let cached = cache.withLock({ $0 }) else {
            try await refresh()
            return cache.withLock { $0?.totals } ?? [:]
        }
        if cached.day != UsageDay.of(now.date) || !cached.at.isWithin(maxAge, of: now) {
            refreshInBackground()
        }
        return cached.totals
    }

    /// Starts a refresh unless one is running.
    func refreshInBackground() {
        refreshing.withLock { running in
            guard running == nil else { return }
            running = Task { [self] in
                do {
                    try await refresh()
                } catch {
                    // Kept as they were; the next request after maxAge tries again.
                }
                refreshing.withLock { $0 = nil }
            }
        }
    }

    /// Reads the totals from the store now.
    public func refresh() async throws {
        let now = clock.now
        await beforeRead()
        let totals = try await Self.totals(state: state, kind: nil, at: now.date)
        cache.withLock { $0 = Cached(totals: totals, day: UsageDay.of(now.date), at: now) }
        refreshes.add(1, ordering: .relaxed)
    }

    /// Adds a view just counted (not yet in the store) to the cached totals; the next read
    /// of the store replaces them with its own figures, which by then include it.
    public func count(_ view: ViewEvent) {
        let day = UsageDay.of(view.viewedAt)
        cache.withLock { cached in
            guard cached?.day == day else { return }
            let key = "\(view.itemKind)/\(view.itemID)"
            // In place: a copy of the totals taken out and stored back would copy every item's
            // totals on every view.
            cached?.totals[key, default: UsageTotals()].views7 += 1
            cached?.totals[key, default: UsageTotals()].views30 += 1
            cached?.totals[key, default: UsageTotals()].views90 += 1
        }
    }

    /// Totals of every viewed item of `kind` (all kinds when `nil`), in one pass over the rollup.
    public static func totals(state: any StateStore, kind: String?, at date: Date) async throws -> [String: UsageTotals]
    {
        let ranges = [
            UsageDay.last(7, endingOn: date), UsageDay.last(30, endingOn: date), UsageDay.last(90, endingOn: date),
            UsageDay.previous(7, endingOn: date), UsageDay.previous(30, endingOn: date),
        ]
        return try await state.viewTotals(kind: kind, id: nil, in: ranges).mapValues { sums in
            UsageTotals(views7: sums[0], views30: sums[1], views90: sums[2], previous7: sums[3], previous30: sums[4])
        }
    }

    /// One item's figures, unique viewers and daily series.
    public func usage(kind: String, id: String) async throws -> ItemUsage {
        let date = clock.date
        let key = "\(kind)/\(id)"
        let ranges = [
            UsageDay.last(7, endingOn: date), UsageDay.last(30, endingOn: date), UsageDay.last(90, endingOn: date),
            UsageDay.previous(7, endingOn: date), UsageDay.previous(30, endingOn: date),
        ]
        // NB: no flush here: an item's page shows its figures up to the last flush (a second).
        let sums = try await state.viewTotals(kind: kind, id: id, in: ranges)
        let row = sums[key] ?? [0, 0, 0, 0, 0]
        let viewers = try await state.uniqueViewers(kind: kind, id: id, since: ranges.prefix(3).map(\.lowerBound))
        let days = ranges[2]
        let perDay = try await state.dailyViews(kind: kind, id: id, in: days)
        return ItemUsage(
            totals: UsageTotals(
                views7: row[0], views30: row[1], views90: row[2], previous7: row[3], previous30: row[4]),
            viewers7: viewers[0], viewers30: viewers[1], viewers90: viewers[2],
            daily: days.map { perDay[$0] ?? 0 }, firstDay: UsageDay.start(of: days.lowerBound))
    }
}
