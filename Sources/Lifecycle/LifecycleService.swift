public import AlmanacCore
public import Catalog
public import Foundation
public import Logging
public import Storage

/// What an owner can do to a report, metric or template.
public enum LifecycleAction: String, CaseIterable, Sendable, Codable {
    /// A draft goes live.
    case activate
    /// Still served, with a warning, a reason and perhaps a replacement.
    case deprecate
    /// No longer generated, listed or searchable; its page becomes a tombstone.
    case retire
    /// Back to active from deprecated or retired.
    case restore
    /// Another team owns it from now on.
    case transfer
    /// Metrics: vouched for by their owners, or no longer.
    case certify, uncertify
    /// A retirement candidate stays; it leaves the candidates for the policy's `keep_for`.
    case keep

    /// The kinds of object the action applies to.
    public var kinds: [ItemKind] {
        switch self {
        case .activate, .deprecate, .retire, .restore: [.report, .metric]
        case .transfer: [.report, .metric, .template]
        case .certify, .uncertify: [.metric]
        case .keep: [.report]
        }
    }

    var event: LifecycleEvent.Action {
        switch self {
        case .activate: .activated
        case .deprecate: .deprecated
        case .retire: .retired
        case .restore: .restored
        case .transfer: .ownershipTransferred
        case .certify: .certified
        case .uncertify: .uncertified
        case .keep: .kept
        }
    }
}

/// A lifecycle action someone asked for.
public struct LifecycleRequest: Sendable {
    public var action: LifecycleAction
    public var kind: ItemKind
    public var id: String
    /// Why (required to deprecate or retire).
    public var reason: String?
    /// The id of an object of the same kind to use instead.
    public var replacement: String?
    /// The new owner (transfer).
    public var team: String?

    public init(
        action: LifecycleAction, kind: ItemKind, id: String, reason: String? = nil, replacement: String? = nil,
        team: String? = nil
    ) {
        self.action = action
        self.kind = kind
        self.id = id
        self.reason = reason
        self.replacement = replacement
        self.team = team
    }
}

/// Why an action was refused; each case maps to an HTTP status and names the field at fault.
public enum LifecycleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No such object, or the actor may not see it (the same answer, so nothing leaks).
    case notFound(String)
    /// The actor is neither in the owning team nor an admin.
    case forbidden(String)
    /// The action does not apply in the object's current state.
    case conflict(String)
    /// A field of the request is missing or wrong.
    case invalid(field: String, String)

    public var description: String {
        switch self {
        case .notFound(let text), .forbidden(let text), .conflict(let text): text
        case .invalid(let field, let text): "'\(field)': \(text)"
        }
    }
}

/// Takes lifecycle actions: checks who may act and whether the action applies, appends the
/// event to the state store and serves the new overlay.
public struct LifecycleService: Sendable {
    public let catalog: CatalogStore
    public let state: any StateStore
    public let logger: Logger
    public let clock: any WallClock

    public init(
        catalog: CatalogStore, state: any StateStore, logger: Logger,
        clock: any WallClock = SystemClock()
    ) {
        self.catalog = catalog
        self.state = state
        self.logger = logger
        self.clock = clock
    }

    /// Re-reads every action and applies the overlay; returns whether what is served changed.
    @discardableResult
    public func reloadOverlay() async throws -> Bool {
        let ticket = catalog.overlayTicket()
        let actions = try await state.lifecycleActions()
        let records = try await state.catalogItemRecords(kind: nil)
        let overlay = LifecycleLedger.overlay(actions: actions, records: records, declared: catalog.declared)
        return catalog.setOverlay(overlay, ticket: ticket)
    }

    /// Whether `viewer` may act on objects owned by `owner`: its members and admins may.
    public static func mayAct(_ viewer: Viewer, owner: TeamID, in catalog: Catalog) -> Bool {
        viewer.isAdmin || (catalog.team(owner)?.includes(viewer) ?? false)
    }

    /// Checks and records `request` by `actor`; the overlay is served before this returns.
    public func perform(_ request: LifecycleRequest, by actor: Viewer) async throws -> LifecycleEvent {
        let current = catalog.current
        let event = try Self.validate(request, by: actor, in: current, now: clock.date)
        let stored = try await state.appendLifecycleEvent(event)
        try await reloadOverlay()
        logger.info(
            "lifecycle action",
            metadata: [
                "action": "\(request.action.rawValue)", "item": "\(request.kind.rawValue)/\(request.id)",
                "actor": "\(actor.displayName)",
            ])
        return stored
    }

