import AlmanacCore
public import Catalog
public import Foundation
public import Lifecycle
public import Rendering
import Scheduling

/// Builds view models from a catalog as one viewer sees it.
///
/// Every list here comes from ``CatalogView``, so access is applied while enumerating;
/// a restricted object is never counted, linked or named on a page of someone who may
/// not see it.
public struct PageBuilder: Sendable {
    public let view: CatalogView
    public let formatter: Rendering.Formatter
    /// Views per `kind/id`, from the state store.
    public let viewCounts: [String: Int]
    /// Views per `kind/id` in the last 7, 30 and 90 days.
    public let usage: [String: UsageTotals]

    public init(
        view: CatalogView, now: Date = Date(), viewCounts: [String: Int] = [:], usage: [String: UsageTotals] = [:]
    ) {
        self.view = view
        self.formatter = Formatter(timeZone: TimeZone(identifier: view.catalog.settings.timezone) ?? .gmt, now: now)
        self.viewCounts = viewCounts
        self.usage = usage
    }

    public var catalog: Catalog { view.catalog }
    var settings: CatalogSettings { catalog.settings }

    // MARK: Layout

    public func layout(
        title: String, active: Route?, apiURL: String?, catalogBroken: Bool, searchText: String? = nil
    )
        -> Layout
    {
        var nav: [(String, Route)] = [
            ("Reports", .browse(BrowseFilter(kind: .report))), ("Glossary", .glossary), ("Teams", .teams),
            ("Browse", .browse(BrowseFilter())), ("My reports", .myReports(nil)),
        ]
        if view.viewer.isAdmin { nav.append(("Admin", .adminCatalog)) }
        return Layout(
            companyName: settings.companyName, title: title, viewerName: view.viewer.displayName,
            isAdmin: view.viewer.isAdmin,
            nav: nav.map { Layout.NavItem(title: $0.0, url: $0.1.path, active: $0.1 == active) },
            catalogVersion: String(catalog.version.prefix(8)), catalogBroken: catalogBroken && view.viewer.isAdmin,
            apiURL: apiURL, searchText: searchText, cssURL: Route.asset("almanac.css").path,
            jsURL: Route.asset("almanac.js").path)
    }

    // MARK: Small pieces

    func teamLink(_ id: TeamID) -> TeamLink? {
        view.team(id).map { TeamLink(id: $0.id.rawValue, name: $0.name, url: Route.team($0.id).path) }
    }

    func tagLinks(_ tags: [String]) -> [TagLink] {
        tags.map { TagLink(name: $0, url: Route.browse(BrowseFilter(tag: $0)).path, count: nil) }
    }

    func summary(_ report: Report) -> ItemSummary {
        ItemSummary(
            kind: "report", kindLabel: "Report", id: report.id.rawValue, title: report.title,
            url: Route.report(report.id).path, description: report.description, owner: teamLink(report.owner),
            tags: tagLinks(report.tags), status: report.status == .active ? nil : report.status.rawValue,
            certified: false, restricted: !report.access.isEmpty, synonyms: [])
    }

    func summary(_ metric: Metric) -> ItemSummary {
        ItemSummary(
            kind: "metric", kindLabel: "Metric", id: metric.id.rawValue, title: metric.name,
            url: Route.metric(metric.id).path, description: metric.description, owner: teamLink(metric.owner),
            tags: tagLinks(metric.tags), status: metric.status == .active ? nil : metric.status.rawValue,
            certified: metric.certified, restricted: !metric.access.isEmpty, synonyms: metric.synonyms)
    }

    func summary(_ template: Template) -> ItemSummary {
        ItemSummary(
            kind: "template", kindLabel: "Template", id: template.id.rawValue, title: template.title,
            url: Route.template(template.id).path, description: template.description, owner: teamLink(template.owner),
            tags: tagLinks(template.tags), status: nil, certified: false, restricted: !template.access.isEmpty,
            synonyms: [])
    }

    func summary(_ team: Team) -> ItemSummary {
        ItemSummary(
            kind: "team", kindLabel: "Team", id: team.id.rawValue, title: team.name, url: Route.team(team.id).path,
            description: team.description, owner: nil, tags: tagLinks(team.tags), status: nil, certified: false,
            restricted: !team.access.isEmpty, synonyms: [])
    }

