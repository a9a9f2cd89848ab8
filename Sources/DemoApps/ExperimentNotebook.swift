import AlmanacCore
import Charts
import Foundation
import GRDB
import HTTPTypes
public import Hummingbird
public import Logging
public import NIOCore

/// The growth team's experiment notebook, as the demo runs it: a small report app over the
/// warehouse's experiment tables, of the kind teams run beside a portal.
///
/// - `GET /`: every experiment with its arms, lift, interval and p-value on its goal.
/// - `GET /experiments/{id}?goal=…&segment=…`: one experiment: the arms; the sequential view
///   (cumulative conversion per arm and the lift with its 95% interval, day by day, and a
///   weekly look table); a cut by platform, channel or country.
/// - `GET /health`.
///
/// Links and forms start with the portal's `X-Forwarded-Prefix`, so the app works both on its
/// own port and through `/x/experiment-notebook/`.
public struct ExperimentNotebook: Sendable {
    let database: DatabasePool

    /// The notebook over the SQLite warehouse at `path`, read-only.
    public init(warehouse path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        database = try DatabasePool(path: path, configuration: configuration)
    }

    /// The app's HTTP server on `host:port`; `onServerRunning` is told the channel once it listens.
    public func application(
        host: String = "127.0.0.1", port: Int = 8602, logger: Logger,
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/health") { _, _ in "ok" }
        router.get("/") { request, _ -> Response in
            html(try await indexPage(prefix: Self.prefix(request)))
        }
        router.get("/experiments/{id}") { request, context -> Response in
            let id = try context.parameters.require("id")
            let goal = request.uri.queryParameters["goal"].map(String.init)
            let segment = request.uri.queryParameters["segment"].flatMap { Segment(rawValue: String($0)) } ?? .platform
            guard
                let page = try await experimentPage(id: id, goal: goal, segment: segment, prefix: Self.prefix(request))
            else {
                return html(
                    Self.document(title: "Not found", body: "<p>No experiment '\(Markup.escape(id))'.</p>"),
                    status: .notFound)
            }
            return html(page)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "experiment-notebook"),
            onServerRunning: onServerRunning, logger: logger)
    }

    /// Where the app is mounted: the portal's prefix, or nothing when reached directly.
    static func prefix(_ request: Request) -> String {
        guard let prefix = request.headers[HTTPField.Name("X-Forwarded-Prefix")!],
            prefix.hasPrefix("/"), !prefix.contains("\""), !prefix.contains("<")
        else { return "" }
        return prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
    }

    /// A column of `users` an experiment's results can be cut by.
    enum Segment: String, CaseIterable {
        case platform, channel, country
    }

    struct Experiment {
        var id: String
        var name: String
        var hypothesis: String
        var startedOn: String
        var endedOn: String?
        var status: String
    }

    struct Arm: Sendable {
        var variant: String
        var counts: ArmCounts
    }

    // MARK: - Queries

    func experiments() async throws -> [Experiment] {
        try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT experiment_id, name, hypothesis, started_on, ended_on, status
                    FROM experiments ORDER BY started_on DESC
                    """
            ).map {
                Experiment(
                    id: $0[0], name: $0[1], hypothesis: $0[2] ?? "", startedOn: $0[3], endedOn: $0[4], status: $0[5])
            }
        }
    }

    /// The goals people converted on in `experiment`, the most common first.
    func goals(_ experiment: String) async throws -> [String] {
        try await database.read { db in
            try String.fetchAll(
                db,
                sql: """
                    SELECT goal FROM experiment_conversions WHERE experiment_id = ?
                    GROUP BY goal ORDER BY count(*) DESC, goal
                    """, arguments: [experiment])
        }
    }

    /// Exposures and converted people per arm, control first.
    func arms(_ experiment: String, goal: String) async throws -> [Arm] {
        let rows = try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT a.variant, count(*), count(c.user_id)
                    FROM experiment_assignments a
                    LEFT JOIN (SELECT DISTINCT user_id FROM experiment_conversions
                               WHERE experiment_id = ? AND goal = ?) c ON c.user_id = a.user_id
                    WHERE a.experiment_id = ?
                    GROUP BY a.variant
                    """, arguments: [experiment, goal, experiment]
            ).map { Arm(variant: $0[0], counts: ArmCounts(name: $0[0], exposures: $0[1], conversions: $0[2])) }
        }
        return Self.ordered(rows)
    }

    static func ordered(_ arms: [Arm]) -> [Arm] {
        arms.sorted { ($0.variant == "control" ? 0 : 1, $0.variant) < ($1.variant == "control" ? 0 : 1, $1.variant) }
    }

    /// Per day: the people assigned and the people converting for the first time, per arm.
    func daily(_ experiment: String, goal: String) async throws -> [String: [String: (Int, Int)]] {
        try await database.read { db in
            var days: [String: [String: (Int, Int)]] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT assigned_on, variant, count(*) FROM experiment_assignments
                    WHERE experiment_id = ? GROUP BY 1, 2
                    """, arguments: [experiment])
            {
                days[row[0], default: [:]][row[1], default: (0, 0)].0 += row[2] as Int
            }
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT c.day, a.variant, count(*)
                    FROM (SELECT user_id, min(converted_on) AS day FROM experiment_conversions
                          WHERE experiment_id = ? AND goal = ? GROUP BY user_id) c
                    JOIN experiment_assignments a ON a.user_id = c.user_id AND a.experiment_id = ?
                    GROUP BY 1, 2
                    """, arguments: [experiment, goal, experiment])
            {
                days[row[0], default: [:]][row[1], default: (0, 0)].1 += row[2] as Int
            }
            return days
        }
    }

    /// Exposures and converted people per segment value and arm.
    func segments(_ experiment: String, goal: String, by segment: Segment) async throws -> [(String, [Arm])] {
        // The column comes from `Segment`'s fixed cases, never from the request's text.
        let rows = try await database.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT coalesce(u.\(segment.rawValue), '(none)'), a.variant, count(*), count(c.user_id)
                    FROM experiment_assignments a
                    JOIN users u ON u.user_id = a.user_id
                    LEFT JOIN (SELECT DISTINCT user_id FROM experiment_conversions
                               WHERE experiment_id = ? AND goal = ?) c ON c.user_id = a.user_id
                    WHERE a.experiment_id = ?
                    GROUP BY 1, 2
                    """, arguments: [experiment, goal, experiment]
            ).map { row -> (String, Arm) in
                let variant: String = row[1]
                return (
                    row[0],
                    Arm(variant: variant, counts: ArmCounts(name: variant, exposures: row[2], conversions: row[3]))
                )
            }
        }
        var bySegment: [String: [Arm]] = [:]
        for (value, arm) in rows { bySegment[value, default: []].append(arm) }
        return bySegment.map { ($0.key, Self.ordered($0.value)) }
            .sorted {
                ($0.1.map(\.counts.exposures).reduce(0, +), $1.0) > ($1.1.map(\.counts.exposures).reduce(0, +), $0.0)
            }
    }

    // MARK: - Pages

    func indexPage(prefix: String) async throws -> String {
        var rows = ""
        for experiment in try await experiments() {
            let goal = try await goals(experiment.id).first
            var arms: [Arm] = []
            if let goal { arms = try await self.arms(experiment.id, goal: goal) }
            let link = "\(prefix)/experiments/\(Self.path(experiment.id))"
            rows += "<tr><td class=\"name\"><a href=\"\(Markup.escape(link, quotes: ["\""]))\">"
            rows +=
                "\(Markup.escape(experiment.name))</a><div class=\"muted\">\(Markup.escape(experiment.hypothesis))</div>"
            rows += "<div class=\"muted\">\(Markup.escape(experiment.status)), \(Markup.escape(experiment.startedOn))"
            rows += " – \(Markup.escape(experiment.endedOn ?? "now"))</div></td><td>\(Markup.escape(goal ?? "—"))</td>"
            rows += "<td class=\"num\">\(arms.map { Self.count($0.counts.exposures) }.joined(separator: " / "))</td>"
            rows += Self.comparisonCells(arms)
            rows += "</tr>\n"
        }
        return Self.document(
            title: "Experiment notebook",
            body: """
                <p class="muted">Every experiment in the experiment service, on its main goal (the one most \
                people converted on); figures read control / treatment. Open one for the day-by-day view and segment cuts.</p>
                <table><thead><tr><th>experiment</th><th>goal</th>\
                <th class="num">people</th><th class="num">conversion</th>\
                <th class="num">lift [95% interval]</th><th class="num">p-value</th><th>read</th></tr></thead>
                <tbody>
                \(rows)</tbody></table>
                """)
    }

    func experimentPage(id: String, goal requested: String?, segment: Segment, prefix: String) async throws -> String? {
        guard let experiment = try await experiments().first(where: { $0.id == id }) else { return nil }
        let goals = try await goals(id)
        let goal = requested.flatMap { goals.contains($0) ? $0 : nil } ?? goals.first ?? ""
        let arms = try await arms(id, goal: goal)
        let base = "\(prefix)/experiments/\(Self.path(id))"
        var body = """
            <p><a href="\(Markup.escape(prefix + "/", quotes: ["\""]))">← All experiments</a></p>
            <p>\(Markup.escape(experiment.hypothesis))</p>
            <p class="muted">\(Markup.escape(experiment.status)), \(Markup.escape(experiment.startedOn)) – \
            \(Markup.escape(experiment.endedOn ?? "now"))</p>
            <form method="get" action="\(Markup.escape(base, quotes: ["\""]))">
            <label>Goal <select name="goal">\(goals.map { Self.option($0, selected: $0 == goal) }.joined())</select></label>
            <label>Cut by <select name="segment">\(Segment.allCases.map { Self.option($0.rawValue, selected: $0 == segment) }.joined())</select></label>
            <button type="submit">Show</button>
            </form>
            <h2>Result on \(Markup.escape(goal))</h2>
            <table><thead><tr><th>arm</th><th class="num">people</th><th class="num">converted</th>\
            <th class="num">conversion</th></tr></thead><tbody>
            """
        for arm in arms {
            body +=
                "<tr><td>\(Markup.escape(arm.variant))</td><td class=\"num\">\(Self.count(arm.counts.exposures))</td>"
            body += "<td class=\"num\">\(Self.count(arm.counts.conversions))</td>"
            body += "<td class=\"num\">\(Self.percent(arm.counts.rate))</td></tr>\n"
        }
        body += "</tbody></table>\n"
        body += "<p>\(Self.verdict(arms))</p>\n"
        body += try await sequentialSection(id, goal: goal)
        body += try await segmentSection(id, goal: goal, segment: segment)
        return Self.document(title: experiment.name, body: body)
    }

    func sequentialSection(_ id: String, goal: String) async throws -> String {
        let daily = try await daily(id, goal: goal)
        let days = daily.keys.sorted().compactMap { CalendarDay(parsing: $0).map { ($0, $0.description) } }
        guard let first = days.first?.0 else { return "" }
        var totals: [String: (Int, Int)] = [:]
        var rates: [String: [SeriesPoint]] = [:]
        var lift: [SeriesPoint] = []
        var lower: [Double?] = []
        var upper: [Double?] = []
        var weekly = ""
        for (index, (day, key)) in days.enumerated() {
            for (variant, counts) in daily[key] ?? [:] {
                totals[variant, default: (0, 0)].0 += counts.0
                totals[variant, default: (0, 0)].1 += counts.1
            }
            let arms = Self.ordered(
                totals.map {
                    Arm(
                        variant: $0.key, counts: ArmCounts(name: $0.key, exposures: $0.value.0, conversions: $0.value.1)
                    )
                })
            for arm in arms { rates[arm.variant, default: []].append(SeriesPoint(date: day, value: arm.counts.rate)) }
            let comparison =
                arms.count == 2 ? ExperimentStatistics.compare(control: arms[0].counts, treatment: arms[1].counts) : nil
            lift.append(SeriesPoint(date: day, value: comparison?.lift))
            lower.append(comparison?.liftLower.isFinite == true ? comparison?.liftLower : nil)
            upper.append(comparison?.liftUpper.isFinite == true ? comparison?.liftUpper : nil)
            if ((day.dayNumber - first.dayNumber) + 1) % 7 == 0 || index == days.count - 1 {
                weekly += "<tr><td>\(Markup.escape(key)) (day \((day.dayNumber - first.dayNumber) + 1))</td>"
                weekly +=
                    "<td class=\"num\">\(arms.map { Self.count($0.counts.exposures) }.joined(separator: " / "))</td>"
                weekly += Self.comparisonCells(arms) + "</tr>\n"
            }
        }
        let rateChart = SVGChart.render(
            ChartSpec(
                id: "rates", title: "Cumulative conversion by arm", kind: .line, style: .percent,
                series: rates.keys.sorted { ($0 == "control" ? 0 : 1, $0) < ($1 == "control" ? 0 : 1, $1) }.map {
                    Series(name: $0, points: rates[$0] ?? [])
                }, width: 760, height: 240))
        let liftChart = SVGChart.render(
            ChartSpec(
                id: "lift", title: "Lift of treatment over control", kind: .line, style: .percent,
                series: [Series(name: "lift", points: lift)], band: Band(lower: lower, upper: upper), width: 760,
                height: 240))
        return """
            <h2>Day by day</h2>
            <p class="muted">Cumulative since the start. Each look is a fixed-horizon test: reading it \
            every day and stopping at the first p &lt; 0.05 inflates false positives, so the growth \
            team decides at the planned end, or when the interval stays clear of zero for two weekly \
            looks in a row.</p>
            <figure>\(rateChart)</figure>
            <figure>\(liftChart)</figure>
            <h3>Weekly looks</h3>
            <table><thead><tr><th>look</th><th class="num">people</th><th class="num">conversion</th>\
            <th class="num">lift [95% interval]</th><th class="num">p-value</th><th>read</th></tr></thead>
            <tbody>
            \(weekly)</tbody></table>
            """
    }

    func segmentSection(_ id: String, goal: String, segment: Segment) async throws -> String {
        let cuts = try await segments(id, goal: goal, by: segment)
        let shown = cuts.prefix(12)
        var rows = ""
        for (value, arms) in shown {
            rows += "<tr><td>\(Markup.escape(value))</td>"
            rows += "<td class=\"num\">\(arms.map { Self.count($0.counts.exposures) }.joined(separator: " / "))</td>"
            rows += Self.comparisonCells(arms, alpha: 0.05 / Double(max(1, shown.count))) + "</tr>\n"
        }
        return """
            <h2>By \(segment.rawValue)</h2>
            <p class="muted">The \(shown.count) largest groups\(cuts.count > shown.count ? " of \(cuts.count)" : ""). \
            With \(shown.count) cuts, a group's result is read at p &lt; \(String(format: "%.4f", 0.05 / Double(max(1, shown.count)))) \
            (Bonferroni), not 0.05.</p>
            <table><thead><tr><th>\(segment.rawValue)</th><th class="num">people</th>\
            <th class="num">conversion</th><th class="num">lift [95% interval]</th><th class="num">p-value</th>\
            <th>read</th></tr></thead><tbody>
            \(rows)</tbody></table>
            """
    }

    // MARK: - Formatting

    /// Conversion per arm, lift with its interval, p-value and a one-word reading.
    static func comparisonCells(_ arms: [Arm], alpha: Double = 0.05) -> String {
        let rates = arms.map { percent($0.counts.rate) }.joined(separator: " / ")
        guard arms.count == 2,
            let comparison = ExperimentStatistics.compare(control: arms[0].counts, treatment: arms[1].counts)
        else { return "<td class=\"num\">\(rates)</td><td class=\"num\">—</td><td class=\"num\">—</td><td>—</td>" }
        let significant = comparison.pValue < alpha
        let reading = !significant ? "no clear effect" : comparison.lift > 0 ? "treatment wins" : "treatment loses"
        return """
            <td class="num">\(rates)</td><td class="num">\(signed(comparison.lift)) \
            [\(signed(comparison.liftLower)), \(comparison.liftUpper.isFinite ? signed(comparison.liftUpper) : "∞")]</td>\
            <td class="num">\(String(format: "%.4f", comparison.pValue))</td>\
            <td class="\(significant ? (comparison.lift > 0 ? "win" : "loss") : "muted")">\(reading)</td>
            """
    }

    static func verdict(_ arms: [Arm]) -> String {
        guard arms.count == 2,
            let comparison = ExperimentStatistics.compare(control: arms[0].counts, treatment: arms[1].counts)
        else { return "Not enough data for a comparison yet." }
        let interval =
            "\(signed(comparison.liftLower)) to \(comparison.liftUpper.isFinite ? signed(comparison.liftUpper) : "∞")"
        if comparison.pValue < 0.05 {
            return "Treatment converts \(signed(comparison.lift)) relative to control (95% interval \(interval), p = "
                + "\(String(format: "%.4f", comparison.pValue))): a real difference."
        }
        return "No significant difference: lift \(signed(comparison.lift)), 95% interval \(interval), p = "
            + "\(String(format: "%.3f", comparison.pValue))."
    }

    static func option(_ value: String, selected: Bool) -> String {
        "<option value=\"\(Markup.escape(value, quotes: ["\""]))\"\(selected ? " selected" : "")>\(Markup.escape(value))</option>"
    }

    /// `id` as one path segment.
    static func path(_ id: String) -> String {
        id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#")))
            ?? id
    }

    static func count(_ value: Int) -> String { value.formatted() }

    static func percent(_ value: Double?) -> String {
        value.map { String(format: "%.2f%%", $0 * 100) } ?? "—"
    }

    static func signed(_ value: Double) -> String {
        String(format: "%+.1f%%", value * 100)
    }

    static func document(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(Markup.escape(title)) · Experiment notebook</title>
        <style>
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:1rem 1.25rem;color:#1f2328}
        h1{font-size:1.5rem;margin:.2rem 0 .6rem}h2{font-size:1.15rem;margin-top:1.8rem}
        table{border-collapse:collapse;width:100%;margin:.6rem 0}th,td{border-bottom:1px solid #e1e4e8;padding:.4rem .55rem;text-align:left;vertical-align:top}
        th{font-weight:600;background:#f6f8fa}td.name{min-width:16rem}.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .muted{color:#57606a}.win{color:#1a7f37;font-weight:600}.loss{color:#cf222e;font-weight:600}
        form{display:flex;gap:1rem;align-items:center;background:#f6f8fa;padding:.6rem .8rem;border-radius:6px}
        a{color:#0969da}figure{margin:.8rem 0}svg{max-width:100%;height:auto}
        header{border-bottom:1px solid #e1e4e8;margin-bottom:1rem;color:#57606a;font-size:.85rem}
        </style></head>
        <body><header>Growth team · Experiment notebook</header>
        <h1>\(Markup.escape(title))</h1>
        \(body)
        </body></html>
        """
    }
}
