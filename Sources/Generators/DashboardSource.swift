public import AlmanacCore
public import Artifacts
public import Catalog
import Foundation
public import Logging
public import Proxy
public import Storage
import Synchronization

/// Where a portal's dashboards come from: generated in this process (``LocalDashboards``), or
/// copied from `almanac generator` services (``RemoteDashboards``). The portal reads every
/// dashboard from ``artifacts`` either way; a source only decides how a report's newest
/// version gets there and how a template is rendered.
public protocol DashboardSource: Sendable {
    /// The artifact store the portal reads: this process's own, or its mirror of a generator's.
    var artifacts: ArtifactStore { get }
    /// Brings `report`'s newest version into ``artifacts`` when one is due (called on every
    /// view, so cheap when nothing is); returns a notice while what is shown may be out of date.
    func refresh(_ report: Report) async -> String?
    /// What ``refresh(_:)`` would answer now without starting or waiting for anything, or
    /// ``RefreshState/due`` when it has work to do (a page answered without waiting asks this).
    func refreshState(_ report: Report) -> RefreshState
    /// Called when ``artifacts`` has no dashboard for a generated `report`: makes one if this
    /// source can (concurrent callers share one generation).
    func generateMissing(_ report: Report) async
    /// Why `report` still has no dashboard, when that is known.
    func missingReason(_ report: Report) async throws -> String?
    /// The dashboard of `template` for `values` (`raw` as typed in the URL), without the
    /// `hiddenPanels` the reader may not see.
    func renderTemplate(
        _ template: Template, values: [String: FilterValue], raw: [String: String], title: String,
        hiddenPanels: Set<Int>, catalog: Catalog
    ) async throws -> TemplateRender
}

/// Whether a ``DashboardSource`` has anything to do for a report before it is shown.
public enum RefreshState: Sendable, Equatable {
    /// Nothing is due: ``DashboardSource/refresh(_:)`` would answer this notice at once.
    case current(notice: String?)
    /// A check or a copy is due, which ``DashboardSource/refresh(_:)`` starts.
    case due
}

/// Dashboards generated in this process, into its own artifact store: on demand when a
/// report has none yet (a broken report is retried at most once a minute, not on every view),
/// and by the scheduler's nightly jobs (``ScheduledGeneration``).
public final class LocalDashboards: DashboardSource {
    public let artifacts: ArtifactStore
    let catalog: CatalogStore
    let state: any StateStore
    let clock: any WallClock
    let makeGenerator: @Sendable (Catalog) -> AggregateGenerator
    private let inFlight = Mutex([String: Task<Void, Never>]())
    /// When on-demand generation last failed, per report.
    private let failures = Mutex([String: WallInstant]())

    public init(
        artifacts: ArtifactStore, catalog: CatalogStore, state: any StateStore, clock: any WallClock,
        makeGenerator: @escaping @Sendable (Catalog) -> AggregateGenerator
    ) {
        self.artifacts = artifacts
        self.catalog = catalog
        self.state = state
        self.clock = clock
        self.makeGenerator = makeGenerator
    }

    public func refresh(_ report: Report) async -> String? { nil }

    public func refreshState(_ report: Report) -> RefreshState { .current(notice: nil) }

    public func generateMissing(_ report: Report) async {
        let id = report.id.rawValue
        let now = clock.now
        guard !failures.withLock({ $0[id].map { $0.isWithin(.seconds(60), of: now) } ?? false }) else { return }
        let task = inFlight.withLock { tasks -> Task<Void, Never> in
            if let running = tasks[id] { return running }
            let current = catalog.current
            let task = Task { [makeGenerator] in _ = await makeGenerator(current).generate(report) }
            tasks[id] = task
            return task
        }
        await task.value
        inFlight.withLock { $0[id] = nil }
        if artifacts.latestName(id: id) == nil { failures.withLock { [clock] in $0[id] = clock.now } }
    }

    public func missingReason(_ report: Report) async throws -> String? {
        try await state.recentRuns(kind: "generation", limit: 200).first { $0.target == report.id.rawValue }?.error
    }