    func metricSummary(_ metric: Metric) -> MetricSummary {
        MetricSummary(
            id: metric.id.rawValue, name: metric.name, url: Route.metric(metric.id).path,
            description: metric.description, certified: metric.certified, typeLabel: Self.typeLabel(metric))
    }

    static func typeLabel(_ metric: Metric) -> String {
        switch metric.type {
        case .count: "Count"
        case .countDistinct: "Distinct count"
        case .sum: "Sum"
        case .avg: "Average"
        case .ratio: "Ratio"
        case .rollingDistinct: "Rolling distinct (\(metric.window?.description ?? "?"))"
        }
    }

    static func filterText(_ filter: Filter) -> FilterText {
        let column = filter.column.name
        let value = filter.parameter.map { "the ‹\($0)› parameter" } ?? filter.value?.description ?? ""
        let text: String
        switch filter.op {
        case .eq: text = "\(column) = \(value)"
        case .ne: text = "\(column) ≠ \(value)"
        case .in: text = "\(column) is one of \(value)"
        case .notIn: text = "\(column) is none of \(value)"
        case .gt: text = "\(column) > \(value)"
        case .gte: text = "\(column) ≥ \(value)"
        case .lt: text = "\(column) < \(value)"
        case .lte: text = "\(column) ≤ \(value)"
        case .isNull: text = "\(column) is empty"
        case .notNull: text = "\(column) is set"
        }
        return FilterText(text: text)
    }

    /// The metric's definition in one sentence, from its model.
    func definition(_ metric: Metric) -> String {
        let source = catalog.source(metric.source)
        let table = source?.table.name ?? metric.source.rawValue
        let time = (metric.timeColumn ?? source?.timeColumn)?.name ?? "?"
        let whereText =
            metric.filters.isEmpty
            ? "" : " where " + metric.filters.map { Self.filterText($0).text }.joined(separator: " and ")
        switch metric.type {
        case .count: return "Number of rows in \(table)\(whereText), by \(time)."
        case .countDistinct:
            return "Number of distinct \(metric.column?.name ?? "?") in \(table)\(whereText), by \(time)."
        case .sum: return "Sum of \(metric.column?.name ?? "?") in \(table)\(whereText), by \(time)."
        case .avg: return "Average of \(metric.column?.name ?? "?") in \(table)\(whereText), by \(time)."
        case .rollingDistinct:
            return
                "Distinct \(metric.column?.name ?? "?") in \(table)\(whereText) over the trailing \(metric.window?.days ?? 0) days, evaluated each day by \(time)."
        case .ratio:
            let name = { (id: MetricID?) -> String in
                guard let id else { return "?" }
                return view.metric(id)?.name ?? "a restricted metric"
            }
            return "\(name(metric.numerator)) divided by \(name(metric.denominator)), per period."
        }
    }

    func panelModel(_ panel: Panel) -> PanelModel {
        let metric = panel.metric.flatMap { view.metric($0) }
        let dimension = metric.flatMap { catalog.source($0.source) }.flatMap { source in
            panel.breakdown.flatMap { source.dimension($0) }
        }
        return PanelModel(
            title: panel.title, description: panel.description,
            chart: panel.chart.rawValue.replacingOccurrences(of: "_", with: " "),
            metricName: metric?.name ?? panel.records.flatMap { view.source($0.source) }.map { "rows of \($0.name)" },
            metricURL: metric.map { Route.metric($0.id).path }, restricted: !view.canSee(panel),
            smoothing: panel.smoothing.map { "\($0.method.rawValue) average over \($0.window) points" },
            bands: panel.bands == .none ? nil : Formatter.bandText(panel.bands),
            breakdown: dimension?.label ?? panel.breakdown?.rawValue,
            comparison: panel.compare == .none ? nil : panel.compare.rawValue.replacingOccurrences(of: "_", with: " "),
            annotationTags: panel.annotationTags,
            filters: panel.filters.map(Self.filterText))
    }

    func changeRow(_ event: ChangeEvent) -> ChangeRow {
        let kind = ItemKind(rawValue: event.kind)
        let url = kind.flatMap { Route.item(ItemKey($0, event.id))?.path }
        return ChangeRow(
            title: event.title, url: url, kindLabel: kind.map { $0.rawValue.capitalized } ?? event.kind,
            action: event.action, at: formatter.dateTime(event.at), ago: formatter.ago(event.at), actor: event.actor,
            detail: event.detail)
    }

