public import AlmanacCore
public import Foundation
public import Logging
import Scheduling
public import ServiceLifecycle

/// Polls the catalog folder and swaps in each edit that validates.
///
/// Polling (rather than inotify) works the same on every file system, including bind
/// mounts and network volumes where change notifications are unreliable. A look stats every
/// file (about 1 µs each), and the watcher waits at least 50 times as long as its last look
/// took (at most 30 s), so it spends no more than 2% of a core: every 2 s for ten thousand
/// files, every 5 s or so for a hundred thousand.
public struct CatalogWatcher: Service {
    public let store: CatalogStore
    public let interval: Duration
    /// Paces the looks; a test moves a manual one.
    public let clock: any WallClock
    /// When the watcher was built: its looks count from here.
    let createdAt: WallInstant
    public let logger: Logger
    /// Called after a new catalog was swapped in.
    public let onUpdate: @Sendable (_ previous: Catalog, _ current: Catalog) async -> Void

    public init(
        store: CatalogStore, interval: Duration = .seconds(2), clock: any WallClock = SystemClock(),
        logger: Logger,
        onUpdate: @escaping @Sendable (_ previous: Catalog, _ current: Catalog) async -> Void = { _, _ in }
    ) {
        self.store = store
        self.interval = interval
        self.clock = clock
        self.createdAt = clock.now
        self.logger = logger
        self.onUpdate = onUpdate
    }

    public func run() async throws {
        var ticker = Ticker(every: interval, on: clock, from: createdAt)
        while await ticker.tick() {
            await check(now: clock.date)
            // NB: the look's cost is real CPU time, measured on the real clock by the store.
            ticker.interval = min(max(interval, store.lastLookDuration * 50), Self.longestWait)
        }
    }

    /// The longest the watcher waits between looks, however large the catalog.
    public static let longestWait: Duration = .seconds(30)

    /// One look at the folder; public so tests and `SIGHUP`-style triggers can force it.
    /// Returns whether the files had changed (whether or not the edit was accepted).
    @discardableResult
    public func check(now: Date = Date()) async -> Bool {
        let store = store
        switch await offloaded({ store.reloadIfChanged(now: now) }) {
        case .unchanged:
            return false
        case .updated(let previous, let current):
            let changes = CatalogChanges(from: previous, to: current)
            logger.info(
                "catalog reloaded",
                metadata: [
                    "version": "\(current.version)", "added": "\(changes.added.count)",
                    "changed": "\(changes.changed.count)", "removed": "\(changes.removed.count)",
                ])
            await onUpdate(previous, current)
            return true
        case .rejected(let diagnostics):
            let errors = diagnostics.filter { $0.severity == .error }
            logger.warning(
                "catalog edit rejected; still serving the last good version",
                metadata: [
                    "errors": "\(errors.count)", "first": "\(errors.first.map(\.description) ?? "")",
                ])
            return true
        }
    }
}
