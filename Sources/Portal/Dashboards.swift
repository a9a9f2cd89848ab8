import AlmanacCore
import Artifacts
import Catalog
import Foundation
import Generators
import Synchronization

/// Finds the HTML of a report's latest dashboard, generating it on demand when none exists
/// yet, and caches what it read per artifact version.
///
/// Concurrent first requests for the same report share one generation.
final class DashboardCache: Sendable {
    private struct Entry {
        var version: ArtifactVersion
        var html: String
    }
    private let entries = Mutex([String: Entry]())
    private let inFlight = Mutex([String: Task<Void, Never>]())
    /// When on-demand generation last failed per report: a broken report is retried at most
    /// once a minute, not on every view.
    private let failures = Mutex([String: ContinuousClock.Instant]())

    /// The latest dashboard HTML of `report` and its version name, if there is one.
    func html(
        for report: Report, configuration: DashboardConfiguration, environment: PortalEnvironment
    ) async
        -> (html: String, version: ArtifactVersion)?
    {
        let id = report.id.rawValue
        // NB: the hot path is one small file read (LATEST) and a dictionary lookup.
        var name = configuration.artifacts.latestName(id: id)
        if let name, let cached = entries.withLock({ $0[id] }), cached.version.name == name {
            return (cached.html, cached.version)
        }
        if name == nil {
            let recentlyFailed = failures.withLock { $0[id].map { ContinuousClock.now - $0 < .seconds(60) } ?? false }
            if !recentlyFailed {
                await generateOnce(report, configuration: configuration, environment: environment)
                name = configuration.artifacts.latestName(id: id)
                if name == nil { failures.withLock { $0[id] = ContinuousClock.now } }
            }
        }
        guard name != nil, let version = configuration.artifacts.latest(id: id) else { return nil }
        guard let data = configuration.artifacts.read(id: id, version: version.name, file: "dashboard.html") else {
            return nil
        }
        let html = String(decoding: data, as: UTF8.self)
        entries.withLock { $0[id] = Entry(version: version, html: html) }
        return (html, version)
    }

    private func generateOnce(
        _ report: Report, configuration: DashboardConfiguration, environment: PortalEnvironment
    )
        async
    {
        let id = report.id.rawValue
        let task = inFlight.withLock { tasks -> Task<Void, Never> in
            if let running = tasks[id] { return running }
            let catalog = environment.catalog.current
            let task = Task {
                _ = await configuration.generator(catalog: catalog, environment: environment).generate(report)
            }
            tasks[id] = task
            return task
        }
        await task.value
        inFlight.withLock { $0[id] = nil }
    }
}
