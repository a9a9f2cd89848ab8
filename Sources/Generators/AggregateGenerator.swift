public import AlmanacCore
public import Artifacts
public import Catalog
import Charts
public import Foundation
public import Logging
import Metrics
public import Rendering
public import Storage
import Synchronization
public import Warehouse

/// Generates aggregate dashboards: for each panel, the metric through the warehouse, then
/// smoothing, significance bands, comparison and annotations, then an SVG chart, a data
/// table and a CSV; the whole dashboard is written as one atomic artifact version.
///
/// A failing report is logged and recorded as a failed run; it never stops the others.
public struct AggregateGenerator: Sendable {
    public var catalog: Catalog
    public var warehouse: any Warehouse
    public var artifacts: ArtifactStore
    public var state: any StateStore
    public var renderer: PageRenderer
    public var logger: Logger
    /// The last day shown on dashboards (usually yesterday: data loads overnight).
    public var asOf: CalendarDay
    /// Stamps dashboards and runs with the time, and measures sources' freshness.
    public var clock: any WallClock
    public var queryTimeout: Duration

    public init(
        catalog: Catalog, warehouse: any Warehouse, artifacts: ArtifactStore, state: any StateStore,
        renderer: PageRenderer, logger: Logger, asOf: CalendarDay, clock: any WallClock = SystemClock(),
        queryTimeout: Duration = .seconds(120)
    ) {
        self.catalog = catalog
        self.warehouse = warehouse
        self.artifacts = artifacts
        self.state = state
        self.renderer = renderer
        self.logger = logger
        self.asOf = asOf
        self.clock = clock
        self.queryTimeout = queryTimeout
    }

    /// Reports that are generated: active and deprecated ones (drafts and retired ones are not).
    public var generatableReports: [Report] { catalog.reports.filter(\.isGenerated) }

    /// Generates `reports` with at most `parallelism` at once; returns one run per report.
    public func generate(
        _ reports: [Report], parallelism: Int, progress: any ProgressSink = SilentProgress()
    ) async
        -> [RunRecord]
    {
        var runs: [RunRecord] = []
        var next = 0
        progress.update("generate", completed: 0, total: reports.count)
        await withTaskGroup(of: RunRecord.self) { group in
            while next < min(max(1, parallelism), reports.count) {
                let report = reports[next]
                group.addTask { await generate(report) }
                next += 1
            }
            while let run = await group.next() {
                runs.append(run)
                progress.update("generate", completed: runs.count, total: reports.count)
                if next < reports.count {
                    let report = reports[next]
                    group.addTask { await generate(report) }
                    next += 1
                }
            }
        }
        progress.finish("generate")
        return runs
    }

    /// Generates one report and records the run; never throws.
    public func generate(_ report: Report) async -> RunRecord {
        let started = clock.date
        // NB: how long a run took is measured, not scheduled: always on the real clock.
        let measured = ContinuousClock.now
        var rows = 0
        var bytes = 0
        var failure: String?
        do {
            let output = try await CurrentReport.$id.withValue(report.id.rawValue) { try await render(report) }
            rows = output.rows
            bytes = output.files.values.reduce(0) { $0 + $1.count }
            try artifacts.write(
                id: report.id.rawValue, files: output.files, generatedAt: started, keep: catalog.settings.keepVersions)
            // Panels that failed are shown as errors on the dashboard, and the run counts as failed
            // so that it appears among the failures on the admin page.
            if let panelFailure = output.panelFailure { failure = panelFailure }
            logger.info(
                "generated report", metadata: ["report": "\(report.id)", "rows": "\(rows)", "bytes": "\(bytes)"])
        } catch {
            failure = "\(error)"
            logger.error("report generation failed", metadata: ["report": "\(report.id)", "error": "\(error)"])
        }
        let elapsed = ContinuousClock.now - measured
        let dimensions = [("report", report.id.rawValue)]
        Metrics.Timer(label: "almanac_generation_duration_seconds", dimensions: dimensions).record(duration: elapsed)
        if failure != nil { Counter(label: "almanac_generation_failures_total", dimensions: dimensions).increment() }
        let run = RunRecord(
            kind: "generation", target: report.id.rawValue, startedAt: started,
            durationMilliseconds: Int(elapsed / .milliseconds(1)),
            rows: rows, bytes: bytes, error: failure)
        do {
            try await state.recordRun(run)
        } catch {
            logger.error(
                "could not record the generation run", metadata: ["report": "\(report.id)", "error": "\(error)"])
        }
        return run
    }

