public import AlmanacCore
public import Catalog
public import Foundation
import Logging
public import Scheduling
public import ServiceLifecycle
public import Storage

/// A report the retirement policy proposes to retire, with the numbers behind it.
public struct RetirementCandidate: Sendable, Hashable, Codable {
    public var id: String
    public var title: String
    public var owner: String
    public var status: ReportStatus
    /// Views in the policy's window (`in_last`).
    public var viewsInWindow: Int
    public var views30: Int
    public var views90: Int
    /// Days since the portal first saw the report.
    public var ageDays: Int
    /// When the review first found it a candidate (this time round); `nil` until it has run.
    public var flaggedAt: Date?
    /// When it will be deprecated automatically, if the policy does that and it is still active.
    public var autoDeprecateOn: Date?
}

/// A report its owners chose to keep, off the candidates until `until`.
public struct KeptReport: Sendable, Hashable, Codable {
    public var id: String
    public var title: String
    public var owner: String
    public var until: CalendarDay
    public var by: String?
}

/// The policy applied to every report at one moment.
public struct RetirementReport: Sendable, Hashable, Codable {
    public var policy: RetirementPolicy
    public var candidates: [RetirementCandidate]
    public var kept: [KeptReport]
    /// How many reports were looked at.
    public var reviewed: Int
}

/// The candidate rule, on plain values: a live (active or deprecated) report the portal has
/// known for longer than `older_than`, with fewer than `fewer_than` views in `in_last`, and
/// not kept (or kept until a day that has passed).
public enum RetirementRule {
    public static func evaluate(
        catalog: Catalog, windowViews: [String: Int], totals: [String: UsageTotals],
        records: [String: CatalogItemRecord], actions: [LifecycleEvent], now: Date
    ) -> RetirementReport {
        let policy = catalog.settings.retirement
        let today = CalendarDay(now)
        let flaggedAt = openFlags(actions: actions, records: records)
        var keptUntil: [String: (CalendarDay, String?)] = [:]
        for event in actions where event.itemKind == ItemKind.report.rawValue && event.action == .kept {
            if let until = event.value.flatMap(CalendarDay.init(parsing:)) {
                keptUntil[event.itemID] = (until, event.actor)
            }
        }
        var candidates: [RetirementCandidate] = []
        var kept: [KeptReport] = []
        let live = catalog.reports.filter { $0.status.isLive }
        for report in live {
            let id = report.id.rawValue
            let key = "report/\(id)"
            guard let record = records[key] else { continue }
            let age = Int((now.timeIntervalSince(record.firstSeenAt) / 86_400).rounded(.down))
            guard now.timeIntervalSince(record.firstSeenAt) > Double(policy.olderThan.seconds) else { continue }
            let views = windowViews[key] ?? 0
            guard views < policy.fewerThan else { continue }
            if case (let until, let by)? = keptUntil[id], until >= today {
                kept.append(
                    KeptReport(id: id, title: report.title, owner: report.owner.rawValue, until: until, by: by))
                continue
            }
            let flagged = flaggedAt[id]
            let auto = policy.autoDeprecateAfter.flatMap { grace -> Date? in
                guard report.status == .active else { return nil }
                return (flagged ?? now).addingTimeInterval(Double(grace.seconds))
            }
            candidates.append(
                RetirementCandidate(
                    id: id, title: report.title, owner: report.owner.rawValue, status: report.status,
                    viewsInWindow: views, views30: totals[key]?.views30 ?? 0, views90: totals[key]?.views90 ?? 0,
                    ageDays: age, flaggedAt: flagged, autoDeprecateOn: auto))
        }
        candidates.sort { ($0.owner, $0.viewsInWindow, $0.id) < ($1.owner, $1.viewsInWindow, $1.id) }
        return RetirementReport(policy: policy, candidates: candidates, kept: kept, reviewed: live.count)
    }

