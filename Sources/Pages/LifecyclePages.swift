public import AlmanacCore
public import Catalog
public import Foundation
public import Lifecycle
import Rendering

// MARK: - Models

/// An item's usage on its page: the windows, the trend and a 90-day sparkline.
public struct UsageModel: Encodable, Sendable {
    public struct Row: Encodable, Sendable {
        public var label: String
        public var views: Int
        public var viewers: Int
        /// The numbers as shown ("2,091").
        public var viewsText: String
        public var viewersText: String

        init(label: String, views: Int, viewers: Int) {
            (self.label, self.views, self.viewers) = (label, views, viewers)
            (viewsText, viewersText) = (views.formatted(), viewers.formatted())
        }
    }
    public var rows: [Row]
    /// "1,204 views by 56 people in the last 30 days".
    public var summary: String
    /// "▲ 23% on the 30 days before"; `nil` when there is nothing to compare with.
    public var trendText: String?
    /// `up`, `down` or `flat`, for the colour.
    public var trendDirection: String
    /// An inline SVG of views per day (numbers only, built here, so it is safe to embed).
    public var sparklineSVG: String
    public var daily: [Int]
}

public struct OptionModel: Encodable, Sendable {
    public var value: String
    public var label: String
}

/// The lifecycle forms shown to an item's owners and to admins.
public struct LifecycleControlsModel: Encodable, Sendable {
    public var kind: String
    public var id: String
    /// Where the forms post (`/lifecycle/report/weekly-kpis`).
    public var postURL: String
    public var canActivate: Bool
    public var canDeprecate: Bool
    public var canRetire: Bool
    public var canRestore: Bool
    public var canTransfer: Bool
    public var canCertify: Bool
    public var canUncertify: Bool
    public var canKeep: Bool
    /// Teams it can be handed to.
    public var teams: [OptionModel]
    /// Live objects of the same kind that could replace it.
    public var replacements: [OptionModel]
    /// Metrics: what uses it (retiring it then needs a replacement): what the viewer may see by
    /// name, the rest as a count.
    public var usedBy: [String]
    public var keepFor: String
}

/// A retired (or removed) object's page: what it was, why it went, what to use instead.
public struct TombstoneModel: Encodable, Sendable {
    /// Always 410: the object existed and is gone on purpose.
    public var status = 410
    public var kind: String
    public var kindLabel: String
    public var id: String
    public var title: String
    /// `retired` or `removed`.
    public var state: String
    public var heading: String
    public var reason: String?
    public var replacement: LinkModel?
    public var when: String?
    public var by: String?
    public var owner: TeamLink?
    public var controls: LifecycleControlsModel?
}

public struct CandidateRow: Encodable, Sendable {
    public var id: String
    public var title: String
    public var url: String
    public var status: String
    public var viewsInWindow: Int
    public var views30: Int
    public var views90: Int
    public var ageText: String
    public var flaggedText: String?
    public var autoDeprecateText: String?
    public var postURL: String
}

public struct MyReportRow: Encodable, Sendable {
    public var id: String
    public var title: String
    public var url: String
    public var status: String
    public var views7: Int
    public var views30: Int
    public var views90: Int
    public var trendText: String?
    public var trendDirection: String
    public var candidate: Bool
}

public struct KeptRow: Encodable, Sendable {
    public var title: String
    public var url: String
    public var until: String
    public var by: String?
}

public struct MyTeamModel: Encodable, Sendable {
    public var id: String
    public var name: String
    public var url: String
    public var candidates: [CandidateRow]
    public var reports: [MyReportRow]
    public var kept: [KeptRow]
}

/// "My reports": each of the viewer's teams with its retirement candidates and report usage.
public struct MyReportsModel: Encodable, Sendable {
    public var heading: String
    /// The policy in words.
    public var policyText: String
    public var teams: [MyTeamModel]
    /// Other teams an admin can look at.
    public var teamChoices: [Facet]
    /// Why the page is empty, when it is.
    public var emptyText: String?
}

// MARK: - Building

extension PageBuilder {
    /// Whether an item is shown in lists (home, glossary): visible and not retired.
    func isListed(_ key: ItemKey) -> Bool {
        switch key.kind {
        case .report: view.report(ReportID(key.id))?.status.isLive ?? false
        case .metric: view.metric(MetricID(key.id))?.status.isLive ?? false
        default: canSee(kind: key.kind.rawValue, id: key.id)
        }
    }

    public func usageModel(_ usage: ItemUsage) -> UsageModel {
        let totals = usage.totals
        let (trendText, direction) = Self.trend(totals)
        return UsageModel(
            rows: [
                .init(label: "Last 7 days", views: totals.views7, viewers: usage.viewers7),
                .init(label: "Last 30 days", views: totals.views30, viewers: usage.viewers30),
                .init(label: "Last 90 days", views: totals.views90, viewers: usage.viewers90),
            ],
            summary:
                "\(Formatter.count(totals.views30, "view")) by \(Formatter.count(usage.viewers30, "person", "people")) in the last 30 days",
            trendText: trendText, trendDirection: direction,
            sparklineSVG: Self.sparkline(usage.daily, firstDay: usage.firstDay), daily: usage.daily)
    }

