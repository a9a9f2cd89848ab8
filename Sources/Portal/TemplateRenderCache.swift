public import AlmanacCore
import Foundation
package import Generators
import Synchronization

/// Dashboards of parameterized templates, kept for a while and computed once however many
/// people ask at the same moment.
///
/// The key holds everything the dashboard depends on: the template, its bound values, the
/// catalog version, the day the data ends on, and the reader's access as far as the render
/// shows it: the panels left out. Two people in the same groups share a render; so do people in
/// different groups who may see the same panels. The cache is bounded in bytes (the HTML and any data twins made from it); past the
/// bound, the renders used longest ago go.
public final class TemplateRenderCache: Sendable {
    package struct Key: Hashable, Sendable {
        package var template: String
        package var values: [String: String]
        package var catalogVersion: String
        package var asOf: String
        /// The panels this viewer may not see, which are not computed for them.
        package var hiddenPanels: [Int] = []
        /// The dashboard's heading, when the caller chooses it.
        package var title: String = ""

        package init(
            template: String, values: [String: String], catalogVersion: String, asOf: String,
            hiddenPanels: [Int] = [], title: String = ""
        ) {
            self.template = template
            self.values = values
            self.catalogVersion = catalogVersion
            self.asOf = asOf
            self.hiddenPanels = hiddenPanels
            self.title = title
        }
    }

    private struct Entry: Sendable {
        var task: Task<TemplateRender, any Error>
        var created: WallInstant
        var lastUsed: UInt64
        /// Set once computed, to count its bytes.
        var render: TemplateRender?
    }
    private struct State {
        var entries: [Key: Entry] = [:]
        var tick: UInt64 = 0
    }

    public let timeToLive: Duration
    /// Decides when entries expire.
    let clock: any WallClock
    /// The most the renders may hold, in bytes.
    public let capacityBytes: Int
    private let state = Mutex(State())
    private let computations = Atomic<Int>(0)
    private let metrics: CacheMetrics

    public init(
        timeToLive: Duration = .seconds(300), capacityBytes: Int = 128 << 20, clock: any WallClock = SystemClock()
    ) {
        self.timeToLive = timeToLive
        self.capacityBytes = capacityBytes
        self.clock = clock
        self.metrics = CacheMetrics(cache: "template", capacityBytes: capacityBytes)
    }

    /// How many renders were actually computed (for tests and the admin pages).
    public var computed: Int { computations.load(ordering: .relaxed) }

    /// Bytes held by the renders kept now.
    public var bytes: Int { state.withLock { $0.entries.values.reduce(0) { $0 + ($1.render?.bytes ?? 0) } } }

    /// The cached dashboard for `key`, or `compute`'s, shared with every request that asks
    /// while it runs. A failure is not kept.
    package func render(
        for key: Key, compute: @escaping @Sendable () async throws -> TemplateRender
    ) async throws
        -> TemplateRender
    {
        let (task, hit) = state.withLock { state -> (Task<TemplateRender, any Error>, Bool) in
            let now = clock.now
            state.tick += 1
            if let entry = state.entries[key], isFresh(entry, at: now) {
                state.entries[key]?.lastUsed = state.tick
                return (entry.task, true)
            }
            let task = Task { [self] in
                computations.add(1, ordering: .relaxed)
                return try await compute()
            }
            state.entries[key] = Entry(task: task, created: now, lastUsed: state.tick)
            return (task, false)
        }
        if hit { metrics.hit() } else { metrics.miss() }
        do {
            let render = try await task.value
            if !hit { stored(render, for: key, task: task) }
            return render
        } catch {
            state.withLock { state in
                if let entry = state.entries[key], entry.task == task { state.entries[key] = nil }
            }
            throw error
        }
    }

    /// Whether `entry` is younger than the time to live at `now` (an entry made after `now`,
    /// by a request that read the clock later, is young).
    private func isFresh(_ entry: Entry, at now: WallInstant) -> Bool {
        now < entry.created.advanced(by: timeToLive)
    }

    /// Notes a computed render's size, and drops expired renders and, past the bound, the
    /// ones used longest ago (a miss costs a dashboard's queries; this pass is small beside it).
    private func stored(_ render: TemplateRender, for key: Key, task: Task<TemplateRender, any Error>) {
        let (evicted, bytes, count) = state.withLock { state -> (Int, Int, Int) in
            if let entry = state.entries[key], entry.task == task { state.entries[key]?.render = render }
            let before = state.entries.count
            // NB: the time is read under the lock: renders started while this one computed
            // are younger than this request, not expired.
            let now = clock.now
            state.entries = state.entries.filter { isFresh($0.value, at: now) }
            var bytes = state.entries.values.reduce(0) { $0 + ($1.render?.bytes ?? 0) }
            if bytes > capacityBytes {
                for (old, entry) in state.entries.sorted(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                    guard bytes > capacityBytes * 9 / 10 else { break }
                    guard let size = entry.render?.bytes else { continue }  // still computing
                    state.entries[old] = nil
                    bytes -= size
                }
            }
            return (before - state.entries.count, bytes, state.entries.count)
        }
        metrics.held(bytes: bytes, entries: count, evicted: evicted)
    }
}
