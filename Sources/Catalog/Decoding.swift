import AlmanacCore
import Scheduling
import Yams

/// Turns one file's YAML into a model value. Each function asks for every key its kind
/// allows (which is how unknown keys are found) and checks values that need no other file:
/// enums, ids, durations, dates, cron, SQL identifiers, required fields.
enum Decoding {
    static func settings(_ m: MappingReader) -> CatalogSettings? {
        let company = m.mappingReader("company", required: true)
        let name = company?.string("name", required: true)
        let domain = company?.string("domain")
        company?.reportUnknownKeys()
        var settings = CatalogSettings(companyName: name ?? "")
        settings.companyDomain = domain
        if let timezone = m.string("timezone") {
            if TimeZoneCheck.isKnown(timezone) {
                settings.timezone = timezone
            } else {
                m.reader.error(
                    "'timezone' is '\(timezone)', which is not a known time zone", at: m["timezone"],
                    hint: "use an IANA name such as UTC or Europe/Berlin")
            }
        }
        if let warehouse = m.mappingReader("warehouse") {
            if let dialect = warehouse.enumeration("dialect", SQLDialect.self) { settings.dialect = dialect }
            warehouse.reportUnknownKeys()
        }
        if let generation = m.mappingReader("generation") {
            if let schedule = cron(generation, "schedule") { settings.generationSchedule = schedule }
            if let keep = generation.int("keep_versions", in: 1...100) { settings.keepVersions = keep }
            if let parallelism = generation.int("parallelism", in: 1...64) { settings.parallelism = parallelism }
            generation.reportUnknownKeys()
        }
        if let retirement = m.mappingReader("retirement") {
            if let views = retirement.int("fewer_than", in: 1...1_000_000) { settings.retirement.fewerThan = views }
            if let span = retirement.timeSpan("in_last") { settings.retirement.window = span }
            if let span = retirement.timeSpan("older_than") { settings.retirement.olderThan = span }
            if let span = retirement.timeSpan("keep_for") { settings.retirement.keepFor = span }
            if let span = retirement.timeSpan("auto_deprecate_after") { settings.retirement.autoDeprecateAfter = span }
            retirement.reportUnknownKeys()
        }
        if let backends = m.mappingReader("backends") {
            settings.allowedBackendHosts = backends.stringList("allowed_hosts")
            backends.reportUnknownKeys()
        }
        if let search = m.mappingReader("search") {
            settings.searchSynonyms = synonymGroups(search, "synonyms")
            if let schedule = cron(search, "entity_refresh") { settings.entityRefreshSchedule = schedule }
            search.reportUnknownKeys()
        }
        if let extra = m.mappingReader("settings") {
            settings.adminGroups = extra.stringList("admin_groups")
            if let grain = extra.enumeration("default_grain", TimeGrain.self) { settings.defaultGrain = grain }
            if let range = extra.timeSpan("default_range") { settings.defaultRange = range }
            extra.reportUnknownKeys()
        }
        return name == nil ? nil : settings
    }

    /// A list of lists of words or phrases: `[[churn, attrition], [signups, registrations]]`.
    static func synonymGroups(_ m: MappingReader, _ key: String) -> [[String]] {
        guard let value = m.node(key) else { return [] }
        guard let groups = value.sequence else {
            m.reader.error(
                "'\(m.childPath(key))' must be a list of lists, e.g. [[churn, attrition]]", at: value)
            return []
        }
        var result: [[String]] = []
        for (index, group) in groups.enumerated() {
            let path = "\(m.childPath(key))[\(index)]"
            m.reader.record(path, group)
            guard let items = group.sequence, items.count >= 2, items.allSatisfy({ $0.scalar != nil }) else {
                m.reader.error(
                    "'\(path)' must be a list of at least two words or phrases that mean the same", at: group)
                continue
            }
            result.append(items.compactMap { $0.scalar?.string })
        }
        return result
    }

    static func cron(_ m: MappingReader, _ key: String, required: Bool = false) -> String? {
        guard let text = m.string(key, required: required, what: "a cron expression") else { return nil }
        do {
            _ = try CronSchedule(parsing: text)
            return text
        } catch {
            m.reader.error(
                "'\(m.childPath(key))': \(error.message)", at: m[key],
                hint: "five fields: minute hour day-of-month month day-of-week, e.g. \"0 7 * * 1-5\"")
            return nil
        }
    }

