import AlmanacCore
import Artifacts
import Catalog
import Delivery
import Foundation
import Generators
import HTTPTypes
import Hummingbird
import Lifecycle
import Logging
import Pages
import Prometheus
import Proxy
import Rendering
import Search
import Storage
import Warehouse

/// The portal's pages and their JSON twins. Each handler builds a view model through
/// ``PageBuilder`` (which applies access) and renders it as HTML or JSON; no handler
/// decides visibility itself.
struct CatalogController {
    let environment: PortalEnvironment
    let dashboards: DashboardCache
    var pageCache: RenderedPageCache { environment.pages }
    var templateRenders: TemplateRenderCache { environment.templateRenders }

    init(environment: PortalEnvironment) {
        self.environment = environment
        self.dashboards = DashboardCache(source: environment.dashboards?.source(environment: environment))
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        // Each page is registered twice: HTML at its path, JSON under /api.
        page(router, .home) { request, context, builder, viewer in
            let events = try await environment.state.recentLifecycleEvents(kind: ItemKind.report.rawValue, limit: 200)
            // The retirement review's bookkeeping (flagged, kept) is not news for the home page.
            let changes = events.filter { ![.flagged, .unflagged, .kept].contains($0.action) }
            let model = builder.home(recentChanges: changes.map { Self.change($0, builder: builder) })
            return Rendered(model: model, template: "pages/home", title: "Home", route: .home)
        }
        page(router, .browse) { request, context, builder, viewer in
            let filter = try Self.browseFilter(request)
            let model = builder.browse(filter)
            return Rendered(
                model: model, template: "pages/browse", title: model.heading, route: .browse(filter),
                searchText: filter.text)
        }
        page(router, .reports) { request, context, builder, viewer in
            var filter = try Self.browseFilter(request)
            filter.kind = .report
            let model = builder.browse(filter)
            return Rendered(model: model, template: "pages/browse", title: "Reports", route: .browse(filter))
        }
        // The report page is the busiest page: its HTML is served from a cache (see reportPage).
        router.get(Route.Mount.report.routerPath) { request, context in try await reportPage(request, context) }
        environment.cachedRoutes.register(.report) { request, context in cachedReportPage(request, context) }
        page(
            router, .report, html: false,
            owner: { context, catalog in context.parameters.get("id").flatMap { catalog.report(ReportID($0))?.owner } }
        ) { request, context, builder, viewer in
            let id = try context.parameters.require("id")
            let report = try await liveReport(id, builder: builder)
            var model = try await reportModel(report, builder: builder)
            model.views += 1  // the counts were read before this view was recorded
            return Rendered(
                model: model, template: "pages/report", title: report.title, route: .report(report.id),
                countedView: .init(kind: .report, id: id), viewsField: \.views)
        }
        router.get(Route.Mount.reportPanel.routerPath) { request, context in
            try await artifactFile(request, context)
        }
        router.get(Route.Mount.reportData.apiRouterPath) { request, context in
            try await artifactFile(request, context, file: "dashboard.json")
        }
        page(router, .templates) { request, context, builder, viewer in
            var filter = try Self.browseFilter(request)
            filter.kind = .template
            let model = builder.browse(filter)
            return Rendered(model: model, template: "pages/browse", title: "Templates", route: .browse(filter))
        }
        page(
            router, .template,
            owner: { context, catalog in
                context.parameters.get("id").flatMap { catalog.template(TemplateID($0))?.owner }
            }
        ) { request, context, builder, viewer in
            let id = try context.parameters.require("id")
            guard let template = builder.view.template(TemplateID(id)) else {
                throw PortalError.notFound("template", id)
            }
            let values = FormQuery(request).all
            var model = builder.template(template, values: values)
            var title = template.title
            // With parameters in the URL, the dashboard is generated for them, now.
            if !values.isEmpty {
                let bound = try Self.bind(template, values, view: builder.view)
                model.renderedFor = Self.described(template, bound)
                title = "\(template.title): \(model.renderedFor ?? "")"
                if environment.dashboards != nil {
                    do {
                        model.dashboardHTML = try await templateRender(
                            template, bound: bound, values: values, title: title, builder: builder, context: context
                        ).html
                    } catch {
                        // A refused parameter or an unavailable generator is the error page (400, 503);
                        // a failed computation is told on the page, beside the form to try other values.
                        if error is PortalError || error is ParameterError || error is GeneratorClientError {
                            throw error
                        }
                        context.logger.warning("template render failed", metadata: ["error": "\(error)"])
                        model.dashboardError =
                            PortalError(mapping: error)?.message
                            ?? "This dashboard could not be computed (request id: \(context.requestID))."
                    }
                }
            }
            return Rendered(
                model: model, template: "pages/template", title: title, route: .template(template.id),
                countedView: .init(kind: .template, id: id, parameters: values), sharedField: \.dashboardHTML)
        }
        // A template render's data twins: its dashboard's data and each panel's CSV and SVG,
        // for the same parameters, access and cache as the page.
        router.get(Route.Mount.templateData.apiRouterPath) { request, context in
            try await templateFile(request, context, file: "dashboard.json")
        }
        router.get(Route.Mount.templatePanel.routerPath) { request, context in
            try await templateFile(request, context, file: nil)
        }
        page(router, .glossary) { request, context, builder, viewer in
            Rendered(model: builder.glossary(), template: "pages/glossary", title: "Metric glossary", route: .glossary)
        }
        page(
            router, .metric,
            owner: { context, catalog in context.parameters.get("id").flatMap { catalog.metric(MetricID($0))?.owner } }
        ) { request, context, builder, viewer in
            let id = try context.parameters.require("id")
            guard let metric = builder.view.metric(MetricID(id)) else {
                try await throwTombstoneIfRemoved(.metric, id, builder: builder)
                throw PortalError.notFound("metric", id, hint: "The glossary lists every metric you can see.")
            }
            if metric.status == .retired {
                throw try await tombstone(
                    ItemKey(.metric, id), title: metric.name, owner: metric.owner, reason: metric.statusReason,
                    replacement: metric.replacedBy?.rawValue, builder: builder)
            }
            var model = builder.metric(metric)
            model.views += 1  // the counts were read before this view was recorded
            model.usage = builder.usageModel(try await environment.usage.usage(kind: ItemKind.metric.rawValue, id: id))
            let asOf =
                environment.dashboards?.asOf()
                ?? CalendarDay.yesterday(
                    now: environment.now(), in: TimeZone(identifier: builder.catalog.settings.timezone) ?? .gmt)
            let range = DateRange(start: asOf.adding(days: -6), end: asOf)
            model.sqlExample = "For the 7 days \(range.start) to \(range.end), by day:"
            for dialect in SQLDialect.allCases {
                let compiler = MetricCompiler(catalog: builder.catalog, dialect: dialect)
                if let compiled = try? compiler.compile(MetricRequest(metric: metric.id, grain: .day, range: range)) {
                    let text = compiled.statements.map {
                        compiled.isRatio ? "-- \($0.role.rawValue)\n\($0.annotated)" : $0.annotated
                    }.joined(separator: "\n\n")
                    model.compiledSQL.append(
                        CompiledSQLModel(dialect: dialect == .sqlite ? "SQLite" : "PostgreSQL / Redshift", sql: text))
                }
            }
            return Rendered(
                model: model, template: "pages/metric", title: metric.name, route: .metric(metric.id),
                countedView: .init(kind: .metric, id: id), viewsField: \.views)
        }
        page(router, .teams) { request, context, builder, viewer in
            Rendered(model: builder.teams(), template: "pages/teams", title: "Teams", route: .teams)
        }
        page(router, .team) { request, context, builder, viewer in
            let id = try context.parameters.require("id")
            guard let team = builder.view.team(TeamID(id)) else { throw PortalError.notFound("team", id) }
            return Rendered(model: builder.team(team), template: "pages/team", title: team.name, route: .team(team.id))
        }
        page(router, .adminCatalog, cached: false) { request, context, builder, viewer in
            guard viewer.isAdmin else { throw PortalError.adminOnly }
            let model = builder.adminCatalog(environment.catalog.status)
            return Rendered(
                model: model, template: "pages/admin-catalog", title: "Catalog status", route: .adminCatalog)
        }
        page(router, .adminRuns, cached: false) { request, context, builder, viewer in
            guard viewer.isAdmin else { throw PortalError.adminOnly }
            let runs = try await environment.state.recentRuns(kind: nil, limit: 100)
            let model = builder.adminRuns(
                runs.map { ($0.kind, $0.target, $0.startedAt, $0.durationMilliseconds, $0.rows, $0.bytes, $0.error) })
            return Rendered(model: model, template: "pages/admin-runs", title: "Runs", route: .adminRuns)
        }
        page(router, .adminSearch, cached: false) { request, context, builder, viewer in
            guard viewer.isAdmin else { throw PortalError.adminOnly }
            let days = 30
            let stats = try await environment.state.searchQueries(
                since: UsageDay.of(environment.now()) - (days - 1), limit: 5_000)
            let model = builder.adminSearch(stats, days: days) { query in
                guard
                    let hit = environment.search.search(
                        query, viewer: viewer, options: SearchOptions(limit: 1, facets: false, snippets: false)
                    ).hits.first
                else { return nil }
                let link = builder.hit(for: hit, debug: false)
                return (hit.document.title, link.url)
            }
            return Rendered(model: model, template: "pages/admin-search", title: "Searches", route: .adminSearch)
        }
        page(router, .adminDeliveries, cached: false) {
            request, context, builder, viewer in
            guard viewer.isAdmin else { throw PortalError.adminOnly }
            let query = FormQuery(request)
            var status: DeliveryRecord.Status?
            if let text = query.get("status"), !text.isEmpty {
                guard let parsed = DeliveryRecord.Status(rawValue: text) else {
                    throw PortalError.badParameter(
                        "status",
                        "'\(text)' is not one of "
                            + DeliveryRecord.Status.allCases.map(\.rawValue).joined(separator: ", "))
                }
                status = parsed
            }
            let model = try await DeliveryPages.model(
                environment: environment, delivery: environment.delivery, view: builder.view, status: status,
                job: query.get("job").flatMap { $0.isEmpty ? nil : $0 })
            return Rendered(
                model: model, template: "pages/admin-deliveries", title: "Deliveries", route: .adminDeliveries)
        }
    }

