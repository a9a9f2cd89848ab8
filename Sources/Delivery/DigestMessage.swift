public import AlmanacCore
public import Catalog
import Charts
public import Foundation
public import Rendering

/// Turns a digest's numbers into the e-mail one recipient gets: only the metrics, report
/// and annotations that recipient may see, as plain text and as HTML that common mail
/// clients render (tables and inline styles; no scripts, no SVG).
public struct DigestMessageBuilder: Sendable {
    public let catalog: Catalog
    public let renderer: PageRenderer
    /// The portal's public address (`https://reports.example.com`), for links.
    public let baseURL: String

    public init(catalog: Catalog, renderer: PageRenderer, baseURL: String) {
        self.catalog = catalog
        self.renderer = renderer
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
    }

    /// Why a recipient gets nothing.
    public enum Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        case subscriptionHidden
        case reportHidden(ReportID)
        case nothingVisible

        public var description: String {
            switch self {
            case .subscriptionHidden: "not in the subscription's access groups"
            case .reportHidden(let report): "may not see report '\(report)'"
            case .nothingVisible: "may not see any of the digest's metrics"
            }
        }
    }

    /// The message for `recipient`, or the reason it gets none.
    public func message(
        _ data: DigestData, subscription: Subscription, for recipient: ResolvedRecipient, from: String,
        messageID: String, late: Bool, date: Date
    ) -> Result<MailMessage, Refusal> {
        let view = CatalogView(catalog, viewer: recipient.viewer)
        guard view.canSee(subscription) else { return .failure(.subscriptionHidden) }
        if let report = subscription.report, catalog.report(report) != nil, view.report(report) == nil {
            return .failure(.reportHidden(report))
        }
        let figures = data.figures.filter { view.canSeeNumbers(of: $0.metric) }
        guard !figures.isEmpty else { return .failure(.nothingVisible) }
        let model = self.model(
            data, subscription: subscription, figures: figures, view: view, recipient: recipient, late: late)
        let html = (try? renderer.render(model, template: "email/digest")) ?? nil
        return .success(
            MailMessage(
                from: from, to: [recipient.address], subject: model.subject, text: text(model), html: html,
                messageID: messageID, date: date))
    }

    /// The digest as JSON for a webhook subscription: no access check (a URL is not a person),
    /// so webhook subscriptions should name metrics everyone may see.
    public func webhookBody(_ data: DigestData, subscription: Subscription, late: Bool) -> [String: JSONValue] {
        let metrics: [JSONValue] = data.figures.map { figures in
            let metric = catalog.metric(figures.metric)
            var object: [String: JSONValue] = [
                "metric": .string(figures.metric.rawValue), "name": .string(metric?.name ?? figures.metric.rawValue),
                "value": figures.value.map(JSONValue.number) ?? .null,
                "url": .string(link("/glossary/\(figures.metric.rawValue)")),
            ]
            object["comparisons"] = .array(
                figures.changes.map { change in
                    .object([
                        "label": .string(change.label), "value": change.value.map(JSONValue.number) ?? .null,
                        "change": Self.relativeChange(figures.value, change.value).map(JSONValue.number) ?? .null,
                    ])
                })
            if let error = figures.error { object["error"] = .string(error) }
            return .object(object)
        }
        return [
            "subscription": .string(subscription.id.rawValue), "title": .string(subscription.title),
            "period": .string(data.period.kind.rawValue), "start": .string(data.period.start.description),
            "end": .string(data.period.end.description), "late": .bool(late), "metrics": .array(metrics),
        ]
    }

    /// A trigger's e-mail action: what fired, the numbers, and the entity's dashboard.
    public func alert(
        title: String, numbers: String, entity: Entity, hit: TriggerHit, link: String, trigger: Trigger,
        to recipient: ResolvedRecipient, from: String, messageID: String, date: Date
    ) -> MailMessage {
        let model = AlertModel(
            title: title, numbers: numbers, link: link, linkTitle: "Open \(entity.name.lowercased()) \(hit.label)",
            triggerTitle: trigger.title, description: trigger.description ?? "",
            ownerName: catalog.team(trigger.owner)?.name ?? trigger.owner.rawValue)
        let text = """
            \(title)

            \(numbers)

            \(model.linkTitle): \(link)

            --
            Almanac trigger "\(trigger.title)" for \(model.ownerName). \(model.description)

            """
        return MailMessage(
            from: from, to: [recipient.address], subject: title, text: text,
            html: try? renderer.render(model, template: "email/alert"), messageID: messageID, date: date)
    }

    struct AlertModel {
        var title: String
        var numbers: String
        var link: String
        var linkTitle: String
        var triggerTitle: String
        var description: String
        var ownerName: String
    }

    // MARK: - The view model

    struct Model {
        struct Change {
            var text: String
            var label: String
            var color: String
        }
        struct Bar {
            var height: Int
            var pad: Int
            var color: String
            var title: String
        }
        struct Part {
            var name: String
            var value: String
            var share: String
            var width: Int
        }
        struct MetricRow {
            var name: String
            var url: String
            var value: String
            var unit: String
            var changes: [Change]
            var bars: [Bar]
            var hasBars: Bool
            var firstBar: String
            var lastBar: String
            /// The date labels under the strip each span half of its columns.
            var firstSpan: Int
            var lastSpan: Int
            var sparkline: String
            var breakdownTitle: String
            var breakdown: [Part]
            var hasBreakdown: Bool
            var error: String?
        }
        struct AnnotationRow {
            var date: String
            var title: String
        }
        var subject: String
        var title: String
        var periodLabel: String
        var lateNote: String?
        var dashboardURL: String
        var dashboardTitle: String
        var metrics: [MetricRow]
        var annotations: [AnnotationRow]
        var hasAnnotations: Bool
        var annotationRange: String
        var reason: String
        var ownerName: String
        var scheduleText: String
    }

    func link(_ path: String) -> String {
        baseURL + path + (path.contains("?") ? "&" : "?") + "from=email"
    }

    func model(
        _ data: DigestData, subscription: Subscription, figures: [DigestFigures], view: CatalogView,
        recipient: ResolvedRecipient, late: Bool
    ) -> Model {
        let period = data.period
        let rows = figures.map { row($0, period: period) }
        let report = subscription.report.flatMap(view.report)
        let dashboardURL = report.map { link(Route.report($0.id).path) } ?? link(Route.home.path)
        let metricIDs = Set(figures.map(\.metric))
        let annotations = view.annotations.filter { annotation in
            let end = annotation.end ?? annotation.date
            return end >= period.stripStart && annotation.date <= period.end
                && (annotation.metrics.isEmpty || !metricIDs.isDisjoint(with: annotation.metrics))
        }.sorted { $0.date < $1.date }
        var subject = "\(subscription.title): \(period.label)"
        if let first = rows.first, first.error == nil {
            subject += " · \(first.name) \(first.value)"
            // Daily numbers swing by weekday, so a day's headline compares with the same day last week.
            let preferred = period.kind == .day ? "same day last week" : period.comparisons.first?.label
            if let index = period.comparisons.firstIndex(where: { $0.label == preferred }),
                first.changes.indices.contains(index), first.changes[index].text != "–"
            {
                subject += " (\(first.changes[index].text) vs \(first.changes[index].label))"
            }
        }
        let via =
            recipient.via.hasPrefix("team:")
            ? "you are in \(catalog.team(TeamID(String(recipient.via.dropFirst(5))))?.name ?? recipient.via)"
            : "your address is on it"
        return Model(
            subject: subject, title: subscription.title, periodLabel: period.label,
            lateNote: late
                ? "This digest is late: it was due when the portal was not running, and is sent once now." : nil,
            dashboardURL: dashboardURL, dashboardTitle: report?.title ?? "Almanac",
            metrics: rows,
            annotations: annotations.map {
                annotation in
                Model.AnnotationRow(
                    date: annotation.end.map { "\(annotation.date)–\($0)" } ?? annotation.date.description,
                    title: annotation.title)
            }, hasAnnotations: !annotations.isEmpty,
            annotationRange: "\(DigestPeriod.shortDay(period.stripStart)) – \(DigestPeriod.shortDay(period.end))",
            reason: "You get this because \(via).",
            ownerName: catalog.team(subscription.owner)?.name ?? subscription.owner.rawValue,
            scheduleText: Formatter.cronText(subscription.schedule, timeZone: catalog.settings.timezone))
    }

    func row(_ figures: DigestFigures, period: DigestPeriod) -> Model.MetricRow {
        let metric = catalog.metric(figures.metric)
        let style = Self.style(metric?.format ?? .number)
        let higherIsBetter = metric?.higherIsBetter ?? true
        func text(_ value: Double?) -> String {
            value.map { NumberFormat.format($0, style: style, compact: false) } ?? "–"
        }
        let changes = figures.changes.map { change -> Model.Change in
            let (words, direction) = Self.changeText(figures.value, change.value, style: style)
            let color =
                direction == 0 ? Self.neutral : (direction > 0) == higherIsBetter ? Self.good : Self.bad
            return Model.Change(text: words, label: "\(change.label) (\(text(change.value)))", color: color)
        }
        let values = figures.bars.compactMap(\.value)
        let top = max(values.max() ?? 0, 0)
        let bars = figures.bars.enumerated().map { index, bar -> Model.Bar in
            let height = top > 0 ? max(1, Int(((bar.value ?? 0) / top * 40).rounded())) : 1
            let isCurrent = index == figures.bars.count - 1
            return Model.Bar(
                height: height, pad: 40 - height,
                color: bar.value == nil ? "#d0d7de" : isCurrent ? "#0969da" : "#9cc3ee",
                title: "\(DigestPeriod.shortDay(bar.start)): \(text(bar.value))")
        }
        let additive = metric?.type == .count || metric?.type == .sum
        let total = additive ? figures.breakdown.compactMap(\.value).reduce(0, +) : 0
        let largest = figures.breakdown.compactMap(\.value).max() ?? 0
        let parts = figures.breakdown.prefix(6).map { part -> Model.Part in
            let share = total > 0 ? (part.value ?? 0) / total : 0
            let length = total > 0 ? share : largest > 0 ? (part.value ?? 0) / largest : 0
            return Model.Part(
                name: part.name, value: text(part.value),
                share: total > 0 ? NumberFormat.format(share, style: .percent, compact: true) : "",
                width: max(1, Int((length * 120).rounded())))
        }
        return Model.MetricRow(
            name: metric?.name ?? figures.metric.rawValue, url: link(Route.metric(figures.metric).path),
            value: text(figures.value), unit: metric?.unit ?? "", changes: figures.error == nil ? changes : [],
            bars: bars, hasBars: !bars.isEmpty,
            firstBar: figures.bars.first.map { DigestPeriod.shortDay($0.start) } ?? "",
            lastBar: figures.bars.last.map { DigestPeriod.shortDay($0.start) } ?? "",
            firstSpan: max(1, bars.count / 2), lastSpan: max(1, bars.count - bars.count / 2),
            sparkline: Self.sparkline(figures.bars.map(\.value)),
            breakdownTitle: "By \(figures.breakdownDimension?.lowercased() ?? "")", breakdown: Array(parts),
            hasBreakdown: !parts.isEmpty, error: figures.error)
    }

    // MARK: - Plain text

    func text(_ model: Model) -> String {
        var lines = ["\(model.title): \(model.periodLabel)", ""]
        if let late = model.lateNote { lines += [late, ""] }
        for row in model.metrics {
            if let error = row.error {
                lines += ["\(row.name): could not be read (\(error))", ""]
                continue
            }
            lines.append("\(row.name): \(row.value)\(row.unit.isEmpty ? "" : " \(row.unit)")")
            for change in row.changes { lines.append("  \(change.text) vs \(change.label)") }
            if row.hasBars { lines.append("  \(row.firstBar) \(row.sparkline) \(row.lastBar)") }
            if row.hasBreakdown {
                lines.append(
                    "  \(row.breakdownTitle): "
                        + row.breakdown.map { "\($0.name) \($0.value) (\($0.share))" }.joined(separator: ", "))
            }
            lines += ["  \(row.url)", ""]
        }
        if model.hasAnnotations {
            lines.append("Annotations, \(model.annotationRange):")
            for annotation in model.annotations { lines.append("  \(annotation.date)  \(annotation.title)") }
            lines.append("")
        }
        lines += [
            "Open \(model.dashboardTitle): \(model.dashboardURL)", "", "--",
            "\(model.reason) Sent \(model.scheduleText) by Almanac for \(model.ownerName).",
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Numbers as words

    static let good = "#1a7f37"
    static let bad = "#cf222e"
    static let neutral = "#57606a"

    static func style(_ format: ValueFormat) -> ValueStyle {
        switch format {
        case .number: .number
        case .percent: .percent
        case .currency: .currency
        case .duration: .duration
        }
    }

    /// `(current - previous) / |previous|`; `nil` without both, or from zero.
    static func relativeChange(_ current: Double?, _ previous: Double?) -> Double? {
        guard let current, let previous, previous != 0 else { return nil }
        return (current - previous) / abs(previous)
    }

    /// `▲ 8.3%`, `▼ 1.2 pts` (percent metrics change in points), `■ 0.0%`, and the direction:
    /// 1 up, -1 down, 0 flat or unknown.
    static func changeText(_ current: Double?, _ previous: Double?, style: ValueStyle) -> (String, Int) {
        guard let current, let previous else { return ("–", 0) }
        if style == .percent {
            let points = (current - previous) * 100
            let direction = abs(points) < 0.05 ? 0 : points > 0 ? 1 : -1
            let arrow = direction > 0 ? "▲" : direction < 0 ? "▼" : "■"
            return ("\(arrow) \(String(format: "%.1f", abs(points))) pts", direction)
        }
        guard let change = relativeChange(current, previous) else {
            return current == previous ? ("■ 0.0%", 0) : ("▲ new", current > previous ? 1 : -1)
        }
        let direction = abs(change) < 0.0005 ? 0 : change > 0 ? 1 : -1
        let arrow = direction > 0 ? "▲" : direction < 0 ? "▼" : "■"
        return ("\(arrow) \(NumberFormat.format(abs(change), style: .percent, compact: false))", direction)
    }

    /// `▁▂▄█`, for the plain-text part.
    static func sparkline(_ values: [Double?]) -> String {
        let blocks = Array("▁▂▃▄▅▆▇█")
        let top = values.compactMap { $0 }.max() ?? 0
        return String(
            values.map { value -> Character in
                guard let value, top > 0 else { return " " }
                return blocks[min(blocks.count - 1, max(0, Int((value / top * Double(blocks.count - 1)).rounded())))]
            })
    }
}

/// JSON for webhook bodies and task payloads, with exact keys and types.
public enum JSONValue: Sendable, Hashable, Codable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let flag = try? container.decode(Bool.self) {
            self = .bool(flag)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let items = try? container.decode([JSONValue].self) {
            self = .array(items)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let text): try container.encode(text)
        case .number(let value):
            if !value.isFinite {
                try container.encodeNil()
            } else if value == value.rounded(), abs(value) < 1e15 {
                try container.encode(Int64(value))
            } else {
                try container.encode(value)
            }
        case .bool(let flag): try container.encode(flag)
        case .null: try container.encodeNil()
        case .array(let items): try container.encode(items)
        case .object(let fields): try container.encode(fields)
        }
    }

    /// Compact JSON with sorted keys.
    public var serialized: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// The value at `key` of an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let fields) = self { return fields[key] }
        return nil
    }
}