    /// Reads and checks `id` against the file name.
    static func objectID<Kind>(_ m: MappingReader, expected: String) -> Identifier<Kind>? {
        guard let id: Identifier<Kind> = m.id("id", required: true) else { return nil }
        if id.rawValue != expected {
            m.reader.error(
                "id '\(id)' does not match the file name '\(expected)'", at: m["id"],
                hint: "rename the file to '\(id).yaml' or set id: \(expected)")
            // Left out of the catalog; references by the file name are then not reported again.
            return nil
        }
        return id
    }

    static func team(_ m: MappingReader, id expected: String) -> Team? {
        let id: TeamID? = objectID(m, expected: expected)
        let name = m.string("name", required: true)
        let description = m.string("description")
        let email = m.string("email")
        let slack = m.string("slack")
        let members = m.list("members") { member -> Team.Member? in
            let name = member.string("name", required: true)
            let email = member.string("email")
            let role = member.enumeration("role", Team.Role.self) ?? .member
            guard let name else { return nil }
            return Team.Member(name: name, email: email, role: role)
        }
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        guard let id, let name else { return nil }
        return Team(
            id: id, name: name, description: description, email: email, slack: slack, members: members, tags: tags,
            access: access)
    }

    static func source(_ m: MappingReader, id expected: String) -> Source? {
        let id: SourceID? = objectID(m, expected: expected)
        let name = m.string("name", required: true)
        let description = m.string("description")
        let owner: TeamID? = m.id("owner", required: true)
        let origin = m.string("origin")
        let table = m.sqlIdentifier("table", required: true, qualified: true)
        let timeColumn = m.sqlIdentifier("time_column")
        var freshness: Source.Freshness?
        if let fresh = m.mappingReader("freshness") {
            let column = fresh.sqlIdentifier("column", required: true)
            let within = fresh.timeSpan("expected_within", required: true)
            fresh.reportUnknownKeys()
            if let column, let within { freshness = .init(column: column, expectedWithin: within) }
        }
        let columns = m.list("columns") { column -> Source.Column? in
            let name = column.sqlIdentifier("name", required: true)
            let type = column.enumeration("type", ColumnType.self, required: true)
            let description = column.string("description")
            guard let name, let type else { return nil }
            return .init(name: name, type: type, description: description)
        }
        if !m.has("columns") {
            m.reader.error(
                "missing required key 'columns' (the table's columns with their types)", at: m.node,
                hint: "metrics, entities and filters may only use declared columns")
        }
        let dimensions = m.list("dimensions") { dimension -> Source.Dimension? in
            let id: DimensionID? = dimension.id("id", required: true)
            let column = dimension.sqlIdentifier("column", required: true)
            let label = dimension.string("label")
            guard let id, let column else { return nil }
            return .init(id: id, column: column, label: label ?? column.name)
        }
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        guard let id, let name, let owner, let table else { return nil }
        return Source(
            id: id, name: name, description: description, owner: owner, origin: origin, table: table,
            timeColumn: timeColumn, freshness: freshness, columns: columns, dimensions: dimensions, tags: tags,
            access: access)
    }

    static func filters(_ m: MappingReader, _ key: String, allowParameters: Bool) -> [Filter] {
        m.list(key) { f -> Filter? in
            let column = f.sqlIdentifier("column", required: true)
            let op = f.enumeration("op", FilterOperator.self) ?? .eq
            let parameter = allowParameters ? f.string("parameter") : nil
            let valueNode = f.node("value")
            var value: FilterValue?
            if let valueNode { value = filterValue(valueNode, f, path: f.childPath("value")) }
            if op.takesValue, valueNode == nil, parameter == nil {
                f.reader.error(
                    "filter on '\(column?.name ?? "?")' with op '\(op.rawValue)' needs a 'value'"
                        + (allowParameters ? " or a 'parameter'" : ""), at: f.node)
            } else if !op.takesValue, valueNode != nil || parameter != nil {
                f.reader.error("op '\(op.rawValue)' takes no value; remove 'value'", at: valueNode ?? f.node)
            } else if valueNode != nil, parameter != nil {
                f.reader.error("a filter takes either 'value' or 'parameter', not both", at: f.node)
            } else if let value, op.takesList != (value.isList) {
                f.reader.error(
                    op.takesList
                        ? "op '\(op.rawValue)' needs a list value, e.g. [a, b]"
                        : "op '\(op.rawValue)' needs a single value, not a list (use 'in' for lists)",
                    at: valueNode)
            }
            guard let column else { return nil }
            return Filter(column: column, op: op, value: value, parameter: parameter)
        }
    }