    /// A file of a report's latest artifact (a panel's CSV or SVG, or the dashboard's data),
    /// following the report page: the same access check, the tombstone of a retired report,
    /// nothing for drafts and external reports (which have no generated dashboard), and
    /// nothing of a panel the reader may not see (see ``DashboardRedaction``).
    private func artifactFile(
        _ request: Request, _ context: AppRequestContext, file: String? = nil
    )
        async throws -> Response
    {
        let viewer = try context.requireViewer()
        let id = try context.parameters.require("id")
        let view = CatalogView(environment.catalog.current, viewer: viewer)
        let report = try await liveReport(id, builder: PageBuilder(view: view, now: environment.now()))
        let notGenerated = PortalError(
            status: .notFound, title: "Not generated yet", message: "Report '\(id)' has no generated dashboard yet.",
            hint: "It is generated on its schedule, or with 'almanac generate --report \(id)'.")
        guard report.isGenerated else {
            throw PortalError(
                status: .notFound, title: "No dashboard",
                message:
                    report.kind == .external
                    ? "Report '\(id)' is an app the portal fronts; it has no generated dashboard or downloads."
                    : "Report '\(id)' is a draft; its dashboard is generated once it is active.")
        }
        guard await dashboards.html(for: report) != nil, let artifacts = dashboards.artifacts,
            let version = artifacts.latest(id: id)
        else { throw notGenerated }
        let redaction = DashboardRedaction(report: report, view: view)
        let model: DashboardModel
        do throws(RedactionUnavailable) {
            model = try dashboards.model(id: id, version: version.name, redaction: .none)
        } catch {
            throw notGenerated
        }
        let data: Data
        let name = try file ?? context.parameters.require("file")
        if let file {
            // The data API: the dashboard's model as this reader may see it.
            guard file == "dashboard.json" else { throw PortalError.notFound("file", file) }
            data = try model.redacted(redaction).json()
        } else {
            guard DashboardRedaction.none.allows(file: name, in: model) else {
                throw PortalError.notFound("file", name)
            }
            guard redaction.allows(file: name, in: model) else {
                throw PortalError(
                    status: .forbidden, title: "Not allowed",
                    message: "You do not have access to the data of this panel of '\(report.title)'.")
            }
            guard version.files.contains(name),
                let bytes = artifacts.read(id: id, version: version.name, file: name)
            else { throw PortalError.notFound("file", name) }
            data = bytes
        }
        return Self.download(data, name: name, of: id)
    }

