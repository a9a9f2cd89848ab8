import AlmanacCore
public import Catalog
public import Rendering

/// What of a shared dashboard one reader may not see: the panels whose metric, ratio
/// parts or source they may not see, and the sources whose freshness they may not read.
///
/// A report's dashboard is generated once for everyone who may open the report, with every
/// panel computed. Before any of it reaches a reader, the portal takes out what the
/// reader's access set hides: the panel becomes "You do not have access to this panel's
/// data", its CSV and SVG are refused, and the data API leaves it out. The redaction
/// depends only on what the reader may see, never on who they are, so it is the key under
/// which assembled pages are cached.
public struct DashboardRedaction: Hashable, Sendable {
    /// 1-based indexes of the panels left out, ascending.
    public var hiddenPanels: [Int]
    /// Ids of the sources whose freshness line is left out, ascending.
    public var hiddenSources: [String]

    /// Nothing is hidden: the dashboard as generated.
    public static let none = DashboardRedaction(hiddenPanels: [], hiddenSources: [])

    public init(hiddenPanels: [Int], hiddenSources: [String]) {
        self.hiddenPanels = hiddenPanels.sorted()
        self.hiddenSources = hiddenSources.sorted()
    }

    /// What `view`'s reader may not see of `report`'s dashboard.
    public init(report: Report, view: CatalogView) {
        let catalog = view.catalog
        var sources = Set<SourceID>()
        for id in report.metrics {
            guard let metric = catalog.metric(id) else { continue }
            sources.insert(metric.source)
            for part in [metric.numerator, metric.denominator].compactMap({ $0 }) {
                if let source = catalog.metric(part)?.source { sources.insert(source) }
            }
        }
        self.init(
            hiddenPanels: Array(view.hiddenPanels(report.panels)),
            hiddenSources: sources.filter { id in catalog.source(id).map { !view.canSee($0) } ?? true }.map {
                $0.rawValue
            })
    }

    public var isEmpty: Bool { hiddenPanels.isEmpty && hiddenSources.isEmpty }

    /// Whether the reader may download `file` of a dashboard shaped like `model`: only the
    /// CSV and SVG files of panels they may see.
    public func allows(file: String, in model: DashboardModel) -> Bool {
        model.panels.contains { panel in
            (panel.csvFile == file || panel.svgFile == file) && !hiddenPanels.contains(panel.index)
        }
    }
}

extension DashboardModel {
    /// The dashboard without what `redaction` hides.
    public func redacted(_ redaction: DashboardRedaction) -> DashboardModel {
        guard !redaction.isEmpty else { return self }
        var copy = self
        let hidden = Set(redaction.hiddenPanels)
        copy.panels = panels.map {
            hidden.contains($0.index) ? .restricted(index: $0.index, title: $0.title, chart: $0.chart) : $0
        }
        let sources = Set(redaction.hiddenSources)
        // Artifacts written before freshness carried the source id are matched by nothing: fail closed.
        copy.freshness = freshness.filter { $0.sourceID.map { !sources.contains($0) } ?? sources.isEmpty }
        copy.anyStale = copy.freshness.contains(where: \.stale)
        return copy
    }

    /// The dashboard's HTML fragment, as the report page embeds it.
    public func html(renderer: PageRenderer) throws -> String {
        var page = self
        // Artifacts written before the model carried it link to the report's downloads.
        if page.downloadBase == nil { page.downloadBase = "/reports/\(reportID)/panels/" }
        for index in page.panels.indices {
            page.panels[index].tableHTML = page.panels[index].table?.html
            page.panels[index].table = nil
        }
        return try renderer.render(page, template: "dashboard/body")
    }
}

extension DashboardModel.Panel {
    /// A panel the reader may not see: its place and title (the report's own text), nothing
    /// it computed.
    public static func restricted(index: Int, title: String, chart: String) -> DashboardModel.Panel {
        DashboardModel.Panel(
            index: index, title: title, description: nil, chart: chart, metricID: "", metricName: "restricted",
            metricURL: nil, svg: nil, svgFile: nil, csvFile: nil, table: nil, showTable: false, headline: nil,
            headlineChange: nil, notes: ["You do not have access to this panel's data."], error: nil)
    }
}