    /// Whether the viewer may see the object a lifecycle event is about (removed objects:
    /// only admins, since their access rules are gone).
    public func canSee(kind: String, id: String) -> Bool {
        guard let kind = ItemKind(rawValue: kind) else { return false }
        switch kind {
        case .report: return view.report(ReportID(id)) != nil
        case .metric: return view.metric(MetricID(id)) != nil
        case .template: return view.template(TemplateID(id)) != nil
        case .team: return view.team(TeamID(id)) != nil
        case .source: return view.source(SourceID(id)) != nil
        case .entity: return view.entity(EntityID(id)) != nil
        case .backend: return view.backend(BackendID(id)) != nil
        case .annotation: return view.annotations.contains { $0.id.rawValue == id }
        case .subscription: return view.subscriptions.contains { $0.id.rawValue == id }
        case .trigger: return view.triggers.contains { $0.id.rawValue == id }
        }
    }

    func views(_ kind: ItemKind, _ id: String) -> Int { viewCounts["\(kind.rawValue)/\(id)"] ?? 0 }

    // MARK: Pages

    public func home(recentChanges: [ChangeEvent]) -> HomeModel {
        let counted: [(ItemKind, Int)] = [
            (.report, view.reports.count), (.metric, view.metrics.count), (.template, view.templates.count),
            (.team, view.teams.count), (.source, view.sources.count),
        ]
        let teams = view.teams.map(teamCard)
        let certified = view.metrics.filter(\.certified).map(summary)
        let recent = recentChanges.filter { canSee(kind: $0.kind, id: $0.id) }.prefix(10).map(changeRow)
        let listed = usage.compactMap { key, totals -> (ItemKey, Route, UsageTotals)? in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let kind = ItemKind(rawValue: parts[0]), isListed(ItemKey(kind, parts[1])),
                let route = Route.item(ItemKey(kind, parts[1]))
            else { return nil }
            return (ItemKey(kind, parts[1]), route, totals)
        }
        let viewed = listed.filter { $0.2.views30 > 0 }.map { key, route, totals in
            ViewedRow(
                title: title(of: key), url: route.path, kindLabel: key.kind.rawValue.capitalized,
                views: totals.views30, viewsText: Formatter.count(totals.views30, "view") + " in 30 days")
        }.sorted { ($1.views, $0.title) < ($0.views, $1.title) }
        // Trending: clearly more read this week than the week before (at least 3 views, and up).
        let trending = listed.filter { $0.2.views7 >= 3 && $0.2.views7 > $0.2.previous7 }
            .sorted { ($1.2.trendingScore, title(of: $0.0)) < ($0.2.trendingScore, title(of: $1.0)) }
            .prefix(6)
            .map { key, route, totals in
                ViewedRow(
                    title: title(of: key), url: route.path, kindLabel: key.kind.rawValue.capitalized,
                    views: totals.views7,
                    viewsText:
                        "\(Formatter.count(totals.views7, "view")) this week, \(totals.previous7.formatted()) the week before"
                )
            }
        return HomeModel(
            counts: counted.map {
                KindCount(label: $0.0.pluralTitle, count: $0.1, url: Route.browse(BrowseFilter(kind: $0.0)).path)
            },
            teams: teams, certifiedMetrics: certified, recentChanges: Array(recent),
            mostViewed: Array(viewed.prefix(8)), trending: Array(trending),
            tags: view.tagCounts.prefix(24).map {
                TagLink(name: $0.tag, url: Route.browse(BrowseFilter(tag: $0.tag)).path, count: $0.count)
            })
    }

    func title(of key: ItemKey) -> String {
        switch key.kind {
        case .report: view.report(ReportID(key.id))?.title ?? key.id
        case .metric: view.metric(MetricID(key.id))?.name ?? key.id
        case .template: view.template(TemplateID(key.id))?.title ?? key.id
        case .team: view.team(TeamID(key.id))?.name ?? key.id
        default: key.id
        }
    }

    func teamCard(_ team: Team) -> TeamCard {
        let owned = view.owned(by: team.id)
        return TeamCard(
            id: team.id.rawValue, name: team.name, url: Route.team(team.id).path, description: team.description,
            reportCount: owned.reports.count, metricCount: owned.metrics.count, memberCount: team.members.count,
            countsText: [
                Formatter.count(owned.reports.count, "report"), Formatter.count(owned.metrics.count, "metric"),
                Formatter.count(team.members.count, "person", "people"),
            ].joined(separator: " · "))
    }