    /// How many of a dashboard's panels query the warehouse at the same time: as many as the
    /// SQLite warehouse has readers. A dashboard takes as long as its slowest panel, not the
    /// sum of them, and one render cannot take every connection of a bigger pool.
    static let panelsInParallel = 4

    /// Each shown panel of `report` built, up to ``panelsInParallel`` at a time; indexed like
    /// `report.panels`, nil for the panels in `hiddenPanels`.
    static func buildPanels(
        of report: Report, range: DateRange, skipping hiddenPanels: Set<Int>, catalog: Catalog,
        evaluator: MetricEvaluator
    ) async -> [Result<PanelBuilder.Built, any Error>?] {
        var pending = report.panels.indices.filter { !hiddenPanels.contains($0 + 1) }.map { index in
            let panel = report.panels[index]
            // A panel's own span ends with the dashboard's ("errors in the last 30 days").
            let panelRange =
                panel.range.map { DateRange.ending(on: range.end, covering: $0, grain: report.grain) } ?? range
            return PanelBuilder(
                catalog: catalog, evaluator: evaluator, report: report, panel: panel, index: index + 1,
                range: panelRange)
        }[...]
        return await withTaskGroup(of: (Int, Result<PanelBuilder.Built, any Error>).self) { group in
            var results = [Result<PanelBuilder.Built, any Error>?](repeating: nil, count: report.panels.count)
            for _ in 0..<panelsInParallel {
                guard let builder = pending.popFirst() else { break }
                group.addTask { await builder.result() }
            }
            while let (index, result) = await group.next() {
                results[index] = result
                if let builder = pending.popFirst() { group.addTask { await builder.result() } }
            }
            return results
        }
    }

    struct Output {
        var files: [String: Data]
        var rows: Int
        /// "2 of 5 panels failed: …" when some (not all) panels could not be computed.
        var panelFailure: String?
        /// With deferred twins: the CSVs and `dashboard.json`, made when first asked for.
        var twins: (@Sendable () -> [String: Data])? = nil
    }

    /// A template rendered on demand for one set of parameter values: the dashboard's HTML,
    /// computed now and written nowhere, with the same data twins as a generated dashboard
    /// (`dashboard.json` and a CSV and SVG per panel), whose links carry `query` (the
    /// parameters as the page's address has them) so they name this render.
    ///
    /// Entity parameters are looked up here, where the warehouse is: a value that names no
    /// entity throws ``ParameterError``. Panels listed in `hiddenPanels` (1-based; those the
    /// viewer may not see) are not computed and say so.
    public func renderTemplate(
        _ template: Template, values: [String: FilterValue], title: String, hiddenPanels: Set<Int> = [],
        query: String = ""
    ) async throws -> TemplateRender {
        var values = values
        for parameter in template.parameters where parameter.type == .entity {
            guard case .string(let text)? = values[parameter.name], let id = parameter.entity,
                let entity = catalog.entity(id)
            else { continue }
            let column = parameter.by?.name ?? entity.key.name
            let key: FilterValue?
            do {
                key = try await EntityLookup.key(
                    of: entity, where: parameter.by, equals: text, catalog: catalog, warehouse: warehouse,
                    timeout: queryTimeout)
            } catch let error as CompileError {
                throw ParameterError(
                    parameter: parameter.name, "'\(text)' is not a valid \(column): \(error.userMessage)")
            }
            guard let key else {
                throw ParameterError(
                    parameter: parameter.name, "no \(entity.name.lowercased()) has \(column) '\(text)'",
                    hint: "search for it, or check the spelling")
            }
            values[parameter.name] = key
        }
        let report = template.report(binding: values, title: title, asOf: asOf)
        // Most renders are only looked at: their CSVs and data are made when first downloaded.
        let output = try await render(
            report, deferTwins: true, hiddenPanels: hiddenPanels,
            downloadBase: "/templates/\(template.id.rawValue)/panels/", downloadQuery: query.isEmpty ? nil : "?" + query
        )
        let shown = output.files
        return TemplateRender(html: output.files["dashboard.html"] ?? Data()) {
            shown.merging(output.twins?() ?? [:]) { first, _ in first }
        }
    }