    static func filterValue(_ node: Node, _ m: MappingReader, path: String) -> FilterValue? {
        if let sequence = node.sequence {
            var values: [FilterValue] = []
            for (index, item) in sequence.enumerated() {
                guard item.scalar != nil, let value = filterValue(item, m, path: "\(path)[\(index)]") else {
                    m.reader.error("'\(path)[\(index)]' must be a single value", at: item)
                    continue
                }
                values.append(value)
            }
            return .list(values)
        }
        guard let scalar = node.scalar else {
            m.reader.error("'\(path)' must be a value or a list of values, not a mapping", at: node)
            return nil
        }
        // Quoted scalars are always text; plain ones are typed the way YAML users expect.
        if scalar.style == .plain {
            switch scalar.string {
            case "true": return .boolean(true)
            case "false": return .boolean(false)
            default: break
            }
            if let integer = Int(scalar.string) { return .integer(integer) }
            if let number = Double(scalar.string), scalar.string.contains(".") { return .number(number) }
        }
        return .string(scalar.string)
    }

    static func metric(_ m: MappingReader, id expected: String) -> Metric? {
        let id: MetricID? = objectID(m, expected: expected)
        let name = m.string("name", required: true)
        let description = m.string("description", required: true)
        let owner: TeamID? = m.id("owner", required: true)
        let synonyms = m.stringList("synonyms")
        let certified = m.bool("certified") ?? false
        let source: SourceID? = m.id("source", required: true)
        let type = m.enumeration("type", MetricType.self, required: true)
        let column = m.sqlIdentifier("column")
        let timeColumn = m.sqlIdentifier("time_column")
        let window = m.timeSpan("window")
        let numerator: MetricID? = m.id("numerator")
        let denominator: MetricID? = m.id("denominator")
        let filters = filters(m, "filters", allowParameters: false)
        let dimensions: [DimensionID] = m.idList("dimensions")
        let format = m.enumeration("format", ValueFormat.self) ?? (type == .ratio ? .percent : .number)
        let unit = m.string("unit")
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        if let type {
            if type.needsColumn, column == nil, !m.has("column") {
                m.reader.error("a \(type.rawValue) metric needs 'column' (the column it aggregates)", at: m.node)
            }
            if type == .ratio {
                if numerator == nil, !m.has("numerator") {
                    m.reader.error("a ratio metric needs 'numerator' (a metric id)", at: m.node)
                }
                if denominator == nil, !m.has("denominator") {
                    m.reader.error("a ratio metric needs 'denominator' (a metric id)", at: m.node)
                }
            } else {
                for key in ["numerator", "denominator"] where m.has(key) {
                    m.reader.error(
                        "'\(key)' only applies to ratio metrics, and this one is \(type.rawValue)",
                        at: m[key])
                }
            }
            if type == .rollingDistinct {
                if window == nil, !m.has("window") {
                    m.reader.error(
                        "a rolling_distinct metric needs 'window' (e.g. 7d for weekly actives)", at: m.node)
                } else if let window, window.seconds % 86_400 != 0 {
                    m.reader.error(
                        "'window' is \(window); a rolling window must be whole days (e.g. 7d, 28d)",
                        at: m["window"])
                }
            } else if m.has("window") {
                m.reader.error(
                    "'window' only applies to rolling_distinct metrics, and this one is \(type.rawValue)",
                    at: m["window"])
            }
        }
        let status = m.enumeration("status", ReportStatus.self) ?? .active
        let statusReason = m.string("status_reason")
        let replacedBy: MetricID? = m.id("replaced_by")
        let better = m.enumeration("better", Better.self) ?? .higher
        guard let id, let name, let description, let owner, let source, let type else { return nil }
        return Metric(
            id: id, name: name, description: description, owner: owner, synonyms: synonyms, certified: certified,
            status: status, statusReason: statusReason, replacedBy: replacedBy,
            source: source, type: type, column: column, timeColumn: timeColumn, window: window,
            numerator: numerator, denominator: denominator, filters: filters, dimensions: dimensions, format: format,
            unit: unit, tags: tags, access: access, higherIsBetter: better == .higher)
    }