    /// Everything visible that the browse filter lets through, with facet counts computed
    /// over the same visible set.
    public func browse(_ filter: BrowseFilter) -> BrowseModel {
        struct Entry {
            var kind: ItemKind
            var owner: TeamID?
            var tags: [String]
            var summary: ItemSummary
            var haystack: String
        }
        var entries: [Entry] = []
        for report in view.reports {
            entries.append(
                Entry(
                    kind: .report, owner: report.owner, tags: report.tags, summary: summary(report),
                    haystack: [report.id.rawValue, report.title, report.description ?? ""].joined(separator: " ")))
        }
        for metric in view.metrics {
            entries.append(
                Entry(
                    kind: .metric, owner: metric.owner, tags: metric.tags, summary: summary(metric),
                    haystack: ([metric.id.rawValue, metric.name, metric.description] + metric.synonyms).joined(
                        separator: " ")))
        }
        for template in view.templates {
            entries.append(
                Entry(
                    kind: .template, owner: template.owner, tags: template.tags, summary: summary(template),
                    haystack: [template.id.rawValue, template.title, template.description ?? ""].joined(separator: " "))
            )
        }
        for team in view.teams {
            entries.append(
                Entry(
                    kind: .team, owner: team.id, tags: team.tags, summary: summary(team),
                    haystack: ([team.id.rawValue, team.name, team.description ?? ""] + team.members.map(\.name)).joined(
                        separator: " ")))
        }
        // Kinds without a page of their own are listed with their owner and description.
        func plain(
            _ kind: ItemKind, _ id: String, _ title: String, _ description: String?, _ owner: TeamID?, _ tags: [String],
            _ access: [String]
        )
            -> Entry
        {
            Entry(
                kind: kind, owner: owner, tags: tags,
                summary: ItemSummary(
                    kind: kind.rawValue, kindLabel: kind.rawValue.capitalized, id: id, title: title, url: nil,
                    description: description, owner: owner.flatMap(teamLink), tags: tagLinks(tags), status: nil,
                    certified: false, restricted: !access.isEmpty, synonyms: []),
                haystack: [id, title, description ?? ""].joined(separator: " "))
        }
        for source in view.sources {
            let text = [source.description, source.origin.map { "From \($0), table \(source.table.name)." }]
                .compactMap { $0 }.joined(separator: " ")
            entries.append(
                plain(.source, source.id.rawValue, source.name, text, source.owner, source.tags, source.access))
        }
        for entity in view.entities {
            entries.append(
                plain(
                    .entity, entity.id.rawValue, entity.name, entity.description,
                    view.template(entity.template)?.owner, entity.tags, entity.access))
        }
        for annotation in view.annotations {
            let text = "\(annotation.date)\(annotation.end.map { " to \($0)" } ?? ""). \(annotation.description ?? "")"
            entries.append(
                plain(
                    .annotation, annotation.id.rawValue, annotation.title, text, nil, annotation.tags, annotation.access
                ))
        }
        for subscription in view.subscriptions {
            let text =
                "\(subscription.description.map { $0 + " " } ?? "")Sent \(Formatter.cronText(subscription.schedule, timeZone: settings.timezone)) by \(subscription.channel.rawValue)."
            entries.append(
                plain(
                    .subscription, subscription.id.rawValue, subscription.title, text, subscription.owner,
                    subscription.tags, subscription.access))
        }
        for trigger in view.triggers {
            entries.append(
                plain(
                    .trigger, trigger.id.rawValue, trigger.title, trigger.description, trigger.owner, trigger.tags,
                    trigger.access))
        }
        for backend in view.backends {
            entries.append(
                plain(
                    .backend, backend.id.rawValue, backend.title, backend.description, backend.owner, backend.tags,
                    backend.access))
        }
        let words = (filter.text ?? "").lowercased().split(whereSeparator: \.isWhitespace)
        func matches(_ entry: Entry, ignoring facet: String) -> Bool {
            if facet != "kind", let kind = filter.kind, entry.kind != kind { return false }
            if facet != "team", let team = filter.team, entry.owner != team { return false }
            if facet != "tag", let tag = filter.tag, !entry.tags.contains(tag) { return false }
            if !words.isEmpty {
                let haystack = entry.haystack.lowercased()
                if !words.allSatisfy({ haystack.contains($0) }) { return false }
            }
            return true
        }
        let shown = entries.filter { matches($0, ignoring: "") }
        let kindFacets = ItemKind.allCases.sorted { Self.browseOrder($0) < Self.browseOrder($1) }.map { kind in
            Facet(
                label: kind.pluralTitle,
                count: entries.filter { $0.kind == kind && matches($0, ignoring: "kind") }.count,
                url: Route.browse(filter.with(kind: filter.kind == kind ? .some(nil) : .some(kind))).path,
                active: filter.kind == kind)
        }.filter { $0.count > 0 || $0.active }
        let teamFacets = view.teams.map { team in
            Facet(
                label: team.name, count: entries.filter { $0.owner == team.id && matches($0, ignoring: "team") }.count,
                url: Route.browse(filter.with(team: filter.team == team.id ? .some(nil) : .some(team.id))).path,
                active: filter.team == team.id)
        }.filter { $0.count > 0 || $0.active }
        var tagCounts: [String: Int] = [:]
        for entry in entries where matches(entry, ignoring: "tag") {
            for tag in entry.tags { tagCounts[tag, default: 0] += 1 }
        }
        if let tag = filter.tag, tagCounts[tag] == nil { tagCounts[tag] = 0 }
        let tagFacets = tagCounts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.prefix(30).map { tag, count in
            Facet(
                label: tag, count: count,
                url: Route.browse(filter.with(tag: filter.tag == tag ? .some(nil) : .some(tag))).path,
                active: filter.tag == tag)
        }
        var heading = filter.kind?.pluralTitle ?? "Everything"
        if let team = filter.team { heading += " owned by \(view.team(team)?.name ?? team.rawValue)" }
        if let tag = filter.tag { heading += " tagged ‘\(tag)’" }
        return BrowseModel(
            heading: heading, text: filter.text, kind: filter.kind?.rawValue, team: filter.team?.rawValue,
            tag: filter.tag,
            kinds: kindFacets, teams: teamFacets, tags: Array(tagFacets),
            items: shown.sorted {
                (Self.browseOrder($0.kind), $0.summary.title.lowercased())
                    < (Self.browseOrder($1.kind), $1.summary.title.lowercased())
            }.map(\.summary),
            total: shown.count, clearURL: Route.browse(BrowseFilter()).path)
    }