    /// The event `request` would record, or why it may not be taken. Pure, so every
    /// transition and permission can be tested without a store.
    public static func validate(
        _ request: LifecycleRequest, by actor: Viewer, in catalog: Catalog, now: Date
    ) throws(LifecycleError) -> LifecycleEvent {
        let view = CatalogView(catalog, viewer: actor)
        let action = request.action
        let what = "\(request.kind.rawValue) '\(request.id)'"
        guard action.kinds.contains(request.kind) else {
            throw .invalid(
                field: "action",
                "'\(action.rawValue)' applies to \(action.kinds.map(\.rawValue).joined(separator: " and ")), not to a \(request.kind.rawValue)"
            )
        }
        let title: String
        let owner: TeamID
        var status: ReportStatus?
        var certified: Bool?
        switch request.kind {
        case .report:
            guard let report = view.report(ReportID(request.id)) else { throw .notFound("there is no \(what)") }
            (title, owner, status) = (report.title, report.owner, report.status)
        case .metric:
            guard let metric = view.metric(MetricID(request.id)) else { throw .notFound("there is no \(what)") }
            (title, owner, status, certified) = (metric.name, metric.owner, metric.status, metric.certified)
        case .template:
            guard let template = view.template(TemplateID(request.id)) else { throw .notFound("there is no \(what)") }
            (title, owner) = (template.title, template.owner)
        default:
            throw .invalid(field: "kind", "only reports, metrics and templates have a lifecycle")
        }
        guard mayAct(actor, owner: owner, in: catalog) else {
            let team = catalog.team(owner)?.name ?? owner.rawValue
            throw .forbidden("only members of \(team) (the owners of \(what)) and admins may \(action.rawValue) it")
        }
        let reason = request.reason?.trimmingCharacters(in: .whitespacesAndNewlines).nilIfEmpty
        if let reason, reason.count > 500 { throw .invalid(field: "reason", "longer than 500 characters") }
        var event = LifecycleEvent(
            itemKind: request.kind.rawValue, itemID: request.id, action: action.event, title: title,
            actor: actor.user ?? "local developer", detail: reason, catalogVersion: catalog.version, at: now)

        func requireStatus(_ allowed: Set<ReportStatus>, _ verb: String) throws(LifecycleError) {
            guard let status, allowed.contains(status) else {
                throw .conflict("\(what) is \(status?.rawValue ?? "not in a lifecycle"); only \(verb)")
            }
        }
        switch action {
        case .activate:
            try requireStatus([.draft], "a draft can be activated")
        case .deprecate, .retire:
            if action == .deprecate {
                try requireStatus([.active, .draft], "an active or draft one can be deprecated")
            } else {
                try requireStatus([.active, .draft, .deprecated], "one that is not retired yet can be retired")
            }
            guard reason != nil else {
                throw .invalid(field: "reason", "say why it is \(action == .deprecate ? "deprecated" : "retired")")
            }
            let replacement = request.replacement?.trimmingCharacters(in: .whitespaces).nilIfEmpty
            if let replacement {
                guard replacement != request.id else {
                    throw .invalid(field: "replacement", "\(what) cannot replace itself")
                }
                let live: Bool? =
                    request.kind == .report
                    ? view.report(ReportID(replacement)).map { $0.status.isLive }
                    : view.metric(MetricID(replacement)).map { $0.status.isLive }
                guard let live else {
                    throw .invalid(field: "replacement", "there is no \(request.kind.rawValue) '\(replacement)'")
                }
                guard live else {
                    throw .invalid(
                        field: "replacement", "\(request.kind.rawValue) '\(replacement)' is not active itself")
                }
                event.replacement = replacement
            }
            if action == .retire, request.kind == .metric, event.replacement == nil {
                let users = lineage(of: MetricID(request.id), in: view)
                if !users.visible.isEmpty || users.hidden > 0 {
                    throw .invalid(
                        field: "replacement",
                        "metric '\(request.id)' is used by \(describe(users)); name the metric that replaces it")
                }
            }
        case .restore:
            try requireStatus([.deprecated, .retired], "a deprecated or retired one can be restored")
        case .transfer:
            guard let team = request.team?.trimmingCharacters(in: .whitespaces).nilIfEmpty else {
                throw .invalid(field: "team", "name the team that takes it over")
            }
            guard let target = view.team(TeamID(team)) else {
                throw .invalid(field: "team", "there is no team '\(team)' that you can see")
            }
            guard target.id != owner else { throw .conflict("\(what) is already owned by \(target.name)") }
            event.value = target.id.rawValue
            event.detail = reason ?? "from \(owner.rawValue) to \(target.id.rawValue)"
        case .certify, .uncertify:
            try requireStatus(
                [.active, .draft, .deprecated],
                "a metric that is not retired can be \(action == .certify ? "certified" : "uncertified")")
            if certified == (action == .certify) {
                throw .conflict("\(what) is already \(action == .certify ? "certified" : "not certified")")
            }
        case .keep:
            try requireStatus([.active, .deprecated], "a live report can be kept")
            let until = now.addingTimeInterval(Double(catalog.settings.retirement.keepFor.seconds))
            event.value = CalendarDay(until).description
        }
        return event
    }

    /// Live reports, templates and ratio metrics that use `metric`: what retiring it would break.
    public static func lineage(of metric: MetricID, in catalog: Catalog) -> [String] {
        lineage(of: metric, in: CatalogView(catalog, viewer: Viewer(user: nil, isAdmin: true))).visible
    }

    /// What uses `metric` that `view`'s viewer may see, named, and how many more they may not.
    public static func lineage(of metric: MetricID, in view: CatalogView) -> (visible: [String], hidden: Int) {
        let catalog = view.catalog
        let reports = catalog.reports.filter { $0.status.isLive && $0.metrics.contains(metric) }
        let templates = catalog.templates.filter { $0.metrics.contains(metric) }
        let ratios = catalog.metrics.filter { $0.status.isLive && ($0.numerator == metric || $0.denominator == metric) }
        let visible =
            reports.filter(view.canSee).map { "report '\($0.id)'" }
            + templates.filter(view.canSee).map { "template '\($0.id)'" }
            + ratios.filter(view.canSee).map { "metric '\($0.id)'" }
        return (visible, reports.count + templates.count + ratios.count - visible.count)
    }

    /// "report 'a', template 'b' and 2 more you cannot see".
    static func describe(_ lineage: (visible: [String], hidden: Int)) -> String {
        let hidden = lineage.hidden == 0 ? [] : ["\(lineage.hidden) more you cannot see"]
        return (lineage.visible + hidden).joined(separator: ", ")
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}
