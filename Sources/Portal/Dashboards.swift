import AlmanacCore
import Artifacts
import Catalog
import Foundation
import Generators
import Logging
import Pages
import Proxy
import Rendering
import Synchronization

/// Finds the HTML of a report's latest dashboard from its ``DashboardSource`` (generated on
/// demand here, or copied from a generator), and caches what it read per artifact version.
final class DashboardCache: Sendable {
    private struct Entry {
        var version: ArtifactVersion
        var html: String
    }
    private let entries = Mutex([String: Entry]())
    /// Where dashboards come from; `nil` when the portal has none (report pages show their
    /// definition only).
    let source: (any DashboardSource)?
    var artifacts: ArtifactStore? { source?.artifacts }

    init(source: (any DashboardSource)?) { self.source = source }

    /// The latest dashboard HTML of `report` and its version, if there is one, with the
    /// source's notice when it may be out of date.
    func html(for report: Report) async -> Dashboard? {
        guard let source else { return nil }
        let id = report.id.rawValue
        let notice = await source.refresh(report)
        // NB: the hot path is one small file read (LATEST) and a dictionary lookup.
        var name = source.artifacts.latestName(id: id)
        if let name, let cached = entries.withLock({ $0[id] }), cached.version.name == name {
            return Dashboard(html: cached.html, version: cached.version, notice: notice)
        }
        // Only what is generated at night is generated on demand: not drafts, retired or external reports.
        if name == nil, report.isGenerated {
            await source.generateMissing(report)
            name = source.artifacts.latestName(id: id)
        }
        guard name != nil, let version = source.artifacts.latest(id: id),
            let data = source.artifacts.read(id: id, version: version.name, file: "dashboard.html")
        else { return nil }
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
        for report: Report, view: CatalogView, renderer: PageRenderer
    ) async throws(RedactionUnavailable) -> Dashboard? {
        guard var dashboard = await html(for: report) else { return nil }
        let redaction = DashboardRedaction(report: report, view: view)
        if redaction.isEmpty { return dashboard }
        let id = report.id.rawValue
        let version = dashboard.version.name
        if let html = assembled.withLock({ $0[id].flatMap { $0.version == version ? $0.pages[redaction] : nil } }) {
            dashboard.html = html
            return dashboard
        }
        guard let model = model(id: id, version: version),
            let html = try? model.redacted(redaction).html(renderer: renderer)
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
        id: String, version: String, redaction: DashboardRedaction
    ) throws(RedactionUnavailable)
        -> DashboardModel
    {
        guard let model = model(id: id, version: version) else {
            throw RedactionUnavailable(report: id)
        }
        return model.redacted(redaction)
    }

    private func model(id: String, version: String) -> DashboardModel? {
        if let cached = models.withLock({ $0[id] }), cached.version == version { return cached.model }
        guard let data = artifacts?.read(id: id, version: version, file: "dashboard.json"),
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
}

/// A dashboard holds panels its reader may not see, and the artifact has no model to
/// assemble the page without them.
struct RedactionUnavailable: Error, CustomStringConvertible {
    var report: String
    var description: String {
        "this dashboard has panels you may not see, and this copy of it cannot be shown without them; it is shown again after its next generation"
    }
}