    /// Browse lists what people look for most first.
    static func browseOrder(_ kind: ItemKind) -> Int {
        [ItemKind.report, .metric, .template, .team, .source, .entity, .subscription, .trigger, .backend, .annotation]
            .firstIndex(of: kind) ?? 99
    }

    public func report(
        _ report: Report, history: [ChangeEvent]
    ) -> ReportModel {
        let schedule = report.schedule ?? settings.generationSchedule
        let next = (try? CronSchedule(parsing: schedule))?.nextFire(after: formatter.now, in: formatter.timeZone)
        let statusNote: String? =
            switch report.status {
            case .active: nil
            case .draft: "Draft: this report is being built and its numbers are not yet reviewed."
            case .deprecated:
                "Deprecated: the owners plan to retire this report. Look for a replacement before relying on it."
            case .retired: "Retired: this report is no longer generated. It is kept for reference."
            }
        var model = ReportModel(
            id: report.id.rawValue, title: report.title, description: report.description,
            status: report.status.rawValue,
            statusNote: statusNote, owner: teamLink(report.owner), ownerEmail: view.team(report.owner)?.email,
            schedule: schedule, scheduleText: Formatter.cronText(schedule, timeZone: settings.timezone),
            nextRun: report.status == .retired ? nil : next.map(formatter.dateTime),
            grain: report.grain.rawValue, range: report.range.description, tags: tagLinks(report.tags),
            panels: report.panels.map(panelModel),
            metrics: report.metrics.compactMap { view.metric($0) }.map(metricSummary),
            links: report.links.map { LinkModel(title: $0.title, url: $0.url) },
            views: views(.report, report.id.rawValue),
            history: history.map(changeRow), restrictedTo: report.access,
            sourceFile: catalog.origins[ItemKey(.report, report.id.rawValue)]?.file, dashboardHTML: nil,
            generatedAt: nil, dashboardError: nil)
        model.statusReason = report.status == .active ? nil : report.statusReason
        model.replacement = report.replacedBy.flatMap { view.report($0) }.map {
            LinkModel(title: $0.title, url: Route.report($0.id).path)
        }
        model.controls = lifecycleControls(ItemKey(.report, report.id.rawValue))
        if report.kind == .external, let backend = report.backend.flatMap({ view.backend($0) }) {
            model.externalURL = "/x/\(report.id.rawValue)" + report.entry
            model.externalApp = backend.title
            model.scheduleText = "live: served by \(backend.title)"
            model.nextRun = nil
        }
        return model
    }