    public func renderTemplate(
        _ template: Template, values: [String: FilterValue], raw: [String: String], title: String,
        hiddenPanels: Set<Int>, catalog: Catalog
    ) async throws -> TemplateRender {
        try await makeGenerator(catalog).renderTemplate(
            template, values: values, title: title, hiddenPanels: hiddenPanels,
            query: TemplateRender.query(values.mapValues(\.plainText)))
    }
}

/// Dashboards from `almanac generator` services: the local artifact store is a mirror, brought
/// up to date from a generator (asked at most every ``GeneratorClient/checkInterval`` per
/// report), and while no generator answers the mirror's last good version is shown with a
/// notice that it may be out of date. Template renders are the generators' too.
public final class RemoteDashboards: DashboardSource {
    public let artifacts: ArtifactStore
    public let client: GeneratorClient
    let clock: any WallClock
    let logger: Logger

    private struct State {
        var checked: WallInstant
        var mirrored: String?
        var failure: String?
    }
    private let states = Mutex([String: State]())
    private let inFlight = Mutex([String: Task<Void, Never>]())

    public init(client: GeneratorClient, mirror: ArtifactStore, clock: any WallClock, logger: Logger) {
        self.client = client
        self.artifacts = mirror
        self.clock = clock
        self.logger = logger
    }

    /// Copies the report's newest version from a generator into the mirror when it changed;
    /// returns a notice while generators fail. Concurrent callers share one check.
    ///
    /// Only a report's first check makes its request wait: later, once the last check is older
    /// than the generators' check interval, the request gets what the mirror has while the
    /// check runs in the background (the next request sees its outcome).
    public func refreshState(_ report: Report) -> RefreshState {
        let now = clock.now
        guard let previous = states.withLock({ $0[report.id.rawValue] }),
            previous.checked.isWithin(client.checkInterval, of: now)
        else { return .due }
        return .current(notice: previous.failure)
    }

    public func refresh(_ report: Report) async -> String? {
        let id = report.id.rawValue
        let now = clock.now
        let previous = states.withLock { $0[id] }
        if let previous, previous.checked.isWithin(client.checkInterval, of: now) {
            return previous.failure
        }
        let task = inFlight.withLock { tasks -> Task<Void, Never> in
            if let running = tasks[id] { return running }
            let task = Task {
                let previous = states.withLock { $0[id] }
                var state = State(checked: clock.now, mirrored: previous?.mirrored, failure: nil)
                do throws(GeneratorClientError) {
                    let latest = try await client.latest(report: id)
                    if latest.name != state.mirrored || artifacts.latestName(id: id) == nil {
                        var files: [String: Data] = [:]
                        for file in latest.files {
                            files[file] = try await client.file(report: id, version: latest.name, name: file)
                        }
                        do {
                            try artifacts.write(id: id, files: files, generatedAt: latest.generatedAt, keep: 3)
                            state.mirrored = latest.name
                        } catch {
                            logger.error(
                                "could not keep the generator's dashboard",
                                metadata: ["report": "\(id)", "error": "\(error)"])
                        }
                    }
                } catch {
                    logger.warning("generator unavailable", metadata: ["report": "\(id)", "error": "\(error)"])
                    state.failure =
                        "no generator answered, so this is the last dashboard the portal received, which may be out of date."
                }
                let final = state
                states.withLock { $0[id] = final }
                inFlight.withLock { $0[id] = nil }
            }
            tasks[id] = task
            return task
        }
        if let previous, previous.mirrored != nil || previous.failure != nil { return previous.failure }
        await task.value
        return states.withLock { $0[id]?.failure }
    }

    /// The generators make dashboards; ``refresh(_:)`` already copied whatever they have.
    public func generateMissing(_ report: Report) async {}

    public func missingReason(_ report: Report) async throws -> String? {
        await refresh(report).map { _ in "no generator answered, and the portal has no earlier copy of this dashboard" }
    }

    public func renderTemplate(
        _ template: Template, values: [String: FilterValue], raw: [String: String], title: String,
        hiddenPanels: Set<Int>, catalog: Catalog
    ) async throws -> TemplateRender {
        TemplateRender(
            files: try await client.renderTemplate(
                template.id.rawValue, values: raw, title: title, hiddenPanels: hiddenPanels,
                catalogVersion: catalog.version))
    }
}
