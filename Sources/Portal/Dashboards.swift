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
        var version: String
        var html: String
    }
    private let entries = Mutex([String: Entry]())
    private let inFlight = Mutex([String: Task<Void, Never>]())

    /// The latest dashboard HTML of `report` and its version name, if there is one.
    func html(
        for report: Report, configuration: DashboardConfiguration, environment: PortalEnvironment
    ) async
        -> (html: String, version: ArtifactVersion)?
    {
        let id = report.id.rawValue
        if configuration.artifacts.latest(id: id) == nil {
            await generateOnce(report, configuration: configuration, environment: environment)
        }
        guard let version = configuration.artifacts.latest(id: id) else { return nil }
        if let cached = entries.withLock({ $0[id] }), cached.version == version.name {
            return (cached.html, version)
        }
        guard let data = configuration.artifacts.read(id: id, version: version.name, file: "dashboard.html") else {
            return nil
        }
        let html = String(decoding: data, as: UTF8.self)
        entries.withLock { $0[id] = Entry(version: version.name, html: html) }
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