    /// `better:` of a metric.
    enum Better: String, CaseIterable {
        case higher, lower
    }

    static func panels(_ m: MappingReader, allowParameters: Bool) -> [Panel] {
        let panels = m.list("panels") { p -> Panel? in
            let title = p.string("title", required: true)
            let chart = p.enumeration("chart", ChartKind.self) ?? .line
            let metric: MetricID? = p.id("metric", required: chart.usesMetric)
            if !chart.usesMetric, p.has("metric") {
                p.reader.error("a \(chart.rawValue) panel reads 'records', not a metric", at: p["metric"])
            }
            let range = p.timeSpan("range")
            var records: RecordsSpec?
            if !chart.usesMetric, let r = p.mappingReader("records", required: true) {
                let source: SourceID? = r.id("source", required: true)
                var columns: [SQLIdentifier] = []
                for (index, text) in r.stringList("columns").enumerated() {
                    if let column = r.checkedIdentifier(
                        text, at: nil, path: r.childPath("columns[\(index)]"))
                    {
                        columns.append(column)
                    }
                }
                if columns.isEmpty, !r.has("columns") { r.reader.error("'records' needs 'columns'", at: r.node) }
                let order = r.sqlIdentifier("order")
                let limit = r.int("limit", in: 1...500) ?? (chart == .facts ? 1 : 50)
                r.reportUnknownKeys()
                if let source { records = RecordsSpec(source: source, columns: columns, order: order, limit: limit) }
            }
            if chart.usesMetric, let node = p.node("records") {
                p.reader.error("'records' only applies to facts and records panels", at: node)
            }
            var depth: DepthSpec?
            if chart == .ocean, let d = p.mappingReader("depth", required: true) {
                let population: MetricID? = d.id("population", required: true)
                let levelNode = d["levels"]
                let levels = d.stringList("levels").compactMap { Int($0) }
                if levels.isEmpty || levels.first! < 1 || zip(levels, levels.dropFirst()).contains(where: { $0 >= $1 })
                {
                    d.reader.error(
                        "'levels' must be ascending whole numbers of active days from 1, e.g. [1, 2, 4]",
                        at: levelNode ?? d.node)
                }
                var names = d.stringList("names")
                if names.isEmpty {
                    names = ["Dormant", "Light", "Regular", "Power", "Core"].prefix(levels.count + 1).map { $0 }
                }
                if names.count != levels.count + 1 {
                    d.reader.error(
                        "'names' needs \(levels.count + 1) entries: one for dormant and one per level",
                        at: d["names"] ?? d.node)
                }
                d.reportUnknownKeys()
                if let population { depth = DepthSpec(population: population, levels: levels, names: names) }
            }
            if chart != .ocean, let node = p.node("depth") {
                p.reader.error("'depth' only applies to ocean panels", at: node)
            }
            var experiment: ExperimentSpec?
            if chart == .experiment, let e = p.mappingReader("experiment", required: true) {
                let assignments: SourceID? = e.id("assignments", required: true)
                let conversions: SourceID? = e.id("conversions", required: true)
                let unit = e.sqlIdentifier("unit", required: true)
                let arm = e.sqlIdentifier("arm", required: true)
                let control = e.string("control", required: true)
                var match: [SQLIdentifier] = []
                for (index, text) in e.stringList("match").enumerated() {
                    if let column = e.checkedIdentifier(text, at: nil, path: e.childPath("match[\(index)]")) {
                        match.append(column)
                    }
                }
                var split: [String: Double] = [:]
                if let s = e.mappingReader("split") {
                    for key in s.keys {
                        if let share = s.double(key), share > 0 {
                            split[key] = share
                        } else {
                            s.reader.error("'\(s.childPath(key))' must be a positive share", at: s[key])
                        }
                    }
                }
                e.reportUnknownKeys()
                if let assignments, let conversions, let unit, let arm, let control {
                    experiment = ExperimentSpec(
                        assignments: assignments, conversions: conversions, unit: unit, arm: arm, control: control,
                        match: match, split: split)
                }
            }
            if chart != .experiment, let node = p.node("experiment") {
                p.reader.error("'experiment' only applies to experiment panels", at: node)
            }
            let description = p.string("description")
            var smoothing: Smoothing?
            if let s = p.mappingReader("smoothing") {
                let method = s.enumeration("method", Smoothing.Method.self) ?? .trailing
                let window = s.int("window", required: true, in: 2...365)
                s.reportUnknownKeys()
                if let window { smoothing = Smoothing(method: method, window: window) }
            }
            let bands = p.enumeration("bands", BandMethod.self) ?? BandMethod.none
            let breakdown: DimensionID? = p.id("breakdown")
            let compare = p.enumeration("compare", Comparison.self) ?? Comparison.none
            var annotationTags: [String] = []
            if let a = p.mappingReader("annotations") {
                annotationTags = a.stringList("tags")
                a.reportUnknownKeys()
            }
            let filters = filters(p, "filters", allowParameters: allowParameters)
            guard let title, metric != nil || !chart.usesMetric else { return nil }
            return Panel(
                title: title, metric: metric, chart: chart, description: description, smoothing: smoothing,
                bands: bands, breakdown: breakdown, compare: compare, annotationTags: annotationTags, filters: filters,
                range: range, records: records, depth: depth, experiment: experiment)
        }
        if panels.isEmpty, !m.reader.diagnostics.contains(where: { $0.message.contains("panels") }) {
            m.reader.error("needs at least one entry under 'panels'", at: m["panels"] ?? m.node)
        }
        return panels
    }

