public import AlmanacCore
import Foundation
import Generators
import Synchronization

/// Dashboards of parameterized templates, kept for a while and computed once however many
/// people ask at the same moment.
///
/// The key holds everything the dashboard depends on: the template, its bound values, the
/// catalog version, the day the data ends on, and the template's access groups. Access is
/// checked before the cache is asked, and the generated HTML is the same for every viewer
/// allowed to see the template, so no viewer's render can reach a viewer who may not see it.
public final class TemplateRenderCache: Sendable {
    struct Key: Hashable, Sendable {
        var template: String
        var values: [String: String]
        var catalogVersion: String
        var asOf: String
        var access: [String]
        /// The panels this viewer may not see, which are not computed for them.
        var hiddenPanels: [Int] = []
        /// The dashboard's heading, when the caller chooses it.
        var title: String = ""
    }

    private struct Entry: Sendable {
        var task: Task<TemplateRender, any Error>
        var created: WallInstant
    }

    public let timeToLive: Duration
    /// Decides when entries expire.
    let clock: any WallClock
    /// Renders kept at most (a dashboard is ~50 KB: about 100 MB).
    static let maximumEntries = 2_000
    private let entries = Mutex<[Key: Entry]>([:])
    private let computations = Atomic<Int>(0)

    public init(timeToLive: Duration = .seconds(300), clock: any WallClock = SystemClock()) {
        self.timeToLive = timeToLive
        self.clock = clock
    }

    /// How many renders were actually computed (for tests and the admin pages).
    public var computed: Int { computations.load(ordering: .relaxed) }

    /// The cached dashboard for `key`, or `compute`'s, shared with every request that asks
    /// while it runs. A failure is not kept.
    func render(
        for key: Key, compute: @escaping @Sendable () async throws -> TemplateRender
    ) async throws
        -> TemplateRender
    {
        let now = clock.now
        let task = entries.withLock { entries -> Task<TemplateRender, any Error> in
            if let entry = entries[key], entry.created.isWithin(timeToLive, of: now) { return entry.task }
            // Expired entries go whenever a new one comes in; past the cap, the oldest go too.
            entries = entries.filter { $0.value.created.isWithin(timeToLive, of: now) }
            if entries.count >= Self.maximumEntries {
                for (old, _) in entries.sorted(by: { $0.value.created < $1.value.created })
                    .prefix(entries.count - Self.maximumEntries + 1)
                {
                    entries[old] = nil
                }
            }
            let task = Task { [self] in
                computations.add(1, ordering: .relaxed)
                return try await compute()
            }
            entries[key] = Entry(task: task, created: now)
            return task
        }
        do {
            return try await task.value
        } catch {
            entries.withLock { entries in
                if let entry = entries[key], entry.task == task { entries[key] = nil }
            }
            throw error
        }
    }
}