    /// Reports flagged by the review and not since unflagged, kept, restored or activated, with
    /// when they were flagged. A flag older than a change of the report's status in its file
    /// is void: the owners decided in git.
    public static func openFlags(actions: [LifecycleEvent], records: [String: CatalogItemRecord]) -> [String: Date] {
        var flaggedAt: [String: Date] = [:]
        for event in actions where event.itemKind == ItemKind.report.rawValue {
            switch event.action {
            case .flagged:
                let mark = records["report/\(event.itemID)"]?.declaredMarks[LifecycleLedger.Field.status.rawValue] ?? 0
                if (event.id ?? .max) > mark { flaggedAt[event.itemID] = flaggedAt[event.itemID] ?? event.at }
            case .unflagged, .kept, .restored, .activated: flaggedAt[event.itemID] = nil
            default: break
            }
        }
        return flaggedAt
    }
}

/// Runs the retirement policy over the state store: lists candidates, and (in the portal,
/// hourly) records when a report becomes or stops being one and deprecates those nobody kept
/// within the grace period.
public struct RetirementReviewer: Sendable {
    public let lifecycle: LifecycleService

    public init(lifecycle: LifecycleService) { self.lifecycle = lifecycle }

    /// The candidates now, without recording anything.
    public func report() async throws -> RetirementReport {
        let state = lifecycle.state
        let now = lifecycle.clock.date
        let catalog = lifecycle.catalog.current
        let window = UsageDay.last(max(1, catalog.settings.retirement.window.seconds / 86_400), endingOn: now)
        let kind = ItemKind.report.rawValue
        // The rule needs one figure per report; the 30- and 90-day figures shown beside a candidate
        // are read for the candidates alone.
        let views = try await state.viewTotals(kind: kind, id: nil, in: [window]).mapValues { $0[0] }
        let records = try await state.catalogItemRecords(kind: kind)
        let actions = try await state.lifecycleActions()
        var report = RetirementRule.evaluate(
            catalog: catalog, windowViews: views, totals: [:],
            records: Dictionary(records.map { ("\($0.kind)/\($0.id)", $0) }, uniquingKeysWith: { first, _ in first }),
            actions: actions, now: now)
        let display = [UsageDay.last(30, endingOn: now), UsageDay.last(90, endingOn: now)]
        for index in report.candidates.indices where views["\(kind)/\(report.candidates[index].id)"] != nil {
            let sums = try await state.viewTotals(kind: kind, id: report.candidates[index].id, in: display)
            let figures = sums.values.first ?? [0, 0]
            report.candidates[index].views30 = figures[0]
            report.candidates[index].views90 = figures[1]
        }
        return report
    }

    /// What one review did.
    public struct Outcome: Sendable, Equatable {
        public var flagged: [String] = []
        public var unflagged: [String] = []
        public var deprecated: [String] = []

        public init(flagged: [String] = [], unflagged: [String] = [], deprecated: [String] = []) {
            self.flagged = flagged
            self.unflagged = unflagged
            self.deprecated = deprecated
        }
    }