    static func trend(_ totals: UsageTotals) -> (String?, String) {
        guard let percent = totals.trend30 else {
            return (
                totals.views30 > 0 ? "new: no views in the 30 days before" : nil, totals.views30 > 0 ? "up" : "flat"
            )
        }
        let rounded = Int(percent.rounded())
        if rounded == 0 { return ("level with the 30 days before", "flat") }
        return (
            "\(rounded > 0 ? "▲" : "▼") \(abs(rounded))% on the 30 days before (\(totals.previous30.formatted()))",
            rounded > 0 ? "up" : "down"
        )
    }

    /// Views per day as bars, 3 px a day, scaled to the busiest day.
    static func sparkline(_ daily: [Int], firstDay: Date) -> String {
        let width = daily.count * 3
        let height = 32
        let peak = max(1, daily.max() ?? 0)
        var bars = ""
        for (index, views) in daily.enumerated() where views > 0 {
            let h = max(1, Int((Double(views) / Double(peak) * Double(height - 2)).rounded()))
            bars += "<rect x=\"\(index * 3)\" y=\"\(height - h)\" width=\"2\" height=\"\(h)\"/>"
        }
        let total = daily.reduce(0, +)
        let label = "\(total.formatted()) views in the last \(daily.count) days; busiest day \(peak.formatted())"
        return
            "<svg class=\"sparkline\" role=\"img\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" aria-label=\"\(label)\"><title>\(label)</title>"
            + "<line x1=\"0\" y1=\"\(height - 0)\" x2=\"\(width)\" y2=\"\(height)\" class=\"baseline\"/>\(bars)</svg>"
    }

    /// The forms the viewer may use on `key`, or `nil` when they may not act on it.
    public func lifecycleControls(_ key: ItemKey) -> LifecycleControlsModel? {
        let owner: TeamID
        var status: ReportStatus = .active
        var certified = false
        var replacements: [OptionModel] = []
        var usedBy: (visible: [String], hidden: Int) = ([], 0)
        switch key.kind {
        case .report:
            guard let report = view.report(ReportID(key.id)) else { return nil }
            (owner, status) = (report.owner, report.status)
            replacements = view.reports.filter { $0.status.isLive && $0.id != report.id }.map {
                OptionModel(value: $0.id.rawValue, label: $0.title)
            }
        case .metric:
            guard let metric = view.metric(MetricID(key.id)) else { return nil }
            (owner, status, certified) = (metric.owner, metric.status, metric.certified)
            replacements = view.metrics.filter { $0.status.isLive && $0.id != metric.id }.map {
                OptionModel(value: $0.id.rawValue, label: $0.name)
            }
            usedBy = LifecycleService.lineage(of: metric.id, in: view)
        case .template:
            guard let template = view.template(TemplateID(key.id)) else { return nil }
            owner = template.owner
        default:
            return nil
        }
        guard LifecycleService.mayAct(view.viewer, owner: owner, in: catalog) else { return nil }
        let lifecycle = key.kind != .template
        return LifecycleControlsModel(
            kind: key.kind.rawValue, id: key.id, postURL: "/lifecycle/\(key.kind.rawValue)/\(key.id)",
            canActivate: lifecycle && status == .draft,
            canDeprecate: lifecycle && (status == .active || status == .draft),
            canRetire: lifecycle && status != .retired,
            canRestore: lifecycle && (status == .deprecated || status == .retired),
            canTransfer: true,
            canCertify: key.kind == .metric && !certified && status != .retired,
            canUncertify: key.kind == .metric && certified && status != .retired,
            canKeep: key.kind == .report && status.isLive,
            teams: view.teams.filter { $0.id != owner }.map { OptionModel(value: $0.id.rawValue, label: $0.name) },
            replacements: replacements,
            usedBy: usedBy.visible + (usedBy.hidden > 0 ? ["\(usedBy.hidden) more you cannot see"] : []),
            keepFor: catalog.settings.retirement.keepFor.description)
    }

    /// The page of a retired report or metric.
    public func tombstone(
        _ key: ItemKey, title: String, owner: TeamID?, reason: String?, replacement: String?,
        event: (at: Date, actor: String?)?
    ) -> TombstoneModel {
        var link: LinkModel?
        if let replacement {
            switch key.kind {
            case .report:
                link = view.report(ReportID(replacement)).map {
                    LinkModel(title: $0.title, url: Route.report($0.id).path)
                }
            case .metric:
                link = view.metric(MetricID(replacement)).map {
                    LinkModel(title: $0.name, url: Route.metric($0.id).path)
                }
            default: break
            }
        }
        return TombstoneModel(
            kind: key.kind.rawValue, kindLabel: key.kind.rawValue.capitalized, id: key.id, title: title,
            state: "retired", heading: "\(title) was retired", reason: reason, replacement: link,
            when: event.map { formatter.dateTime($0.at) }, by: event?.actor, owner: owner.flatMap(teamLink),
            controls: lifecycleControls(key))
    }