    /// A dashboard's file as a response: its data as JSON, a panel's CSV or SVG as an attachment
    /// named after the report or template `id`.
    static func download(_ data: Data, name: String, of id: String) -> Response {
        let type =
            name.hasSuffix(".csv")
            ? "text/csv; charset=utf-8" : name.hasSuffix(".svg") ? "image/svg+xml" : "application/json; charset=utf-8"
        var headers: HTTPFields = [.contentType: type, .cacheControl: "private, max-age=300"]
        if name.hasSuffix(".csv") || name.hasSuffix(".svg") {
            headers[.contentDisposition] = "attachment; filename=\"\(id)-\(name)\""
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// The parameter values bound to `template`, after checking that the viewer may see the
    /// entities they name.
    static func bind(
        _ template: Template, _ values: [String: String], view: CatalogView
    ) throws -> [String: FilterValue] {
        for parameter in template.parameters where parameter.type == .entity && values[parameter.name] != nil {
            if let entity = parameter.entity, view.entity(entity) == nil {
                throw PortalError(
                    status: .forbidden, title: "Not allowed",
                    message:
                        "Parameter '\(parameter.name)' names \(parameter.label.lowercased()) values you may not see.")
            }
        }
        return try template.bind(values)
    }

    /// "Customer Acme, Since 2026-01-01".
    static func described(_ template: Template, _ bound: [String: FilterValue]) -> String {
        template.parameters.compactMap { parameter in
            bound[parameter.name].map { "\(parameter.label) \($0.plainText)" }
        }.joined(separator: ", ")
    }

    /// The render of `template` for `bound` values, from the cache or computed now (here or by
    /// a generator), leaving out the panels the viewer may not see.
    ///
    /// What a render shows of the reader's access is which panels it leaves out (a generator is
    /// told nothing else), so renders are shared by everyone who may see the same panels:
    /// readers in different groups who see the same panels share one, and no reader gets a
    /// panel they may not see.
    private func templateRender(
        _ template: Template, bound: [String: FilterValue], values: [String: String], title: String,
        builder: PageBuilder, context: AppRequestContext
    ) async throws -> TemplateRender {
        guard let configuration = environment.dashboards, let source = dashboards.source else {
            throw PortalError(
                status: .notFound, title: "Not available", message: "This portal does not generate dashboards.")
        }
        let catalog = builder.catalog
        let hidden = builder.view.hiddenPanels(template.panels)
        let canonical = bound.mapValues(\.plainText)
        let key = TemplateRenderCache.Key(
            template: template.id.rawValue, values: canonical, catalogVersion: catalog.revision,
            asOf: configuration.asOf().description,
            hiddenPanels: hidden.sorted())
        return try await templateRenders.render(for: key) { [title] in
            try await source.renderTemplate(
                template, values: bound, raw: values, title: title, hiddenPanels: hidden, catalog: catalog)
        }
    }

    /// A file of a template render: its data (`dashboard.json`) or a panel's CSV or SVG, for
    /// the parameters in the query string, after the same checks as the page.
    private func templateFile(_ request: Request, _ context: AppRequestContext, file: String?) async throws -> Response
    {
        let viewer = try context.requireViewer()
        let id = try context.parameters.require("id")
        let builder = PageBuilder(
            view: CatalogView(environment.catalog.current, viewer: viewer), now: environment.now())
        guard let template = builder.view.template(TemplateID(id)) else { throw PortalError.notFound("template", id) }
        let values = FormQuery(request).all
        guard !values.isEmpty else {
            throw PortalError.badParameter(
                template.parameters.first?.name ?? "parameters", "say which render: give the template's parameters")
        }
        let bound = try Self.bind(template, values, view: builder.view)
        let title = "\(template.title): \(Self.described(template, bound))"
        let render = try await templateRender(
            template, bound: bound, values: values, title: title, builder: builder, context: context)
        let name = try file ?? context.parameters.require("file")
        let model = render.files["dashboard.json"].flatMap { try? DashboardModel(json: $0) }
        let allowed =
            name == "dashboard.json"
            ? file != nil : model.map { DashboardRedaction.none.allows(file: name, in: $0) } ?? false
        guard allowed, let data = render.files[name] else { throw PortalError.notFound("file", name) }
        return Self.download(data, name: name, of: id)
    }

    struct Rendered<Model: Encodable & Sendable> {
        var model: Model
        var template: String
        var title: String
        var route: Route
        var searchText: String? = nil
        /// The item whose view the page counts (on every request, cached or not).
        var countedView: RenderedPageCache.CountedView? = nil
        /// Where the model shows that item's view count, filled in per request on cached pages.
        var viewsField: WritableKeyPath<Model, Int>? = nil
        /// A large part of the page (HTML, not escaped) that many audiences' pages share.
        var sharedField: WritableKeyPath<Model, String?>? = nil
    }

    /// The report's page model with its dashboard (generated on demand when there is none yet).
    private func reportModel(_ report: Report, builder: PageBuilder) async throws -> ReportModel {
        let id = report.id.rawValue
        let history = try await environment.state.lifecycleEvents(kind: ItemKind.report.rawValue, id: id)
        var model = builder.report(report, history: history.map { Self.change($0, builder: builder) })
        model.usage = builder.usageModel(try await environment.usage.usage(kind: ItemKind.report.rawValue, id: id))
        var dashboard: DashboardCache.Dashboard?
        if report.isGenerated {
            do throws(RedactionUnavailable) {
                dashboard = try await dashboards.html(for: report, view: builder.view, renderer: environment.renderer)
            } catch {
                model.dashboardError = error.description
                return model
            }
        }
        if let dashboard {
            model.dashboardHTML = dashboard.html
            model.dashboardNotice = dashboard.notice
            model.generatedAt = builder.formatter.dateTime(dashboard.version.generatedAt)
        } else if let source = dashboards.source, report.isGenerated {
            model.dashboardError = try await source.missingReason(report)
        }
        return model
    }

    /// The report page, from the cache of rendered pages (see ``RenderedPageCache``), keyed
    /// besides the audience by the artifact version it shows and the generators' notice. A hit
    /// costs the access check, one small file read (the artifact's LATEST) and a copy of the page.
    private func reportPage(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let viewer = try context.requireViewer()
        let id = try context.parameters.require("id")
        let snapshot = environment.catalog.snapshot
        let catalog = snapshot.catalog
        let report = try await liveReport(
            id, builder: PageBuilder(view: CatalogView(catalog, viewer: viewer), now: environment.now()))
        var notice: String?
        if let source = dashboards.source, report.kind == .dashboard {
            notice = await source.refresh(report)
        }
        let key = reportPageKey(report, request, viewer: viewer, catalog: snapshot, notice: notice)
        let render: @Sendable () async throws -> RenderedPageCache.Entry = { [environment, key] in
            let builder = try await builder(for: key.audience.reader, catalog: catalog)
            var model = try await reportModel(report, builder: builder)
            model.views = RenderedPageCache.placeholder
            // The dashboard is the bulk of the page and the same for many audiences: kept once.
            let dashboard = model.dashboardHTML
            if dashboard != nil { model.dashboardHTML = RenderedPageCache.sharedMarker }
            var layout = builder.layout(
                title: report.title, active: .report(report.id), apiURL: Route.report(report.id).apiPath,
                catalogBroken: key.catalogBroken)
            layout.viewerName = RenderedPageCache.readerMarker
            let html = try environment.renderer.render(Page(layout: layout, page: model), template: "pages/report")
            return RenderedPageCache.Entry(html: html, countedView: .init(kind: .report, id: id), shared: dashboard)
        }
        // A page without its dashboard (generated on demand now, or failing) is not kept: the
        // next reader gets the dashboard once it exists.
        let entry =
            key.artifactVersion == nil && environment.dashboards != nil
            ? try await render() : try await pageCache.page(for: key, render: render)
        return respond(entry, to: viewer, request)
    }

    /// The report page's key in the cache of rendered pages.
    private func reportPageKey(
        _ report: Report, _ request: Request, viewer: Viewer, catalog: CatalogSnapshot, notice: String?,
        reader: Audiences.SignedIn? = nil
    ) -> RenderedPageCache.Key {
        var key = environment.pageKey(
            request, viewer: viewer, catalog: catalog, teams: [report.owner.rawValue], reader: reader)
        key.artifactVersion = dashboards.artifacts?.latestName(id: report.id.rawValue)
        key.notice = notice
        return key
    }

    /// ``reportPage(_:_:)``'s answer when the page is cached and nothing needs waiting for (see
    /// ``CachedPageRoutes``): a report that is not live, a dashboard whose source has a check
    /// due and a page without a dashboard are left to the router.
    private func cachedReportPage(_ request: Request, _ context: AppRequestContext) -> [ByteBuffer]? {
        guard let viewer = context.viewer, let id = context.parameters.get("id") else { return nil }
        let snapshot = environment.catalog.snapshot
        guard let report = snapshot.catalog.report(ReportID(id), visibleTo: viewer), report.status != .retired
        else { return nil }
        var notice: String?
        if let source = dashboards.source, report.kind == .dashboard {
            guard case .current(let current) = source.refreshState(report) else { return nil }
            notice = current
        }
        let key = reportPageKey(
            report, request, viewer: viewer, catalog: snapshot, notice: notice, reader: context.reader)
        guard key.artifactVersion != nil || environment.dashboards == nil,
            let entry = pageCache.cachedPage(for: key)
        else { return nil }
        return readerPieces(entry, viewer, request, name: context.reader?.name)
    }

    /// A cached page filled in for `viewer`, after counting its view.
    private func respond(_ entry: RenderedPageCache.Entry, to viewer: Viewer, _ request: Request) -> Response {
        HTMLResponse.make(pieces: readerPieces(entry, viewer, request))
    }

    /// A cached page's pieces for `viewer`, after counting its view.
    private func readerPieces(
        _ entry: RenderedPageCache.Entry, _ viewer: Viewer, _ request: Request, name: ByteBuffer? = nil
    ) -> [ByteBuffer] {
        let count = countView(entry, viewer, request)
        if let name { return entry.pieces(name: name, count: count) }
        return entry.pieces(readerName: viewer.displayName, count: count)
    }

    /// Counts the view of the item a cached page shows, if any; its views now, this one included.
    private func countView(_ entry: RenderedPageCache.Entry, _ viewer: Viewer, _ request: Request) -> Int {
        guard let counted = entry.countedView else { return 0 }
        recordView(counted.kind, counted.id, viewer, request, parameters: counted.parameters)
        return environment.views.count(kind: counted.kind.rawValue, id: counted.id)
    }

    /// The cached entry for `key`, rendered for its audience when missing. A tombstone thrown
    /// while rendering is shown in the page of `viewer`, who asked.
    private func cachedEntry(
        _ key: RenderedPageCache.Key, for viewer: Viewer,
        render: @escaping @Sendable () async throws -> RenderedPageCache.Entry
    ) async throws -> RenderedPageCache.Entry {
        do {
            return try await pageCache.page(for: key, render: render)
        } catch var tombstone as TombstoneError {
            tombstone.viewer = viewer
            throw tombstone
        }
    }

    /// The report `id` if it is live (or a draft); its tombstone when it was retired or removed.
    private func liveReport(_ id: String, builder: PageBuilder) async throws -> Report {
        guard let report = builder.view.report(ReportID(id)) else {
            try await throwTombstoneIfRemoved(.report, id, builder: builder)
            throw PortalError.notFound("report", id)
        }
        if report.status == .retired {
            throw try await tombstone(
                ItemKey(.report, id), title: report.title, owner: report.owner, reason: report.statusReason,
                replacement: report.replacedBy?.rawValue, builder: builder)
        }
        return report
    }

    /// The tombstone of a retired object, with who retired it and when (from the lifecycle log;
    /// an object retired in its file has no such event).
    private func tombstone(
        _ key: ItemKey, title: String, owner: TeamID, reason: String?, replacement: String?, builder: PageBuilder
    ) async throws -> TombstoneError {
        let events = try await environment.state.lifecycleEvents(kind: key.kind.rawValue, id: key.id)
        let retired = events.first { $0.action == .retired }
        return TombstoneError(
            model: builder.tombstone(
                key, title: title, owner: owner, reason: reason, replacement: replacement,
                event: retired.map { ($0.at, $0.actor) }),
            viewer: builder.view.viewer, apiURL: Route.item(key)?.apiPath)
    }

    /// Throws the tombstone of an object the catalog once held and no longer does, so an old
    /// link explains itself, to those who could see it then. An object that still exists but
    /// is hidden from the viewer, and a removed one they could not have seen, are a 404.
    private func throwTombstoneIfRemoved(_ kind: ItemKind, _ id: String, builder: PageBuilder) async throws {
        guard !builder.catalog.contains(ItemKey(kind, id)) else { return }
        let events = try await environment.state.lifecycleEvents(kind: kind.rawValue, id: id)
        // The newest thing the catalog did to it (lifecycle bookkeeping may come after).
        if let removed = events.first(where: { $0.action.isCatalogSync }), removed.action == .removed,
            Self.couldSee(removed, viewer: builder.view.viewer)
        {
            throw TombstoneError(
                model: builder.removedTombstone(ItemKey(kind, id), title: removed.title, at: removed.at),
                viewer: builder.view.viewer, apiURL: Route.item(ItemKey(kind, id))?.apiPath)
        }
    }

    /// Whether `viewer` could see the object a removal event is about. A removal recorded
    /// before the store kept access is shown to admins only: it may have been restricted.
    static func couldSee(_ removal: LifecycleEvent, viewer: Viewer) -> Bool {
        guard let access = removal.access else { return viewer.isAdmin }
        return access.allSatisfy { AccessPolicy.allows(viewer, groups: $0) }
    }

    /// Mounts `mount`'s page (HTML, unless `html` is false: the report page has its own route)
    /// and its JSON twin for one page built by `build`.
    ///
    /// `build` must depend on the reader only through the ``PageBuilder`` it is given (and the
    /// request): the HTML is rendered once per audience and cached, unless `cached` is false
    /// (pages of live state, like the admin pages). The JSON is cached the same way.
    private func page<Model: Encodable & Sendable>(
        _ router: Router<AppRequestContext>, _ mount: Route.Mount, html: Bool = true, cached: Bool = true,
        owner: @escaping @Sendable (AppRequestContext, Catalog) -> TeamID? = { _, _ in nil },
        _ build: @escaping @Sendable (Request, AppRequestContext, PageBuilder, Viewer) async throws -> Rendered<Model>
    ) {
        if html { htmlPage(router, mount, cached: cached, owner: owner, build) }
        router.get(mount.apiRouterPath) { request, context in
            let viewer = try context.requireViewer()
            let snapshot = environment.catalog.snapshot
            let catalog = snapshot.catalog
            guard cached else {
                let builder = try await builder(for: viewer, catalog: catalog)
                let rendered = try await build(request, context, builder, viewer)
                if let counted = rendered.countedView {
                    recordView(counted.kind, counted.id, viewer, request, parameters: counted.parameters)
                }
                return JSONResponse.make(rendered.model)
            }
            // The JSON twin is cached per audience like the page (it names no reader).
            var key = environment.pageKey(
                request, viewer: viewer, catalog: snapshot, teams: owner(context, catalog).map { [$0.rawValue] } ?? [])
            key.format = .json
            let entry = try await cachedEntry(key, for: viewer) { [key] in
                let reader = key.audience.reader
                var rendered = try await build(
                    request, context, try await builder(for: reader, catalog: catalog), reader)
                if let field = rendered.viewsField { rendered.model[keyPath: field] = RenderedPageCache.placeholder }
                let json = String(decoding: try JSONResponse.encoder.encode(rendered.model), as: UTF8.self)
                var entry = RenderedPageCache.Entry(html: json, countedView: rendered.countedView)
                entry.plainCount = true
                return entry
            }
            return JSONResponse.make(pieces: entry.pieces(readerName: "", count: countView(entry, viewer, request)))
        }
    }

    private func htmlPage<Model: Encodable & Sendable>(
        _ router: Router<AppRequestContext>, _ mount: Route.Mount, cached: Bool,
        owner: @escaping @Sendable (AppRequestContext, Catalog) -> TeamID?,
        _ build: @escaping @Sendable (Request, AppRequestContext, PageBuilder, Viewer) async throws -> Rendered<Model>
    ) {
        // Only owner controls ask which teams the reader belongs to, on their team's items.
        let key = {
            @Sendable [environment] (
                request: Request, context: AppRequestContext, viewer: Viewer, catalog: CatalogSnapshot
            )
            in
            environment.pageKey(
                request, viewer: viewer, catalog: catalog,
                teams: owner(context, catalog.catalog).map { [$0.rawValue] } ?? [], reader: context.reader)
        }
        if cached {
            environment.cachedRoutes.register(mount) { [pageCache] request, context in
                guard let viewer = context.viewer else { return nil }
                let snapshot = environment.catalog.snapshot
                let memo = environment.pageMemoKey(request, context, snapshot)
                if let memo,
                    let found = environment.pageMemo.found(
                        target: memo.target, audience: memo.audience, token: memo.token, now: pageCache.clock)
                {
                    pageCache.countHit(stale: found.servedUntil != nil)
                    return readerPieces(found.entry, viewer, request, name: context.reader?.name)
                }
                guard let (entry, servedUntil) = pageCache.lookup(key(request, context, viewer, snapshot)) else {
                    return nil
                }
                if let memo {
                    environment.pageMemo.remember(
                        .init(entry: entry, search: nil, servedUntil: servedUntil), target: memo.target,
                        audience: memo.audience, token: memo.token)
                }
                return readerPieces(entry, viewer, request, name: context.reader?.name)
            }
        }
        router.get(mount.routerPath) { request, context in
            let viewer = try context.requireViewer()
            let snapshot = environment.catalog.snapshot
            let catalog = snapshot.catalog
            guard cached else {
                let builder = try await builder(for: viewer, catalog: catalog)
                let rendered = try await build(request, context, builder, viewer)
                let page = Page(
                    layout: builder.layout(
                        title: rendered.title, active: rendered.route, apiURL: rendered.route.apiPath,
                        catalogBroken: !environment.catalog.status.rejectedDiagnostics.isEmpty,
                        searchText: rendered.searchText),
                    page: rendered.model)
                return HTMLResponse.make(try environment.renderer.render(page, template: rendered.template))
            }
            let key = key(request, context, viewer, snapshot)
            let entry = try await cachedEntry(key, for: viewer) { [environment] in
                let reader = key.audience.reader
                let builder = try await builder(for: reader, catalog: catalog)
                var rendered = try await build(request, context, builder, reader)
                if let field = rendered.viewsField {
                    rendered.model[keyPath: field] = RenderedPageCache.placeholder
                }
                var shared: String?
                if let field = rendered.sharedField, let part = rendered.model[keyPath: field] {
                    shared = part
                    rendered.model[keyPath: field] = RenderedPageCache.sharedMarker
                }
                var layout = builder.layout(
                    title: rendered.title, active: rendered.route, apiURL: rendered.route.apiPath,
                    catalogBroken: key.catalogBroken, searchText: rendered.searchText)
                layout.viewerName = RenderedPageCache.readerMarker
                let html = try environment.renderer.render(
                    Page(layout: layout, page: rendered.model), template: rendered.template)
                return RenderedPageCache.Entry(html: html, countedView: rendered.countedView, shared: shared)
            }
            return respond(entry, to: viewer, request)
        }
    }

    /// A page builder for `viewer` with view counts and usage as of the last background refresh.
    private func builder(for viewer: Viewer, catalog: Catalog) async throws -> PageBuilder {
        let counts = await environment.views.counts()
        let usage = try await environment.usage.totals()
        return PageBuilder(
            view: CatalogView(catalog, viewer: viewer), now: environment.now(), viewCounts: counts, usage: usage)
    }

    /// Counts one view of an item by a person (crawlers and monitors are not counted).
    private func recordView(
        _ kind: ItemKind, _ id: String, _ viewer: Viewer, _ request: Request, parameters: [String: String] = [:]
    ) {
        guard !ViewContext.isAutomated(request) else { return }
        let now = environment.now()
        let source = ViewContext.source(request)
        let channel = ViewContext.channel(request)
        environment.record(
            ViewEvent(
                itemKind: kind.rawValue, itemID: id, viewer: viewer.user, viewedAt: now,
                parametersHash: ViewContext.parametersHash(parameters), source: source, channel: channel))
        // Only views that came from a results page read its query (the referer parsed once more).
        if environment.recordsViews, source == .search, channel == .page,
            let query = ViewContext.searchQuery(request)
        {
            // The search log names an entity value's page by its one parameter, as search does.
            let item = SearchDocument.clickKey(
                kind: kind, id: id, parameter: parameters.count == 1 ? parameters.first.map { ($0.key, $0.value) } : nil
            )
            environment.views.recordSearchClick(query: query, item: item, at: now)
        }
    }

    /// A lifecycle event as `builder`'s reader may read it: the replacement it names only when
    /// they may see it (an event on a public report can name a restricted one).
    static func change(_ event: LifecycleEvent, builder: PageBuilder) -> ChangeEvent {
        var detail = event.detail
        if let replacement = event.replacement, builder.canSee(kind: event.itemKind, id: replacement) {
            detail = [detail, "use \(replacement) instead"].compactMap { $0 }.joined(separator: "; ")
        }
        if event.action == .kept, let until = event.value {
            detail = [detail, "until \(until)"].compactMap { $0 }.joined(separator: "; ")
        }
        return ChangeEvent(
            kind: event.itemKind, id: event.itemID,
            action: event.action.rawValue.replacingOccurrences(of: "_", with: " "), title: event.title, at: event.at,
            actor: event.actor, detail: detail)
    }

    static func browseFilter(_ request: Request) throws -> BrowseFilter {
        let query = FormQuery(request)
        var filter = BrowseFilter()
        if let kind = query.get("kind"), !kind.isEmpty {
            guard let value = ItemKind(rawValue: kind) else {
                throw PortalError.badParameter(
                    "kind",
                    "'\(kind)' is not a kind; use one of \(ItemKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            filter.kind = value
        }
        if let team = query.get("team"), !team.isEmpty {
            guard TeamID.isValid(team) else { throw PortalError.badParameter("team", "'\(team)' is not a team id") }
            filter.team = TeamID(team)
        }
        if let tag = query.get("tag"), !tag.isEmpty {
            guard tag.count <= 64 else { throw PortalError.badParameter("tag", "longer than 64 characters") }
            filter.tag = tag
        }
        if let text = query.get("q"), !text.isEmpty {
            guard text.count <= 200 else { throw PortalError.badParameter("q", "longer than 200 characters") }
            filter.text = text
        }
        return filter
    }
}

/// `/healthz`: the process serves. `/readyz`: the catalog is loaded and the state store answers.
struct HealthController {
    let environment: PortalEnvironment

    struct Readiness: Encodable {
        var ok: Bool
        var catalogVersion: String
        var catalogBroken: Bool
        var stateStore: String
    }

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get(Route.Mount.healthz.routerPath) { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        // Prometheus text format: delivery counters of this instance, and the shared outbox by status.
        router.get(Route.Mount.metrics.routerPath) { _, context in
            if environment.delivery != nil {
                if let counts = try? await environment.state.deliveryStatusCounts() {
                    for status in DeliveryRecord.Status.allCases {
                        environment.metrics.makeGauge(
                            descriptor: MetricNameDescriptor(
                                namespace: "almanac", subsystem: "outbox", metricName: "deliveries", unitName: "",
                                helpText: "Deliveries in the shared outbox, by status."),
                            labels: [("status", status.rawValue)]
                        ).set(Double(counts[status] ?? 0))
                    }
                }
            }
            PortalMetrics.process.update()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: environment.metrics.emitToString())))
        }
        router.get(Route.Mount.readyz.routerPath) { _, context in
            let status = environment.catalog.status
            var stateStore = "ok"
            do {
                _ = try await environment.state.appliedMigrations()
            } catch {
                context.logger.warning("state store not ready", metadata: ["error": "\(error)"])
                stateStore = "unavailable"
            }
            let readiness = Readiness(
                ok: stateStore == "ok", catalogVersion: status.version,
                catalogBroken: !status.rejectedDiagnostics.isEmpty, stateStore: stateStore)
            return JSONResponse.make(readiness, status: readiness.ok ? .ok : .serviceUnavailable)
        }
    }
}