    /// Computes and renders a report without writing it. With `deferTwins`, the panels' CSVs,
    /// their full-precision data and `dashboard.json` are left to ``Output/twins``.
    func render(
        _ report: Report, deferTwins: Bool = false, hiddenPanels: Set<Int> = [], downloadBase: String? = nil,
        downloadQuery: String? = nil
    ) async throws -> Output {
        let range =
            report.fixedRange.map {
                DateRange(start: Periods.start(of: $0.lowerBound, grain: report.grain), end: $0.upperBound)
            } ?? DateRange.ending(on: asOf, covering: report.range, grain: report.grain)
        let evaluator = MetricEvaluator(catalog: catalog, warehouse: warehouse, timeout: queryTimeout)
        var files: [String: Data] = [:]
        var panels: [DashboardModel.Panel] = []
        var deferredCSVs: [(panel: Int, name: String, csv: @Sendable () -> String)] = []
        var rows = 0
        var failures = 0
        let computed = await Self.buildPanels(
            of: report, range: range, skipping: hiddenPanels, catalog: catalog, evaluator: evaluator)
        for (index, panel) in report.panels.enumerated() {
            guard let result = computed[index] else {
                panels.append(.restricted(index: index + 1, title: panel.title, chart: panel.chart.rawValue))
                continue
            }
            do {
                let built = try result.get()
                rows += built.rows
                if let svg = built.model.svg, let name = built.model.svgFile { files[name] = Data(svg.utf8) }
                var model = built.model
                if let csv = built.csv, let name = built.model.csvFile {
                    if deferTwins {
                        deferredCSVs.append((panels.count, name, csv))
                    } else {
                        let text = csv()
                        files[name] = Data(text.utf8)
                        model.data = DataTable(csv: text)
                    }
                }
                panels.append(model)
            } catch {
                failures += 1
                let metric = panel.metric.flatMap { catalog.metric($0) }
                panels.append(
                    DashboardModel.Panel(
                        index: index + 1, title: panel.title, description: panel.description,
                        chart: panel.chart.rawValue, metricID: panel.metric?.rawValue ?? "",
                        metricName: metric?.name ?? panel.metric?.rawValue
                            ?? panel.records.map { catalog.source($0.source)?.name ?? $0.source.rawValue } ?? "",
                        metricURL: panel.metric.map { Route.metric($0).path }, svg: nil, svgFile: nil, csvFile: nil,
                        table: nil,
                        showTable: false, headline: nil, headlineChange: nil, notes: [], error: "\(error)"))
            }
        }
        if failures == report.panels.count - hiddenPanels.count, failures > 0 {
            throw GenerationError("every panel failed; first: \(panels.first?.error ?? "?")")
        }
        let freshness = await freshness(for: report, skipping: hiddenPanels)
        let generatedAt = clock.date
        let formatter = Formatter(timeZone: TimeZone(identifier: catalog.settings.timezone) ?? .gmt, now: generatedAt)
        let model = DashboardModel(
            reportID: report.id.rawValue, title: report.title, generatedAt: generatedAt,
            generatedAtText: formatter.dateTime(generatedAt), asOf: asOf.description,
            rangeText: "\(range.start) to \(range.end)", grain: report.grain.rawValue, freshness: freshness,
            anyStale: freshness.contains(where: \.stale), panels: panels,
            downloadBase: downloadBase ?? "/reports/\(report.id.rawValue)/panels/", downloadQuery: downloadQuery)
        if !deferTwins { files["dashboard.json"] = try model.json() }
        files["dashboard.html"] = Data(try model.html(renderer: renderer).utf8)
        let failed = panels.filter { $0.error != nil }
        var output = Output(
            files: files, rows: rows,
            panelFailure: failed.isEmpty
                ? nil
                : "\(failed.count) of \(panels.count) panels failed; first ('\(failed[0].title)'): \(failed[0].error ?? "")"
        )
        if deferTwins {
            output.twins = { [model, deferredCSVs] in
                var model = model
                var twins: [String: Data] = [:]
                for (panel, name, csv) in deferredCSVs {
                    let text = csv()
                    twins[name] = Data(text.utf8)
                    model.panels[panel].data = DataTable(csv: text)
                }
                twins["dashboard.json"] = try? model.json()
                return twins
            }
        }
        return output
    }

