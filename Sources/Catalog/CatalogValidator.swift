import AlmanacCore
import Foundation

/// Checks every reference between catalog objects, and the rules that need two objects
/// to decide (a breakdown must be a dimension of the panel's metric, a filter column must
/// be declared by the metric's source, a backend's host must be allow-listed, …).
struct CatalogValidator {
    let catalog: Catalog
    /// Objects that exist on disk but did not load; references to them are not errors.
    let broken: Set<ItemKey>
    private var diagnostics: [Diagnostic] = []

    init(catalog: Catalog, broken: Set<ItemKey> = []) {
        self.catalog = catalog
        self.broken = broken
    }

    func validate() -> [Diagnostic] {
        var copy = self
        copy.run()
        return copy.diagnostics
    }

    private mutating func run() {
        for team in catalog.teams { check(team) }
        for source in catalog.sources { check(source) }
        for metric in catalog.metrics { check(metric) }
        for report in catalog.reports { check(report) }
        for template in catalog.templates { check(template) }
        for entity in catalog.entities { check(entity) }
        for annotation in catalog.annotations { check(annotation) }
        for subscription in catalog.subscriptions { check(subscription) }
        for trigger in catalog.triggers { check(trigger) }
        for backend in catalog.backends { check(backend) }
    }

    // MARK: - Helpers

    private func origin(_ kind: ItemKind, _ id: String) -> ItemOrigin {
        catalog.origins[ItemKey(kind, id)] ?? ItemOrigin(file: "\(kind.folder)/\(id).yaml")
    }

    private func isBroken(_ kind: ItemKind, _ id: String) -> Bool { broken.contains(ItemKey(kind, id)) }

    /// Ids of one kind that exist on disk, loaded or not, for "did you mean" hints.
    private func ids(_ kind: ItemKind) -> [String] {
        let loaded = catalog.origins.keys.filter { $0.kind == kind }.map(\.id)
        return (loaded + broken.filter { $0.kind == kind }.map(\.id)).sorted()
    }