    /// Flags new candidates, unflags reports that are no longer candidates, and deprecates
    /// candidates past the grace period (when the policy says so).
    @discardableResult
    public func review() async throws -> Outcome {
        let state = lifecycle.state
        let now = lifecycle.clock.date
        let catalog = lifecycle.catalog.current
        let report = try await report()
        let actions = try await state.lifecycleActions()
        let records = try await state.catalogItemRecords(kind: ItemKind.report.rawValue)
        let open = Set(
            RetirementRule.openFlags(
                actions: actions,
                records: Dictionary(
                    records.map { ("\($0.kind)/\($0.id)", $0) }, uniquingKeysWith: { first, _ in first })
            ).keys)
        var outcome = Outcome()
        let policy = catalog.settings.retirement
        let rule = "fewer than \(policy.fewerThan) views in the last \(policy.window)"
        for candidate in report.candidates where !open.contains(candidate.id) {
            _ = try await state.appendLifecycleEvent(
                LifecycleEvent(
                    itemKind: ItemKind.report.rawValue, itemID: candidate.id, action: .flagged, title: candidate.title,
                    detail: "\(rule): \(candidate.viewsInWindow)", catalogVersion: catalog.version, at: now))
            outcome.flagged.append(candidate.id)
        }
        let stillCandidates = Set(report.candidates.map(\.id))
        // Reports deleted from the catalog keep their last history entry (their tombstone says "removed").
        for id in open.sorted() where !stillCandidates.contains(id) && catalog.report(ReportID(id)) != nil {
            let title = catalog.report(ReportID(id))?.title ?? id
            let kept = report.kept.contains { $0.id == id }
            if kept { continue }
            _ = try await state.appendLifecycleEvent(
                LifecycleEvent(
                    itemKind: ItemKind.report.rawValue, itemID: id, action: .unflagged, title: title,
                    detail: "no longer a retirement candidate", catalogVersion: catalog.version, at: now))
            outcome.unflagged.append(id)
        }
        if let grace = policy.autoDeprecateAfter {
            for candidate in report.candidates where candidate.status == .active {
                guard let flagged = candidate.flaggedAt, now >= flagged.addingTimeInterval(Double(grace.seconds))
                else { continue }
                _ = try await state.appendLifecycleEvent(
                    LifecycleEvent(
                        itemKind: ItemKind.report.rawValue, itemID: candidate.id, action: .deprecated,
                        title: candidate.title,
                        detail:
                            "Deprecated automatically: \(rule) (\(candidate.viewsInWindow)), and nobody kept it within \(grace) of it being flagged.",
                        catalogVersion: catalog.version, at: now))
                outcome.deprecated.append(candidate.id)
            }
        }
        if !outcome.deprecated.isEmpty { try await lifecycle.reloadOverlay() }
        if outcome != Outcome() {
            lifecycle.logger.info(
                "retirement review",
                metadata: [
                    "flagged": "\(outcome.flagged)", "unflagged": "\(outcome.unflagged)",
                    "deprecated": "\(outcome.deprecated)",
                ])
        }
        return outcome
    }
}

extension RetirementReviewer {
    /// The review's job id in the scheduler.
    public static let jobID = "lifecycle/retirement-review"

    /// The review as a job of the portal's ``JobScheduler``: hourly (at the top of the hour, in
    /// the catalog's time zone), claimed once per hour across instances, so two portals never
    /// flag a report twice. A portal that starts runs the hour's review at once unless another
    /// instance already has.
    public static func job(lifecycle: LifecycleService, startingAt start: Date) -> ScheduledJob {
        let zone = TimeZone(identifier: lifecycle.catalog.current.settings.timezone) ?? .gmt
        // NB: "0 * * * *" always parses; the force is checked by the scheduler's tests.
        let hourly = try! CronSchedule(parsing: "0 * * * *")
        return ScheduledJob(
            id: jobID, schedule: hourly, timeZone: zone, since: start.addingTimeInterval(-3600), window: 3600
        ) { _, _ in
            let outcome = try await RetirementReviewer(lifecycle: lifecycle).review()
            return
                "flagged \(outcome.flagged.count), unflagged \(outcome.unflagged.count), deprecated \(outcome.deprecated.count)"
        }
    }
}

/// Keeps a portal's overlay current: actions taken by the CLI or another instance show up
/// within `pollInterval`. (The retirement review is a job of the scheduler:
/// ``RetirementReviewer/job(lifecycle:startingAt:)``.)
public struct LifecycleWatcher: Service {
    public let lifecycle: LifecycleService
    public let pollInterval: Duration
    /// Paces the polls: the lifecycle service's clock.
    public var clock: any WallClock { lifecycle.clock }
    /// Opened when the state store is migrated; nothing is read before.
    public let ready: Gate?

    public init(lifecycle: LifecycleService, pollInterval: Duration = .seconds(2), ready: Gate? = nil) {
        self.lifecycle = lifecycle
        self.pollInterval = pollInterval
        self.ready = ready
    }

    public func run() async throws {
        var ticker = Ticker(every: pollInterval, on: clock)
        await ready?.wait()
        if let ready, !ready.isOpen { return }  // stopped before the state store was ready
        var seen: Int64 = -1
        repeat {
            do {
                let latest = try await lifecycle.state.latestLifecycleEventID()
                if latest != seen {
                    seen = latest
                    try await lifecycle.reloadOverlay()
                }
            } catch {
                lifecycle.logger.error("lifecycle watcher", metadata: ["error": "\(error)"])
            }
        } while await ticker.tick()
    }
}