    static func links(_ m: MappingReader) -> [Link] {
        m.list("links") { l -> Link? in
            let title = l.string("title", required: true)
            let url = l.string("url", required: true)
            if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("/")) {
                l.reader.error(
                    "link url '\(url)' must start with https://, http:// or /", at: l["url"])
                return nil
            }
            guard let title, let url else { return nil }
            return Link(title: title, url: url)
        }
    }

    static func report(_ m: MappingReader, id expected: String, settings: CatalogSettings?) -> Report? {
        let id: ReportID? = objectID(m, expected: expected)
        let title = m.string("title", required: true)
        let description = m.string("description")
        let owner: TeamID? = m.id("owner", required: true)
        let status = m.enumeration("status", ReportStatus.self) ?? .active
        let statusReason = m.string("status_reason")
        let replacedBy: ReportID? = m.id("replaced_by")
        let schedule = cron(m, "schedule")
        let grain = m.enumeration("grain", TimeGrain.self)
        let range = m.timeSpan("range")
        let tags = m.stringList("tags")
        let links = links(m)
        let kind = m.enumeration("kind", ReportKind.self) ?? .dashboard
        var backend: BackendID?
        var entry = "/"
        var panels: [Panel] = []
        if kind == .external {
            backend = m.id("backend", required: true)
            if let text = m.string("entry") {
                if text.hasPrefix("/") && !text.hasPrefix("//") && !text.contains("..") {
                    entry = text
                } else {
                    m.reader.error("'entry' must be a path on the backend starting with '/'", at: m["entry"])
                }
            }
            if let node = m.node("panels") {
                m.reader.error("an external report shows its backend's pages; it has no 'panels'", at: node)
            }
        } else {
            panels = self.panels(m, allowParameters: false)
            for key in ["backend", "entry"] {
                if let node = m.node(key) {
                    m.reader.error("'\(key)' only applies to reports of kind external", at: node)
                }
            }
        }
        let access = m.stringList("access")
        guard let id, let title, let owner else { return nil }
        var report = Report(
            id: id, title: title, description: description, owner: owner, status: status, schedule: schedule,
            grain: grain ?? settings?.defaultGrain ?? .day,
            range: range ?? settings?.defaultRange ?? TimeSpan(180, .days),
            tags: tags, links: links, panels: panels, access: access)
        report.statusReason = statusReason
        report.replacedBy = replacedBy
        report.kind = kind
        report.backend = backend
        report.entry = entry
        return report
    }

    static func template(_ m: MappingReader, id expected: String, settings: CatalogSettings?) -> Template? {
        let id: TemplateID? = objectID(m, expected: expected)
        let title = m.string("title", required: true)
        let description = m.string("description")
        let owner: TeamID? = m.id("owner", required: true)
        let entity: EntityID? = m.id("entity")
        let grain = m.enumeration("grain", TimeGrain.self)
        let range = m.timeSpan("range")
        var names = Set<String>()
        let parameters = m.list("parameters") { p -> Parameter? in
            let name = p.string("name", required: true)
            let type = p.enumeration("type", Parameter.Kind.self) ?? .string
            let label = p.string("label")
            let required = p.bool("required") ?? true
            let values = p.stringList("values")
            let defaultValue = p.string("default")
            let entity: EntityID? = p.id("entity", required: type == .entity)
            let by = p.sqlIdentifier("by")
            if type != .entity, let node = p["entity"] ?? p["by"] {
                p.reader.error("'entity' and 'by' only apply to entity parameters", at: node)
            }
            if type == .dateRange, let defaultValue, DateRangeValue(parsing: defaultValue) == nil {
                p.reader.error(
                    "default '\(defaultValue)' of parameter '\(name ?? "?")' is not a date range",
                    at: p["default"], hint: DateRangeValue.accepted)
            }
            guard let name else { return nil }
            if SQLIdentifier(name) == nil {
                p.reader.error(
                    "parameter name '\(name)' must be letters, digits and '_'", at: p["name"])
            }
            if !names.insert(name).inserted {
                p.reader.error("parameter '\(name)' is declared twice", at: p["name"])
            }
            if type == .enum, values.isEmpty {
                p.reader.error("enum parameter '\(name)' needs 'values'", at: p.node)
            } else if type != .enum, !values.isEmpty {
                p.reader.error("'values' only applies to enum parameters", at: p["values"])
            }
            if let defaultValue, type == .enum, !values.contains(defaultValue) {
                p.reader.error(
                    "default '\(defaultValue)' of parameter '\(name)' is not one of its values",
                    at: p["default"])
            }
            return Parameter(
                name: name, type: type, label: label ?? name, required: required, values: values,
                defaultValue: defaultValue, entity: entity, by: by)
        }
        if parameters.isEmpty, !m.has("parameters") {
            m.reader.error(
                "a template needs 'parameters' (what the report is generated for)", at: m.node)
        }
        let panels = panels(m, allowParameters: true)
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        guard let id, let title, let owner else { return nil }
        return Template(
            id: id, title: title, description: description, owner: owner, entity: entity,
            grain: grain ?? settings?.defaultGrain ?? .day,
            range: range ?? settings?.defaultRange ?? TimeSpan(180, .days),
            parameters: parameters, panels: panels, tags: tags, access: access)
    }

    static func entity(_ m: MappingReader, id expected: String) -> Entity? {
        let id: EntityID? = objectID(m, expected: expected)
        let name = m.string("name", required: true)
        let description = m.string("description")
        let source: SourceID? = m.id("source", required: true)
        let key = m.sqlIdentifier("key", required: true)
        let label = m.sqlIdentifier("label")
        var search: [SQLIdentifier] = []
        for (index, text) in m.stringList("search").enumerated() {
            let path = "search[\(index)]"
            if let identifier = m.checkedIdentifier(text, at: nil, path: path) {
                search.append(identifier)
            }
        }
        let template: TemplateID? = m.id("template", required: true)
        let parameter = m.string("parameter", required: true)
        let filters = filters(m, "filters", allowParameters: false)
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        let refresh = cron(m, "refresh")
        guard let id, let name, let source, let key, let template, let parameter else { return nil }
        return Entity(
            id: id, name: name, description: description, source: source, key: key, label: label ?? key,
            search: search.isEmpty ? [label ?? key] : search, template: template, parameter: parameter,
            filters: filters, tags: tags, access: access, refresh: refresh)
    }

    static func annotation(_ m: MappingReader, id expected: String) -> Annotation? {
        let id: AnnotationID? = objectID(m, expected: expected)
        let date = m.day("date", required: true)
        let end = m.day("end")
        let title = m.string("title", required: true)
        let description = m.string("description")
        let tags = m.stringList("tags")
        let metrics: [MetricID] = m.idList("metrics")
        let access = m.stringList("access")
        if let date, let end, end < date {
            m.reader.error("'end' (\(end)) is before 'date' (\(date))", at: m["end"])
        }
        guard let id, let date, let title else { return nil }
        return Annotation(
            id: id, date: date, end: end, title: title, description: description, tags: tags, metrics: metrics,
            access: access)
    }

    static func recipients(_ m: MappingReader, _ key: String) -> [Recipient] {
        var result: [Recipient] = []
        for (index, text) in m.stringList(key).enumerated() {
            let at = m.reader.locations["\(m.childPath(key))[\(index)]"] ?? m.location
            if text.hasPrefix("team:") {
                let team = String(text.dropFirst(5))
                if TeamID.isValid(team) {
                    result.append(.team(TeamID(team)))
                } else {
                    m.reader.error("'\(text)' does not name a valid team id", at: at)
                }
            } else if text.hasPrefix("http://") || text.hasPrefix("https://") {
                result.append(.url(text))
            } else if isEmailAddress(text) {
                result.append(.email(text))
            } else {
                m.reader.error(
                    "recipient '\(text)' is neither an e-mail address nor team:<id>", at: at,
                    hint: "write name@company.com or team:growth")
            }
        }
        return result
    }

    static func isEmailAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !text.contains(where: \.isWhitespace)
    }

    static func subscription(_ m: MappingReader, id expected: String) -> Subscription? {
        let id: SubscriptionID? = objectID(m, expected: expected)
        let title = m.string("title", required: true)
        let description = m.string("description")
        let owner: TeamID? = m.id("owner", required: true)
        let schedule = cron(m, "schedule", required: true)
        let channel = m.enumeration("channel", DeliveryChannel.self) ?? .email
        let recipients = recipients(m, "recipients")
        let metrics: [MetricID] = m.idList("metrics")
        let report: ReportID? = m.id("report")
        let compare = m.enumeration("compare", Comparison.self) ?? .previousPeriod
        let period = m.enumeration("period", Subscription.Period.self)
        let breakdown: DimensionID? = m.id("breakdown")
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        if recipients.isEmpty, !m.has("recipients") {
            m.reader.error("a subscription needs 'recipients'", at: m.node)
        }
        if metrics.isEmpty, report == nil, !m.has("metrics"), !m.has("report") {
            m.reader.error("a subscription needs 'metrics' or 'report' (what to send)", at: m.node)
        }
        guard let id, let title, let owner, let schedule else { return nil }
        return Subscription(
            id: id, title: title, description: description, owner: owner, schedule: schedule, channel: channel,
            recipients: recipients, metrics: metrics, report: report, compare: compare, tags: tags, access: access,
            period: period, breakdown: breakdown)
    }

    static func trigger(_ m: MappingReader, id expected: String) -> Trigger? {
        let id: TriggerID? = objectID(m, expected: expected)
        let title = m.string("title", required: true)
        let description = m.string("description")
        let owner: TeamID? = m.id("owner", required: true)
        let entity: EntityID? = m.id("entity", required: true)
        let scope = filters(m, "scope", allowParameters: false)
        let metric: MetricID? = m.id("metric", required: true)
        var condition: TriggerCondition?
        if let c = m.mappingReader("condition", required: true) {
            let measure = c.enumeration("measure", TriggerCondition.Measure.self) ?? .value
            let window = c.timeSpan("window", required: true)
            let op = c.enumeration("op", TriggerCondition.Operator.self, required: true)
            let threshold = c.double("threshold", required: true)
            let minimumBase = c.double("min_base")
            if minimumBase != nil, measure == .value {
                c.reader.error("'min_base' applies to change and pct_change conditions, not value", at: c["min_base"])
            }
            c.reportUnknownKeys()
            if let window, let op, let threshold {
                condition = TriggerCondition(
                    measure: measure, window: window, op: op, threshold: threshold, minimumBase: minimumBase)
            }
        }
        let schedule = cron(m, "schedule") ?? "0 6 * * *"
        let cooldown = m.timeSpan("cooldown") ?? TimeSpan(7, .days)
        var action: TriggerAction?
        if let a = m.mappingReader("action", required: true) {
            let kind = a.enumeration("kind", TriggerAction.Kind.self, required: true)
            var assignee: TriggerAction.Assignee?
            if let text = a.string("assignee") {
                if text.hasPrefix("team:") {
                    let team = String(text.dropFirst(5))
                    if TeamID.isValid(team) {
                        assignee = .team(TeamID(team))
                    } else {
                        a.reader.error("'\(text)' does not name a valid team id", at: a["assignee"])
                    }
                } else {
                    // `owner_email` (the entity's source) or `crm_accounts.owner_email` (another source).
                    let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                    let source = parts.count == 2 ? parts[0] : nil
                    if parts.count > 2 || source.map({ !SourceID.isValid($0) }) == true {
                        a.reader.error(
                            "'\(text)' is neither team:<id>, a column, nor source.column", at: a["assignee"])
                    } else if let column = a.checkedIdentifier(
                        parts.last ?? text, at: a["assignee"], path: a.childPath("assignee"))
                    {
                        let other: SourceID? = source.map { SourceID($0) }
                        assignee = .column(column, source: other)
                    }
                }
            }
            let title = a.string("title") ?? title ?? ""
            let url = a.string("url")
            let due = a.timeSpan("due") ?? TimeSpan(3, .days)
            let recipients = recipients(a, "recipients")
            a.reportUnknownKeys()
            switch kind {
            case .task? where assignee == nil && !a.has("assignee"):
                a.reader.error(
                    "a task action needs 'assignee' (a column of the entity's source or team:<id>)", at: a.node)
            case .webhook? where url == nil:
                a.reader.error("a webhook action needs 'url'", at: a.node)
            case .email? where recipients.isEmpty && !a.has("recipients"):
                a.reader.error("an email action needs 'recipients'", at: a.node)
            default: break
            }
            if let kind {
                action = TriggerAction(
                    kind: kind, assignee: assignee, title: title, url: url, recipients: recipients, due: due)
            }
        }
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        guard let id, let title, let owner, let entity, let metric, let condition, let action else { return nil }
        return Trigger(
            id: id, title: title, description: description, owner: owner, entity: entity, scope: scope,
            metric: metric, condition: condition, schedule: schedule, cooldown: cooldown, action: action, tags: tags,
            access: access)
    }

    static func backend(_ m: MappingReader, id expected: String) -> Backend? {
        let id: BackendID? = objectID(m, expected: expected)
        let title = m.string("title", required: true)
        let description = m.string("description")
        let owner: TeamID? = m.id("owner", required: true)
        let url = m.string("url", required: true)
        if let url, URLParts(url) == nil {
            m.reader.error(
                "'url' is '\(url)', which is not an http(s) URL with a host", at: m["url"])
        }
        let healthPath = m.string("health_path")
        if let healthPath, !healthPath.hasPrefix("/") {
            m.reader.error("'health_path' must start with '/'", at: m["health_path"])
        }
        let timeout = m.timeSpan("timeout") ?? TimeSpan(5, .seconds)
        let tags = m.stringList("tags")
        let access = m.stringList("access")
        guard let id, let title, let owner, let url else { return nil }
        return Backend(
            id: id, title: title, description: description, owner: owner, url: url, healthPath: healthPath,
            timeout: timeout, tags: tags, access: access)
    }
}

extension FilterValue {
    var isList: Bool {
        if case .list = self { return true }
        return false
    }
}

/// The scheme, host and port of an http(s) URL; enough to check a backend's host against
/// the allow-list without pulling in a URL parser's leniency.
struct URLParts: Hashable {
    var scheme: String
    var host: String
    var port: Int?

    init?(_ text: String) {
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("http://") {
            scheme = "http"
        } else if lower.hasPrefix("https://") {
            scheme = "https"
        } else {
            return nil
        }
        let rest = text.dropFirst(scheme.count + 3)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host = Substring(authority)
        var port: Int?
        if let colon = authority.lastIndex(of: ":"),
            !authority.hasPrefix("[") || authority[colon...].contains("]") == false
        {
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else {
                return nil
            }
            port = value
            host = authority[..<colon]
        }
        guard !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host.lowercased()
        self.port = port
    }
}

enum TimeZoneCheck {
    static func isKnown(_ name: String) -> Bool {
        name == "UTC" || name == "GMT" || TimeZoneLookup.identifiers.contains(name)
    }
}