    /// "Data as of …" for every source the report reads (but for the panels in `hidden`),
    /// flagged when older than declared.
    func freshness(for report: Report, skipping hidden: Set<Int> = []) async -> [DashboardModel.Freshness] {
        var sources: [SourceID] = []
        let panels = report.panels.enumerated().filter { !hidden.contains($0.offset + 1) }.map(\.element)
        for metricID in panels.flatMap(\.metrics) {
            guard let metric = catalog.metric(metricID) else { continue }
            let parts = metric.type == .ratio ? [metric.numerator, metric.denominator].compactMap { $0 } : [metric.id]
            for part in parts {
                if let source = catalog.metric(part)?.source, !sources.contains(source) { sources.append(source) }
            }
        }
        var result: [DashboardModel.Freshness] = []
        for id in sources {
            guard let source = catalog.source(id), let freshness = source.freshness else { continue }
            var newest: String?
            do {
                newest = try await warehouse.newest(freshness.column, in: source.table, timeout: queryTimeout)
            } catch {
                logger.warning("freshness check failed", metadata: ["source": "\(id)", "error": "\(error)"])
            }
            let age = newest.flatMap(Self.date).map { clock.date.timeIntervalSince($0) }
            let stale = age.map { $0 > Double(freshness.expectedWithin.seconds) } ?? true
            let note: String
            if let newest {
                let shown = localText(newest)
                note =
                    stale
                    ? "stale: newest \(freshness.column.name) is \(shown), older than the expected \(freshness.expectedWithin)"
                    : "data as of \(shown)"
            } else {
                note = "no data, or the freshness check failed"
            }
            result.append(
                .init(
                    sourceID: source.id.rawValue, source: source.name, table: source.table.name, newest: newest,
                    expectedWithin: freshness.expectedWithin.description, stale: stale, note: note))
        }
        return result
    }

    /// A newest value as the company reads it: a UTC timestamp in the catalog's time zone
    /// ("2026-11-24 19:30 EST"), a date as it is.
    func localText(_ newest: String) -> String {
        let local = LocalTime(identifier: catalog.settings.timezone)
        guard !local.isUTC, newest.count >= 19, let date = Self.date(newest) else { return newest }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = local.zone
        formatter.dateFormat = "yyyy-MM-dd HH:mm zzz"
        return formatter.string(from: date)
    }

    /// Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS` (UTC); a date counts from its end.
    static func date(_ text: String) -> Date? {
        guard let day = CalendarDay(parsing: String(text.prefix(10))) else { return nil }
        var seconds = Double(day.dayNumber) * 86_400
        let time = text.dropFirst(11).prefix(8).split(separator: ":").compactMap { Int($0) }
        if time.count == 3 {
            seconds += Double(time[0] * 3600 + time[1] * 60 + time[2])
        } else {
            seconds += 86_400
        }
        return Date(timeIntervalSince1970: seconds)
    }
}

/// A template render: its HTML at once, and the same data twins as a generated dashboard's
/// artifact (`dashboard.json`, each panel's CSV and SVG), made once when first asked for.
public final class TemplateRender: Sendable {
    /// The dashboard's HTML fragment, as bytes.
    public let htmlData: Data
    private let make: @Sendable () -> [String: Data]
    private let made = Mutex<[String: Data]?>(nil)

    public init(html: Data, files make: @escaping @Sendable () -> [String: Data]) {
        self.htmlData = html
        self.make = make
    }

    /// A render whose files are all at hand (from a remote generator).
    public convenience init(files: [String: Data]) {
        self.init(html: files["dashboard.html"] ?? Data()) { files }
    }

    /// The dashboard's HTML fragment.
    public var html: String { String(decoding: htmlData, as: UTF8.self) }

    /// Bytes held: the HTML, and the data twins once made.
    public var bytes: Int {
        htmlData.count + (made.withLock { $0?.values.reduce(0) { $0 + $1.count } } ?? 0)
    }

    /// Every file: `dashboard.html`, `dashboard.json`, `panel-N.csv` and `panel-N.svg`.
    public var files: [String: Data] {
        made.withLock { made in
            if let made { return made }
            let files = make()
            made = files
            return files
        }
    }

    /// The query string that names a render: its parameter values, sorted, percent-encoded.
    public static func query(_ values: [String: String]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return values.sorted { $0.key < $1.key }.map { key, value in
            (key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key) + "="
                + (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)
        }.joined(separator: "&")
    }
}

extension Report {
    /// Whether the report has a generated dashboard: a live (active or deprecated) report of
    /// kind dashboard. Drafts, retired and external reports never are, not even on demand.
    public var isGenerated: Bool { (status == .active || status == .deprecated) && kind == .dashboard }
}

public struct GenerationError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension JSONEncoder {
    static let dashboard: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}

/// The report being generated by the current task, so that a warehouse wrapper (the generation
/// benchmark's statement recorder) can tell whose statements it sees.
public enum CurrentReport {
    @TaskLocal public static var id: String?
}