    public func template(_ template: Template, values: [String: String] = [:]) -> TemplateModel {
        TemplateModel(
            id: template.id.rawValue, title: template.title, description: template.description,
            owner: teamLink(template.owner), entityName: template.entity.flatMap { view.entity($0)?.name },
            grain: template.grain.rawValue, range: template.range.description,
            parameters: template.parameters.map {
                ParameterModel(
                    name: $0.name, label: $0.label, type: $0.type.rawValue, required: $0.required, values: $0.values,
                    defaultValue: $0.defaultValue, isEnum: $0.type == .enum, value: values[$0.name] ?? $0.defaultValue)
            },
            panels: template.panels.map(panelModel),
            metrics: template.metrics.compactMap { view.metric($0) }.map(metricSummary),
            tags: tagLinks(template.tags), restrictedTo: template.access,
            sourceFile: catalog.origins[ItemKey(.template, template.id.rawValue)]?.file)
    }

    func sourceModel(_ source: Source) -> SourceModel {
        SourceModel(
            id: source.id.rawValue, name: source.name, table: source.table.name, origin: source.origin,
            description: source.description,
            freshness: source.freshness.map { "newest \($0.column.name) expected within \($0.expectedWithin)" },
            owner: teamLink(source.owner))
    }

    public func metric(_ metric: Metric) -> MetricModel {
        let source = view.source(metric.source)
        let dimensionLabels = metric.dimensions.map { id in source?.dimension(id)?.label ?? id.rawValue }
        let annotations = view.annotations.filter { $0.metrics.isEmpty || $0.metrics.contains(metric.id) }
        return MetricModel(
            id: metric.id.rawValue, name: metric.name, description: metric.description, synonyms: metric.synonyms,
            owner: teamLink(metric.owner), certified: metric.certified, type: metric.type.rawValue,
            typeLabel: Self.typeLabel(metric), definition: definition(metric), source: source.map(sourceModel),
            column: metric.column?.name, timeColumn: (metric.timeColumn ?? source?.timeColumn)?.name,
            window: metric.window?.description,
            numerator: metric.numerator.flatMap { view.metric($0) }.map(metricSummary),
            denominator: metric.denominator.flatMap { view.metric($0) }.map(metricSummary),
            filters: metric.filters.map(Self.filterText), dimensions: dimensionLabels, format: metric.format.rawValue,
            unit: metric.unit, tags: tagLinks(metric.tags),
            reports: view.reports(using: metric.id).filter { $0.status.isLive }.map(summaryWithUsage),
            templates: view.templates(using: metric.id).map { template in
                var item = summary(template)
                item.usageText =
                    Formatter.count(usage["template/\(template.id.rawValue)"]?.views30 ?? 0, "view") + " in 30 days"
                return item
            },
            derived: view.metrics(derivedFrom: metric.id).map(metricSummary),
            annotations: annotations.filter { $0.metrics.contains(metric.id) }.map {
                AnnotationRow(date: $0.date.description, title: $0.title, tags: $0.tags)
            },
            views: views(.metric, metric.id.rawValue), restrictedTo: metric.access,
            sourceFile: catalog.origins[ItemKey(.metric, metric.id.rawValue)]?.file,
            status: metric.status.rawValue,
            statusNote: metric.status == .deprecated
                ? "Deprecated: its owners plan to retire this metric." + (metric.statusReason.map { " \($0)" } ?? "")
                : metric.status == .draft ? "Draft: this definition is not reviewed yet." : nil,
            replacement: metric.replacedBy.flatMap { view.metric($0) }.map {
                LinkModel(title: $0.name, url: Route.metric($0.id).path)
            },
            usageText: metricUsageText(metric), controls: lifecycleControls(ItemKey(.metric, metric.id.rawValue)),
            compiledSQL: [], sqlExample: nil)
    }