    private mutating func error(_ origin: ItemOrigin, _ path: String, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.error, at: origin.location(path), message, hint: hint))
    }

    private mutating func warning(_ origin: ItemOrigin, _ path: String, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(.warning, at: origin.location(path), message, hint: hint))
    }

    /// "known teams are 'growth', 'finance', …" or "did you mean 'growth'?".
    private func suggestion(_ word: String, among known: [String], folder: String) -> String {
        if let close = closestMatch(to: word, in: known) { return "did you mean '\(close)'?" }
        if known.isEmpty { return "no \(folder) are defined yet (\(folder)/)" }
        let shown = known.prefix(8).map { "'\($0)'" }.joined(separator: ", ")
        return "known \(folder) are \(shown)\(known.count > 8 ? ", …" : "") (\(folder)/)"
    }

    private mutating func checkOwner(_ owner: TeamID, _ origin: ItemOrigin, _ what: String) {
        guard catalog.team(owner) == nil, !isBroken(.team, owner.rawValue) else { return }
        error(
            origin, "owner", "\(what) has owner '\(owner)', which is not a team",
            hint: suggestion(owner.rawValue, among: ids(.team), folder: "teams"))
    }

    private mutating func checkTeamRecipients(_ recipients: [Recipient], _ origin: ItemOrigin, path: String) {
        for (index, recipient) in recipients.enumerated() {
            if case .team(let team) = recipient, catalog.team(team) == nil, !isBroken(.team, team.rawValue) {
                error(
                    origin, "\(path)[\(index)]", "recipient 'team:\(team)' is not a team",
                    hint: suggestion(team.rawValue, among: ids(.team), folder: "teams"))
            }
        }
    }

    private mutating func checkColumn(
        _ column: SQLIdentifier, in source: Source, _ origin: ItemOrigin, path: String, role: String
    ) {
        guard source.column(named: column.name) == nil else { return }
        error(
            origin, path, "\(role) '\(column)' is not a declared column of source '\(source.id)'",
            hint: suggestion(column.name, among: source.columns.map(\.name.name), folder: "columns"))
    }

    private mutating func checkFilters(
        _ filters: [Filter], source: Source, _ origin: ItemOrigin, path: String, parameters: [Parameter]? = nil
    ) {
        for (index, filter) in filters.enumerated() {
            let at = "\(path)[\(index)]"
            checkColumn(filter.column, in: source, origin, path: "\(at).column", role: "filter column")
            if let column = source.column(named: filter.column.name), let value = filter.value {
                checkValue(value, fits: column, origin, path: "\(at).value")
            }
        }
    }

    private mutating func checkValue(
        _ value: FilterValue, fits column: Source.Column, _ origin: ItemOrigin, path: String
    ) {
        let values: [FilterValue]
        if case .list(let items) = value { values = items } else { values = [value] }
        for item in values {
            let fits: Bool
            switch (column.type, item) {
            case (.integer, .integer), (.number, .integer), (.number, .number), (.boolean, .boolean),
                (.boolean, .integer), (.string, .string), (.date, .string), (.timestamp, .string):
                fits = true
            case (.string, .integer), (.string, .number), (.string, .boolean):
                fits = true  // unquoted YAML such as `value: 404` on a text column means the text "404"
            default:
                fits = false
            }
            if !fits {
                error(
                    origin, path, "value \(item) does not fit column '\(column.name)' of type \(column.type.rawValue)")
            } else if column.type == .date, case .string(let text) = item, CalendarDay(parsing: text) == nil {
                error(origin, path, "value '\(text)' for date column '\(column.name)' is not a date (YYYY-MM-DD)")
            }
        }
    }

    private mutating func checkSource(_ id: SourceID, _ origin: ItemOrigin, path: String, what: String) -> Source? {
        if let source = catalog.source(id) { return source }
        if isBroken(.source, id.rawValue) { return nil }
        error(
            origin, path, "\(what) references unknown source '\(id)'",
            hint: suggestion(id.rawValue, among: ids(.source), folder: "sources"))
        return nil
    }

    private mutating func checkMetric(_ id: MetricID, _ origin: ItemOrigin, path: String, what: String) -> Metric? {
        if let metric = catalog.metric(id) { return metric }
        if isBroken(.metric, id.rawValue) { return nil }
        error(
            origin, path, "\(what) references unknown metric '\(id)'",
            hint: suggestion(id.rawValue, among: ids(.metric), folder: "metrics"))
        return nil
    }

    private func isEmail(_ text: String) -> Bool { Decoding.isEmailAddress(text) }

    private func hostAllowed(_ url: String) -> Bool {
        guard let parts = URLParts(url) else { return false }
        return catalog.settings.allowedBackendHosts.contains { $0.lowercased() == parts.host }
    }

    // MARK: - Kinds

    private mutating func check(_ team: Team) {
        let origin = origin(.team, team.id.rawValue)
        if let email = team.email, !isEmail(email) {
            error(origin, "email", "team email '\(email)' is not an e-mail address")
        }
        for (index, member) in team.members.enumerated() {
            if let email = member.email, !isEmail(email) {
                error(origin, "members[\(index)].email", "member email '\(email)' is not an e-mail address")
            }
        }
    }

    private mutating func check(_ source: Source) {
        let origin = origin(.source, source.id.rawValue)
        checkOwner(source.owner, origin, "source '\(source.id)'")
        var seen = Set<String>()
        for (index, column) in source.columns.enumerated() where !seen.insert(column.name.name).inserted {
            error(origin, "columns[\(index)].name", "column '\(column.name)' is declared twice")
        }
        if let time = source.timeColumn {
            checkColumn(time, in: source, origin, path: "time_column", role: "time_column")
            if let column = source.column(named: time.name), column.type != .date, column.type != .timestamp {
                error(
                    origin, "time_column",
                    "time_column '\(time)' is \(column.type.rawValue); it must be a date or timestamp")
            }
        }
        if let freshness = source.freshness {
            checkColumn(freshness.column, in: source, origin, path: "freshness.column", role: "freshness column")
        }
        var dimensionIDs = Set<DimensionID>()
        for (index, dimension) in source.dimensions.enumerated() {
            if !dimensionIDs.insert(dimension.id).inserted {
                error(origin, "dimensions[\(index)].id", "dimension '\(dimension.id)' is declared twice")
            }
            checkColumn(
                dimension.column, in: source, origin, path: "dimensions[\(index)].column", role: "dimension column")
        }
    }

    private mutating func check(_ metric: Metric) {
        let origin = origin(.metric, metric.id.rawValue)
        let what = "metric '\(metric.id)'"
        checkOwner(metric.owner, origin, what)
        if let replacement = metric.replacedBy {
            if replacement == metric.id {
                error(origin, "replaced_by", "\(what) names itself as its replacement")
            } else {
                _ = checkMetric(replacement, origin, path: "replaced_by", what: what)
            }
        }
        if metric.status == .retired, metric.replacedBy == nil {
            let users = catalog.reports.filter { $0.status.isLive && $0.metrics.contains(metric.id) }.map(\.id.rawValue)
            if !users.isEmpty {
                error(
                    origin, "status",
                    "\(what) is retired but active reports still use it: \(users.joined(separator: ", "))",
                    hint: "name the metric to use instead with 'replaced_by', or change those reports first")
            }
        }
        guard let source = checkSource(metric.source, origin, path: "source", what: what) else { return }
        if let column = metric.column {
            checkColumn(column, in: source, origin, path: "column", role: "column")
            if metric.type == .sum || metric.type == .avg, let declared = source.column(named: column.name),
                declared.type != .integer, declared.type != .number
            {
                error(
                    origin, "column",
                    "a \(metric.type.rawValue) metric needs a numeric column; '\(column)' is \(declared.type.rawValue)")
            }
        }
        if let time = metric.timeColumn {
            checkColumn(time, in: source, origin, path: "time_column", role: "time_column")
        } else if metric.type != .ratio, source.timeColumn == nil {
            error(
                origin, "source", "\(what) has no time column: source '\(source.id)' declares no time_column",
                hint: "add 'time_column' to the metric or to the source")
        }
        checkFilters(metric.filters, source: source, origin, path: "filters")
        for (index, dimension) in metric.dimensions.enumerated() where source.dimension(dimension) == nil {
            error(
                origin, "dimensions[\(index)]", "dimension '\(dimension)' is not declared by source '\(source.id)'",
                hint: suggestion(dimension.rawValue, among: source.dimensions.map(\.id.rawValue), folder: "dimensions"))
        }
        if metric.type == .ratio {
            for (key, part) in [("numerator", metric.numerator), ("denominator", metric.denominator)] {
                guard let part else { continue }
                if part == metric.id {
                    error(origin, key, "\(what) uses itself as its \(key)")
                } else if let other = checkMetric(part, origin, path: key, what: what), other.type == .ratio {
                    error(
                        origin, key, "the \(key) '\(part)' is itself a ratio; a ratio's parts must be plain metrics",
                        hint: "use the plain metrics that '\(part)' divides")
                }
            }
        }
    }

    private mutating func checkPanels(_ panels: [Panel], _ origin: ItemOrigin, what: String, parameters: [Parameter]?) {
        for (index, panel) in panels.enumerated() {
            let path = "panels[\(index)]"
            let panelWhat = "panel '\(panel.title)' of \(what)"
            checkParameterNames(panel, origin, path: path, parameters: parameters)
            if let records = panel.records {
                guard let source = checkSource(records.source, origin, path: "\(path).records.source", what: panelWhat)
                else { continue }
                for (i, column) in records.columns.enumerated() {
                    checkColumn(column, in: source, origin, path: "\(path).records.columns[\(i)]", role: "column")
                }
                if let order = records.order {
                    checkColumn(order, in: source, origin, path: "\(path).records.order", role: "order column")
                } else if source.timeColumn == nil {
                    error(
                        origin, "\(path).records", "source '\(source.id)' has no time column to sort records by",
                        hint: "name a column under 'order'")
                }
                checkFilters(panel.filters, source: source, origin, path: "\(path).filters", parameters: parameters)
                continue
            }
            if let spec = panel.experiment {
                let assignments = checkSource(
                    spec.assignments, origin, path: "\(path).experiment.assignments", what: panelWhat)
                let conversions = checkSource(
                    spec.conversions, origin, path: "\(path).experiment.conversions", what: panelWhat)
                for source in [assignments, conversions].compactMap({ $0 }) {
                    for column in [spec.unit] + spec.match {
                        checkColumn(column, in: source, origin, path: "\(path).experiment", role: "column")
                    }
                    if source.timeColumn == nil {
                        error(origin, "\(path).experiment", "source '\(source.id)' needs a time column")
                    }
                }
                if let assignments {
                    checkColumn(spec.arm, in: assignments, origin, path: "\(path).experiment.arm", role: "arm column")
                    checkFilters(
                        panel.filters, source: assignments, origin, path: "\(path).filters", parameters: parameters)
                }
            }
            guard let metricID = panel.metric,
                let metric = checkMetric(metricID, origin, path: "\(path).metric", what: panelWhat)
            else { continue }
            if let depth = panel.depth {
                if metric.type != .countDistinct
                    || metric.timeColumn == nil && catalog.source(metric.source)?.timeColumn == nil
                {
                    error(
                        origin, "\(path).metric",
                        "an ocean panel needs a count_distinct metric of people over a timed source; '\(metric.id)' is \(metric.type.rawValue)"
                    )
                }
                if let population = checkMetric(
                    depth.population, origin, path: "\(path).depth.population", what: panelWhat),
                    population.type != .count && population.type != .countDistinct
                {
                    error(
                        origin, "\(path).depth.population",
                        "the population metric '\(population.id)' must be a count of people joining")
                } else if let population = catalog.metric(depth.population),
                    let source = catalog.source(population.source)
                {
                    checkFilters(panel.filters, source: source, origin, path: "\(path).filters", parameters: parameters)
                }
            }
            if panel.experiment != nil { continue }
            if let breakdown = panel.breakdown, !metric.dimensions.contains(breakdown) {
                error(
                    origin, "\(path).breakdown",
                    "breakdown '\(breakdown)' is not a dimension of metric '\(metric.id)'",
                    hint: metric.dimensions.isEmpty
                        ? "metric '\(metric.id)' declares no dimensions"
                        : "metric '\(metric.id)' can be broken down by \(metric.dimensions.map { "'\($0)'" }.joined(separator: ", "))"
                )
            }
            if panel.chart == .stackedArea, panel.breakdown == nil {
                error(origin, "\(path).chart", "a stacked_area chart needs a 'breakdown' to stack")
            }
            switch panel.bands {
            case .poisson where metric.type != .count && metric.type != .countDistinct:
                error(
                    origin, "\(path).bands",
                    "poisson bands apply to counts; metric '\(metric.id)' is \(metric.type.rawValue)",
                    hint: metric.type == .ratio ? "use 'wilson' for ratios" : "use 'residual' for other metrics")
            case .wilson where metric.type != .ratio:
                error(
                    origin, "\(path).bands",
                    "wilson bands apply to ratios; metric '\(metric.id)' is \(metric.type.rawValue)",
                    hint: "use 'poisson' for counts or 'residual' for other metrics")
            default: break
            }
            if !panel.filters.isEmpty {
                // A ratio's panel filters apply to both parts, so both sources must declare the columns.
                let parts =
                    metric.type == .ratio ? [metric.numerator, metric.denominator].compactMap { $0 } : [metric.id]
                let sources = parts.compactMap { catalog.metric($0) }.map(\.source)
                for sourceID in Set(sources).sorted() {
                    if let source = catalog.source(sourceID) {
                        checkFilters(
                            panel.filters, source: source, origin, path: "\(path).filters", parameters: parameters)
                    }
                }
            }
            for (tagIndex, tag) in panel.annotationTags.enumerated()
            where !catalog.annotations.contains(where: { $0.tags.contains(tag) }) {
                warning(
                    origin, "\(path).annotations.tags[\(tagIndex)]", "no annotation carries tag '\(tag)'",
                    hint: "the panel will show no annotation markers for it")
            }
        }
    }

    private mutating func checkParameterNames(
        _ panel: Panel, _ origin: ItemOrigin, path: String, parameters: [Parameter]?
    ) {
        guard let parameters else { return }
        for (index, filter) in panel.filters.enumerated() {
            guard let name = filter.parameter else { continue }
            guard let parameter = parameters.first(where: { $0.name == name }) else {
                error(
                    origin, "\(path).filters[\(index)].parameter",
                    "filter parameter '\(name)' is not a parameter of this template",
                    hint: suggestion(name, among: parameters.map(\.name), folder: "parameters"))
                continue
            }
            if parameter.type == .dateRange {
                error(
                    origin, "\(path).filters[\(index)].parameter",
                    "date_range parameter '\(name)' sets the dashboard's days; it cannot be a filter value")
            }
        }
    }

    private mutating func check(_ report: Report) {
        let origin = origin(.report, report.id.rawValue)
        checkOwner(report.owner, origin, "report '\(report.id)'")
        checkPanels(report.panels, origin, what: "report '\(report.id)'", parameters: nil)
        if let replacement = report.replacedBy {
            if replacement == report.id {
                error(origin, "replaced_by", "report '\(report.id)' names itself as its replacement")
            } else if catalog.report(replacement) == nil, !isBroken(.report, replacement.rawValue) {
                error(
                    origin, "replaced_by", "report '\(report.id)' is replaced by unknown report '\(replacement)'",
                    hint: suggestion(replacement.rawValue, among: ids(.report), folder: "reports"))
            }
        }
        if let backend = report.backend, catalog.backend(backend) == nil, !isBroken(.backend, backend.rawValue) {
            error(
                origin, "backend", "report '\(report.id)' names unknown backend '\(backend)'",
                hint: suggestion(backend.rawValue, among: ids(.backend), folder: "backends"))
        }
        checkAudience(report, origin)
    }

    /// Warns when some readers of `report` may not see one of its panels (they see "You do
    /// not have access to this panel" in its place): the report mixes audiences.
    private mutating func checkAudience(_ report: Report, _ origin: ItemOrigin) {
        let readers = Set(report.access)
        for (index, panel) in report.panels.enumerated() {
            for (what, groups) in restrictions(of: panel)
            where readers.isEmpty || !readers.isSubset(of: Set(groups)) {
                let audience = readers.isEmpty ? "everyone" : "members of \(report.access.joined(separator: ", "))"
                warning(
                    origin, "panels[\(index)]",
                    "report '\(report.id)' is shown to \(audience), but panel \(index + 1) ('\(panel.title)') reads \(what), restricted to \(groups.joined(separator: ", ")): other readers see the panel withheld",
                    hint:
                        "give the report the same access, or move the panel to a report for that audience")
                break
            }
        }
    }

    /// What `panel` reads that is restricted, with its groups: metrics (and a ratio's parts)
    /// and the sources behind them and behind record and experiment panels.
    private func restrictions(of panel: Panel) -> [(String, [String])] {
        var out: [(String, [String])] = []
        var sources = [panel.records?.source, panel.experiment?.assignments, panel.experiment?.conversions]
            .compactMap { $0 }
        for id in panel.metrics {
            guard let metric = catalog.metric(id) else { continue }
            for part in [metric] + [metric.numerator, metric.denominator].compactMap({ $0 }).compactMap(catalog.metric)
            {
                if !part.access.isEmpty { out.append(("metric '\(part.id)'", part.access)) }
                sources.append(part.source)
            }
        }
        for id in sources {
            if let source = catalog.source(id), !source.access.isEmpty {
                out.append(("source '\(source.id)'", source.access))
            }
        }
        return out
    }

    private mutating func check(_ template: Template) {
        let origin = origin(.template, template.id.rawValue)
        checkOwner(template.owner, origin, "template '\(template.id)'")
        if let entity = template.entity, catalog.entity(entity) == nil, !isBroken(.entity, entity.rawValue) {
            error(
                origin, "entity", "template '\(template.id)' references unknown entity '\(entity)'",
                hint: suggestion(entity.rawValue, among: ids(.entity), folder: "entities"))
        }
        checkPanels(template.panels, origin, what: "template '\(template.id)'", parameters: template.parameters)
        for (index, parameter) in template.parameters.enumerated() where parameter.type == .entity {
            guard let id = parameter.entity else { continue }
            guard let entity = catalog.entity(id) else {
                if !isBroken(.entity, id.rawValue) {
                    error(
                        origin, "parameters[\(index)].entity",
                        "parameter '\(parameter.name)' names unknown entity '\(id)'",
                        hint: suggestion(id.rawValue, among: ids(.entity), folder: "entities"))
                }
                continue
            }
            if let by = parameter.by, let source = catalog.source(entity.source) {
                checkColumn(by, in: source, origin, path: "parameters[\(index)].by", role: "column")
            }
        }
        if template.parameters.filter({ $0.type == .dateRange }).count > 1 {
            error(origin, "parameters", "a template takes at most one date_range parameter")
        }
        for parameter in template.parameters where parameter.required && parameter.type != .dateRange {
            let used = template.panels.contains { $0.filters.contains { $0.parameter == parameter.name } }
            if !used {
                warning(
                    origin, "parameters", "parameter '\(parameter.name)' is not used by any panel filter")
            }
        }
    }

    private mutating func check(_ entity: Entity) {
        let origin = origin(.entity, entity.id.rawValue)
        let what = "entity '\(entity.id)'"
        if let source = checkSource(entity.source, origin, path: "source", what: what) {
            checkColumn(entity.key, in: source, origin, path: "key", role: "key")
            checkColumn(entity.label, in: source, origin, path: "label", role: "label")
            for (index, column) in entity.search.enumerated() {
                checkColumn(column, in: source, origin, path: "search[\(index)]", role: "search column")
            }
            checkFilters(entity.filters, source: source, origin, path: "filters")
        }
        guard let template = catalog.template(entity.template) else {
            if isBroken(.template, entity.template.rawValue) { return }
            error(
                origin, "template", "\(what) references unknown template '\(entity.template)'",
                hint: suggestion(entity.template.rawValue, among: ids(.template), folder: "templates"))
            return
        }
        if !template.parameters.contains(where: { $0.name == entity.parameter }) {
            error(
                origin, "parameter", "'\(entity.parameter)' is not a parameter of template '\(template.id)'",
                hint: suggestion(entity.parameter, among: template.parameters.map(\.name), folder: "parameters"))
        }
    }

    private mutating func check(_ annotation: Annotation) {
        let origin = origin(.annotation, annotation.id.rawValue)
        for (index, metric) in annotation.metrics.enumerated() {
            _ = checkMetric(metric, origin, path: "metrics[\(index)]", what: "annotation '\(annotation.id)'")
        }
    }

    private mutating func check(_ subscription: Subscription) {
        let origin = origin(.subscription, subscription.id.rawValue)
        let what = "subscription '\(subscription.id)'"
        checkOwner(subscription.owner, origin, what)
        for (index, metric) in subscription.metrics.enumerated() {
            _ = checkMetric(metric, origin, path: "metrics[\(index)]", what: what)
        }
        if let report = subscription.report, catalog.report(report) == nil, !isBroken(.report, report.rawValue) {
            error(
                origin, "report", "\(what) references unknown report '\(report)'",
                hint: suggestion(report.rawValue, among: ids(.report), folder: "reports"))
        }
        checkTeamRecipients(subscription.recipients, origin, path: "recipients")
        if let breakdown = subscription.breakdown {
            let metrics = subscription.metrics + (subscription.report.flatMap(catalog.report)?.metrics ?? [])
            if !metrics.contains(where: { catalog.metric($0)?.dimensions.contains(breakdown) == true }) {
                error(
                    origin, "breakdown", "none of \(what)'s metrics has the dimension '\(breakdown)'",
                    hint: "add it to a metric's dimensions, or remove 'breakdown'")
            }
        }
        // A URL has no groups: restricted numbers never go to one.
        if subscription.channel == .webhook {
            for (index, id) in subscription.metrics.enumerated() {
                if let groups = restriction(of: id) {
                    error(
                        origin, "metrics[\(index)]",
                        "\(what) posts metric '\(id)' to a webhook, but it is restricted to \(groups)",
                        hint:
                            "a webhook has no access groups; send restricted metrics by e-mail to people who may see them"
                    )
                }
            }
        }
        for (index, recipient) in subscription.recipients.enumerated() {
            switch (subscription.channel, recipient) {
            case (.email, .url(let url)):
                error(origin, "recipients[\(index)]", "an email subscription cannot send to URL '\(url)'")
            case (.webhook, .url(let url)) where !hostAllowed(url):
                error(
                    origin, "recipients[\(index)]", "webhook host in '\(url)' is not in backends.allowed_hosts",
                    hint: "add the host to almanac.yaml backends.allowed_hosts")
            case (.webhook, .email), (.webhook, .team):
                error(origin, "recipients[\(index)]", "a webhook subscription needs URL recipients, not '\(recipient)'")
            default: break
            }
        }
    }

    private mutating func check(_ trigger: Trigger) {
        let origin = origin(.trigger, trigger.id.rawValue)
        let what = "trigger '\(trigger.id)'"
        checkOwner(trigger.owner, origin, what)
        _ = checkMetric(trigger.metric, origin, path: "metric", what: what)
        let entity = catalog.entity(trigger.entity)
        if entity == nil, !isBroken(.entity, trigger.entity.rawValue) {
            error(
                origin, "entity", "\(what) references unknown entity '\(trigger.entity)'",
                hint: suggestion(trigger.entity.rawValue, among: ids(.entity), folder: "entities"))
        }
        let source = entity.flatMap { catalog.source($0.source) }
        if let source {
            checkFilters(trigger.scope, source: source, origin, path: "scope")
        }
        // The metric is read per entity by the entity's key column, so its source needs one.
        if let entity, let metric = catalog.metric(trigger.metric) {
            let parts = metric.type == .ratio ? [metric.numerator, metric.denominator].compactMap { $0 } : [metric.id]
            for part in parts {
                guard let partSource = catalog.metric(part).flatMap({ catalog.source($0.source) }) else { continue }
                if partSource.column(named: entity.key.name) == nil {
                    error(
                        origin, "metric",
                        "\(what) reads metric '\(part)' per \(entity.id), but its source '\(partSource.id)' has no column '\(entity.key)' (the entity's key)"
                    )
                }
            }
        }
        if trigger.action.kind != .email {
            if let groups = restriction(of: trigger.metric) {
                error(
                    origin, "action.kind",
                    "\(what) sends a \(trigger.action.kind.rawValue) with numbers restricted to \(groups)",
                    hint: "a task tracker or webhook has no access groups; use kind: email to people who may see them")
            } else if let entity, !entity.access.isEmpty {
                // The entity's name goes to the tracker; the owners decide whether that is fine.
                warning(
                    origin, "action.kind",
                    "\(what) names \(entity.id) values, restricted to \(entity.access.joined(separator: ", ")), in a \(trigger.action.kind.rawValue) outside the portal",
                    hint: "tasks are only assigned to people who may see them; the tracker's own access applies")
            }
        }
        switch trigger.action.assignee {
        case .column(let column, let other)?:
            if let other {
                if let otherSource = catalog.source(other) {
                    checkColumn(column, in: otherSource, origin, path: "action.assignee", role: "assignee column")
                    if let entity, otherSource.column(named: entity.key.name) == nil {
                        error(
                            origin, "action.assignee",
                            "source '\(other)' has no column '\(entity.key)' to find each \(entity.id)'s assignee by")
                    }
                } else if !isBroken(.source, other.rawValue) {
                    error(
                        origin, "action.assignee", "assignee source '\(other)' is not in the catalog",
                        hint: suggestion(other.rawValue, among: ids(.source), folder: "sources"))
                }
            } else if let source {
                checkColumn(column, in: source, origin, path: "action.assignee", role: "assignee column")
            }
        case .team(let team)?:
            if catalog.team(team) == nil, !isBroken(.team, team.rawValue) {
                error(
                    origin, "action.assignee", "assignee 'team:\(team)' is not a team",
                    hint: suggestion(team.rawValue, among: ids(.team), folder: "teams"))
            }
        case nil: break
        }
        if let url = trigger.action.url, !hostAllowed(url) {
            error(
                origin, "action.url", "webhook host in '\(url)' is not in backends.allowed_hosts",
                hint: "add the host to almanac.yaml backends.allowed_hosts")
        }
        checkTeamRecipients(trigger.action.recipients, origin, path: "action.recipients")
        checkTitlePlaceholders(trigger.action.title, origin)
    }

    /// Anything but ``TriggerAction/titlePlaceholders`` between `{{` and `}}` would be left out
    /// of the task's title (it is rendered by Mustache), so it is refused here.
    private mutating func checkTitlePlaceholders(_ title: String, _ origin: ItemOrigin) {
        var rest = Substring(title)
        while let open = rest.range(of: "{{") {
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                error(
                    origin, "action.title", "'{{' without a closing '}}' in the title",
                    hint:
                        "placeholders are \(TriggerAction.titlePlaceholders.map { "{{\($0)}}" }.joined(separator: ", "))"
                )
                return
            }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if !TriggerAction.titlePlaceholders.contains(name) {
                error(
                    origin, "action.title", "'{{\(name)}}' is not something a trigger's title can say",
                    hint: closestMatch(to: name, in: TriggerAction.titlePlaceholders).map {
                        "did you mean '{{\($0)}}'?"
                    }
                        ?? "placeholders are \(TriggerAction.titlePlaceholders.map { "{{\($0)}}" }.joined(separator: ", "))"
                )
            }
            rest = rest[close.upperBound...]
        }
    }

    /// The groups a metric's numbers are restricted to (the metric's, its source's, or a ratio
    /// part's), or `nil` when everyone may see them.
    private func restriction(of id: MetricID) -> String? {
        guard let metric = catalog.metric(id) else { return nil }
        var groups = metric.access + (catalog.source(metric.source)?.access ?? [])
        for part in [metric.numerator, metric.denominator].compactMap({ $0 }).compactMap(catalog.metric) {
            groups += part.access + (catalog.source(part.source)?.access ?? [])
        }
        return groups.isEmpty ? nil : Array(Set(groups)).sorted().joined(separator: ", ")
    }

    private mutating func check(_ backend: Backend) {
        let origin = origin(.backend, backend.id.rawValue)
        checkOwner(backend.owner, origin, "backend '\(backend.id)'")
        if let parts = URLParts(backend.url), !hostAllowed(backend.url) {
            error(
                origin, "url", "backend host '\(parts.host)' is not in backends.allowed_hosts",
                hint: "add it to almanac.yaml backends.allowed_hosts; the portal proxies only allow-listed hosts")
        }
    }
}
