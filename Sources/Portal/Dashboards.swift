import AlmanacCore
import Artifacts
import Catalog
import Foundation
import Generators
import Logging
import Proxy
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
    private let failures = Mutex([String: WallInstant]())
    /// Times the retry pause and the generators' check interval.
    let clock: any WallClock

    init(clock: any WallClock) { self.clock = clock }

    /// The latest dashboard HTML of `report` and its version, if there is one.
    ///
    /// With remote generators, the local artifact store is a mirror: the newest version is
    /// copied from a generator (asked at most every ``GeneratorClient/checkInterval`` per report), and
    /// when no generator answers the mirror's last good version is returned with a notice
    /// that it may be out of date.
    func html(
        for report: Report, configuration: DashboardConfiguration, environment: PortalEnvironment
    ) async
        -> Dashboard?
    {
        let id = report.id.rawValue
        var notice: String?
        if let remote = configuration.remote {
            notice = await syncFromRemote(id, remote: remote, configuration: configuration, logger: environment.logger)
        }
        // NB: the hot path is one small file read (LATEST) and a dictionary lookup.
        var name = configuration.artifacts.latestName(id: id)
        if let name, let cached = entries.withLock({ $0[id] }), cached.version.name == name {
            return Dashboard(html: cached.html, version: cached.version, notice: notice)
        }
        // Only what is generated at night is generated on demand: not drafts, retired or external reports.
        if name == nil, configuration.remote == nil, report.isGenerated {
            let now = clock.now
            let recentlyFailed = failures.withLock { $0[id].map { $0.isWithin(.seconds(60), of: now) } ?? false }
            if !recentlyFailed {
                await generateOnce(report, configuration: configuration, environment: environment)
                name = configuration.artifacts.latestName(id: id)
                if name == nil { failures.withLock { [clock] in $0[id] = clock.now } }
            }
        }
        guard name != nil, let version = configuration.artifacts.latest(id: id) else { return nil }
        guard let data = configuration.artifacts.read(id: id, version: version.name, file: "dashboard.html") else {
            return nil
        }
        let html = String(decoding: data, as: UTF8.self)
        entries.withLock { $0[id] = Entry(version: version, html: html) }
        return Dashboard(html: html, version: version, notice: notice)
    }

    /// The dashboard of `report` as `view`'s reader may see it: panels and freshness lines
    /// they may not see are taken out (see ``DashboardRedaction``). Each redaction is
    /// assembled once per artifact version from the artifact's `dashboard.json` and kept.
    ///
    /// - Throws: ``RedactionUnavailable`` when something must be taken out but the artifact
    ///   has no readable model to assemble the page from: nothing is shown rather than all.
    func html(
        for report: Report, view: CatalogView, configuration: DashboardConfiguration, environment: PortalEnvironment
    ) async throws(RedactionUnavailable) -> Dashboard? {
        guard var dashboard = await html(for: report, configuration: configuration, environment: environment) else {
            return nil
        }
        let redaction = DashboardRedaction(report: report, view: view)
        if redaction.isEmpty { return dashboard }
        let id = report.id.rawValue
        let version = dashboard.version.name
        if let html = assembled.withLock({ $0[id].flatMap { $0.version == version ? $0.pages[redaction] : nil } }) {
            dashboard.html = html
            return dashboard
        }
        guard let model = model(id: id, version: version, configuration: configuration),
            let html = try? model.redacted(redaction).html(renderer: environment.renderer)
        else { throw RedactionUnavailable(report: id) }
        assembled.withLock { pages in
            if pages[id]?.version != version { pages[id] = Assembled(version: version) }
            pages[id]?.pages[redaction] = html
        }
        dashboard.html = html
        return dashboard
    }

    /// The model (`dashboard.json`) of one artifact version, as `redaction` leaves it.
    func model(
        id: String, version: String, redaction: DashboardRedaction, configuration: DashboardConfiguration
    ) throws(RedactionUnavailable) -> DashboardModel {
        guard let model = model(id: id, version: version, configuration: configuration) else {
            throw RedactionUnavailable(report: id)
        }
        return model.redacted(redaction)
    }

    private func model(id: String, version: String, configuration: DashboardConfiguration) -> DashboardModel? {
        if let cached = models.withLock({ $0[id] }), cached.version == version { return cached.model }
        guard let data = configuration.artifacts.read(id: id, version: version, file: "dashboard.json"),
            let model = try? DashboardModel(json: data)
        else { return nil }
        models.withLock { $0[id] = (version, model) }
        return model
    }

    /// Pages assembled per redaction for the newest version of one report.
    private struct Assembled {
        var version: String
        var pages: [DashboardRedaction: String] = [:]
    }
    private let assembled = Mutex([String: Assembled]())
    private let models = Mutex([String: (version: String, model: DashboardModel)]())

    struct Dashboard {
        var html: String
        var version: ArtifactVersion
        /// Set when the dashboard may be out of date: the generator could not be asked.
        var notice: String?
    }

    /// With remote generators: brings the mirror of `report` up to date (at most every
    /// ``GeneratorClient/checkInterval``) and returns the notice to show while generators fail.
    func refresh(_ id: String, configuration: DashboardConfiguration, logger: Logger) async -> String? {
        guard let remote = configuration.remote else { return nil }
        return await syncFromRemote(id, remote: remote, configuration: configuration, logger: logger)
    }

    private struct RemoteState {
        var checked: WallInstant
        var mirrored: String?
        var failure: String?
    }
    private let remoteStates = Mutex([String: RemoteState]())
    private let remoteInFlight = Mutex([String: Task<Void, Never>]())

    /// Copies the report's newest version from a generator into the mirror when it changed;
    /// returns a notice while generators fail. Concurrent callers share one check.
    ///
    /// Only a report's first check makes its request wait: later, once the last check is older
    /// than the generators' check interval, the request gets what the mirror has while the
    /// check runs in the background (the next request sees its outcome).
    private func syncFromRemote(
        _ id: String, remote: GeneratorClient, configuration: DashboardConfiguration, logger: Logger
    ) async -> String? {
        let now = clock.now
        let previous = remoteStates.withLock { $0[id] }
        if let previous, previous.checked.isWithin(remote.checkInterval, of: now) {
            return previous.failure
        }
        let task = remoteInFlight.withLock { tasks -> Task<Void, Never> in
            if let running = tasks[id] { return running }
            let task = Task {
                let previous = remoteStates.withLock { $0[id] }
                var state = RemoteState(checked: clock.now, mirrored: previous?.mirrored, failure: nil)
                do throws(GeneratorClientError) {
                    let latest = try await remote.latest(report: id)
                    if latest.name != state.mirrored || configuration.artifacts.latestName(id: id) == nil {
                        var files: [String: Data] = [:]
                        for file in latest.files {
                            files[file] = try await remote.file(report: id, version: latest.name, name: file)
                        }
                        do {
                            try configuration.artifacts.write(
                                id: id, files: files, generatedAt: latest.generatedAt, keep: 3)
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
                remoteStates.withLock { $0[id] = final }
                remoteInFlight.withLock { $0[id] = nil }
            }
            tasks[id] = task
            return task
        }
        if let previous, previous.mirrored != nil || previous.failure != nil { return previous.failure }
        await task.value
        return remoteStates.withLock { $0[id]?.failure }
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

/// A dashboard holds panels its reader may not see, and the artifact has no model to
/// assemble the page without them.
struct RedactionUnavailable: Error, CustomStringConvertible {
    var report: String
    var description: String {
        "this dashboard has panels you may not see, and this copy of it cannot be shown without them; it is shown again after its next generation"
    }
}