    func summaryWithUsage(_ report: Report) -> ItemSummary {
        var item = summary(report)
        item.usageText = Formatter.count(usage["report/\(report.id.rawValue)"]?.views30 ?? 0, "view") + " in 30 days"
        return item
    }

    /// Every live metric the viewer may see, by letter, each with where it is used and how
    /// much those reports are read (retired metrics keep their pages, not their place here).
    public func glossary() -> GlossaryModel {
        let metrics = view.metrics.filter { $0.status.isLive }.sorted { $0.name.lowercased() < $1.name.lowercased() }
        var groups: [LetterGroup] = []
        for metric in metrics {
            let letter = metric.name.first.map { String($0).uppercased() } ?? "#"
            var item = summary(metric)
            item.usageText = metricUsageText(metric)
            if groups.last?.letter == letter {
                groups[groups.count - 1].metrics.append(item)
            } else {
                groups.append(LetterGroup(letter: letter, metrics: [item]))
            }
        }
        return GlossaryModel(count: metrics.count, certifiedCount: metrics.filter(\.certified).count, groups: groups)
    }

    public func teams() -> TeamsModel { TeamsModel(teams: view.teams.map(teamCard)) }

    public func team(_ team: Team) -> TeamModel {
        let owned = view.owned(by: team.id)
        return TeamModel(
            id: team.id.rawValue, name: team.name, description: team.description, email: team.email, slack: team.slack,
            members: team.members.map { MemberModel(name: $0.name, email: $0.email, role: $0.role.rawValue) },
            reports: owned.reports.map(summary), metrics: owned.metrics.map(summary),
            templates: owned.templates.map(summary), sources: owned.sources.map(sourceModel),
            subscriptions: view.subscriptions.filter { $0.owner == team.id }.map {
                PushRow(
                    title: $0.title,
                    detail: "\($0.channel.rawValue), \(Formatter.cronText($0.schedule, timeZone: settings.timezone))")
            },
            triggers: view.triggers.filter { $0.owner == team.id }.map {
                PushRow(
                    title: $0.title,
                    detail:
                        "\($0.action.kind.rawValue) when \($0.metric) \($0.condition.measure.rawValue) \($0.condition.op.rawValue) \($0.condition.threshold) over \($0.condition.window)"
                )
            },
            tags: tagLinks(team.tags))
    }

    public func adminCatalog(_ status: CatalogStatus) -> AdminCatalogModel {
        func row(_ diagnostic: Diagnostic) -> DiagnosticRow {
            DiagnosticRow(
                location: diagnostic.location.description, severity: diagnostic.severity.rawValue,
                message: diagnostic.message, hint: diagnostic.hint)
        }
        let counts = catalog.counts
        return AdminCatalogModel(
            directory: status.directory, version: status.version, loadedAt: formatter.dateTime(status.loadedAt),
            lastCheckedAt: formatter.dateTime(status.lastCheckedAt), isBroken: !status.rejectedDiagnostics.isEmpty,
            rejectedAt: status.rejectedAt.map(formatter.dateTime),
            errors: status.rejectedDiagnostics.filter { $0.severity == .error }.map(row),
            warnings: (status.rejectedDiagnostics.isEmpty
                ? status.warnings : status.rejectedDiagnostics.filter { $0.severity == .warning }).map(row),
            counts: ItemKind.allCases.map {
                KindCount(label: $0.pluralTitle, count: counts[$0] ?? 0, url: Route.browse(BrowseFilter(kind: $0)).path)
            })
    }

    public func adminRuns(
        _ runs: [(
            kind: String, target: String, startedAt: Date, durationMilliseconds: Int, rows: Int, bytes: Int,
            error: String?
        )]
    ) -> AdminRunsModel {
        AdminRunsModel(
            runs: runs.map {
                RunRow(
                    kind: $0.kind, target: $0.target, startedAt: formatter.dateTime($0.startedAt),
                    duration: Formatter.milliseconds($0.durationMilliseconds), rows: $0.rows, bytes: $0.bytes,
                    error: $0.error)
            }, failures: runs.filter { $0.error != nil }.count)
    }
}