    /// The page of an object the catalog no longer holds. Its access rules went with it, so
    /// only admins see its title.
    public func removedTombstone(_ key: ItemKey, title: String, at: Date) -> TombstoneModel {
        let shown = view.viewer.isAdmin ? title : key.id
        return TombstoneModel(
            kind: key.kind.rawValue, kindLabel: key.kind.rawValue.capitalized, id: key.id, title: shown,
            state: "removed", heading: "\(shown) was removed from the catalog",
            reason: "Its definition was deleted from the catalog files.", replacement: nil,
            when: formatter.dateTime(at), by: nil, owner: nil, controls: nil)
    }

    /// "My reports" for `teams`, with the review's candidates and kept reports.
    public func myReports(
        teams: [Team], review: RetirementReport, choices: [Team], selected: TeamID?
    ) -> MyReportsModel {
        let policy = review.policy
        var policyText =
            "A report is proposed for retirement when it had fewer than \(Formatter.count(policy.fewerThan, "view")) in the last \(policy.window) and the portal has known it for more than \(policy.olderThan). \"Keep\" takes it off the list for \(policy.keepFor)."
        if let grace = policy.autoDeprecateAfter {
            policyText +=
                " Candidates nobody keeps are deprecated automatically \(grace) after they were first flagged."
        }
        // Only what the viewer may see is named or counted.
        let candidates = Dictionary(
            grouping: review.candidates.filter { view.report(ReportID($0.id)) != nil }, by: \.owner)
        let kept = Dictionary(grouping: review.kept.filter { view.report(ReportID($0.id)) != nil }, by: \.owner)
        let models = teams.map { team -> MyTeamModel in
            let teamCandidates = candidates[team.id.rawValue] ?? []
            let candidateIDs = Set(teamCandidates.map(\.id))
            let rows = teamCandidates.compactMap { candidate -> CandidateRow? in
                guard let report = view.report(ReportID(candidate.id)) else { return nil }
                return CandidateRow(
                    id: candidate.id, title: report.title, url: Route.report(report.id).path,
                    status: candidate.status.rawValue, viewsInWindow: candidate.viewsInWindow,
                    views30: candidate.views30, views90: candidate.views90,
                    ageText: Formatter.count(candidate.ageDays, "day"),
                    flaggedText: candidate.flaggedAt.map { "flagged \(formatter.ago($0))" },
                    autoDeprecateText: candidate.autoDeprecateOn.map {
                        "deprecated automatically on \(formatter.dateTime($0))"
                    },
                    postURL: "/lifecycle/report/\(candidate.id)")
            }
            let reports = view.reports.filter { $0.owner == team.id && $0.status != .retired }.map { report in
                let totals = usage["report/\(report.id.rawValue)"] ?? UsageTotals()
                let (trendText, direction) = Self.trend(totals)
                return MyReportRow(
                    id: report.id.rawValue, title: report.title, url: Route.report(report.id).path,
                    status: report.status.rawValue, views7: totals.views7, views30: totals.views30,
                    views90: totals.views90, trendText: trendText, trendDirection: direction,
                    candidate: candidateIDs.contains(report.id.rawValue))
            }.sorted { ($0.views30, $1.title) < ($1.views30, $0.title) }
            let keptRows = (kept[team.id.rawValue] ?? []).compactMap { item -> KeptRow? in
                guard let report = view.report(ReportID(item.id)) else { return nil }
                return KeptRow(
                    title: report.title, url: Route.report(report.id).path, until: item.until.description, by: item.by)
            }
            return MyTeamModel(
                id: team.id.rawValue, name: team.name, url: Route.team(team.id).path, candidates: rows,
                reports: reports, kept: keptRows)
        }
        return MyReportsModel(
            heading: teams.count == 1 ? "\(teams[0].name): reports and retirement" : "My reports",
            policyText: policyText, teams: models,
            teamChoices: choices.map {
                Facet(
                    label: $0.name, count: (candidates[$0.id.rawValue] ?? []).count,
                    url: Route.myReports($0.id).path, active: $0.id == selected)
            },
            emptyText: teams.isEmpty
                ? "You are not a member of any team in the catalog. Teams list their members in Catalog/teams/; admins can pick a team above."
                : nil)
    }

    /// "used by 3 reports · 1,204 views in 30 days": how much what uses a metric is read.
    func metricUsageText(_ metric: Metric) -> String {
        let reports = view.reports(using: metric.id).filter { $0.status.isLive }
        let templates = view.templates(using: metric.id)
        let views =
            reports.reduce(0) { $0 + (usage["report/\($1.id.rawValue)"]?.views30 ?? 0) }
            + templates.reduce(0) { $0 + (usage["template/\($1.id.rawValue)"]?.views30 ?? 0) }
        let users = reports.count + templates.count
        guard users > 0 else { return "not used by any report" }
        let what = [
            reports.isEmpty ? nil : Formatter.count(reports.count, "report"),
            templates.isEmpty ? nil : Formatter.count(templates.count, "template"),
        ].compactMap { $0 }.joined(separator: " and ")
        return "used by \(what) · \(Formatter.count(views, "view")) in 30 days"
    }
}
