import AlmanacCore
public import Catalog
import Foundation
public import Storage

/// Folds the state store's lifecycle actions into the overlay the portal serves.
///
/// Actions apply in the order they were taken, field by field (status with its reason and
/// replacement; owner; certification). When a file changes a field, the file speaks for that
/// field from then on: the actions taken before the change give way to it. Except when the
/// file only caught up with an action (`almanac lifecycle export --write`, committed and
/// deployed later): then the actions up to the one whose value the file now says give way,
/// and any taken after that one still apply, so nothing decided in the portal is lost while
/// an export is on its way through git. Entries that only repeat what the file says are
/// dropped, so the overlay is empty when git and the portal agree.
public enum LifecycleLedger {
    /// The lifecycle fields, as the state store names them.
    public enum Field: String, CaseIterable, Sendable {
        case status, owner, certified
    }

    /// The field an action sets, and the value it sets it to (as the store's text).
    static func effect(of event: LifecycleEvent) -> (Field, String)? {
        switch event.action {
        case .activated, .restored:
            (.status, statusText(CatalogOverlay.StatusChange(status: .active)))
        case .deprecated:
            (.status, statusText(.init(status: .deprecated, reason: event.detail, replacement: event.replacement)))
        case .retired:
            (.status, statusText(.init(status: .retired, reason: event.detail, replacement: event.replacement)))
        case .ownershipTransferred: event.value.map { (.owner, $0) }
        case .certified: (.certified, "true")
        case .uncertified: (.certified, "false")
        case .added, .changed, .removed, .kept, .flagged, .unflagged: nil
        }
    }

    static func statusText(_ change: CatalogOverlay.StatusChange) -> String {
        [change.status.rawValue, change.reason ?? "", change.replacement ?? ""].joined(separator: "\u{1F}")
    }

    public static func overlay(
        actions: [LifecycleEvent], records: [CatalogItemRecord], declared catalog: Catalog
    ) -> CatalogOverlay {
        let marks = Dictionary(
            records.map { ("\($0.kind)/\($0.id)", $0.declaredMarks) }, uniquingKeysWith: { first, _ in first })
        var perItem: [ItemKey: [LifecycleEvent]] = [:]
        for event in actions.sorted(by: { ($0.id ?? 0) < ($1.id ?? 0) }) {
            guard let kind = ItemKind(rawValue: event.itemKind) else { continue }
            perItem[ItemKey(kind, event.itemID), default: []].append(event)
        }
        var entries: [ItemKey: CatalogOverlay.Entry] = [:]
        for (key, events) in perItem {
            guard let declared = declared(key, in: catalog) else { continue }
            let declaredFields = fields(declared)
            var entry = CatalogOverlay.Entry()
            for field in Field.allCases {
                let changes = events.compactMap { event in
                    effect(of: event).flatMap { $0.0 == field ? (event, $0.1) : nil }
                }
                guard !changes.isEmpty else { continue }
                // The file changed this field after the actions up to `mark` were taken.
                let mark = marks["\(key.kind.rawValue)/\(key.id)"]?[field.rawValue] ?? 0
                let before = changes.filter { ($0.0.id ?? 0) <= mark }
                let caughtUp = before.last { $0.1 == declaredFields[field.rawValue] }
                let cutoff = caughtUp.flatMap { $0.0.id } ?? mark
                guard let last = changes.last(where: { ($0.0.id ?? 0) > cutoff })?.0 else { continue }
                switch field {
                case .status:
                    let status: ReportStatus =
                        switch last.action {
                        case .deprecated: .deprecated
                        case .retired: .retired
                        default: .active
                        }
                    let change =
                        status == .active
                        ? CatalogOverlay.StatusChange(status: .active)
                        : CatalogOverlay.StatusChange(
                            status: status, reason: last.detail, replacement: last.replacement)
                    if change != declared.status { entry.status = change }
                case .owner:
                    let owner = last.value.map { TeamID($0) }
                    if owner != declared.owner { entry.owner = owner }
                case .certified:
                    let certified = last.action == .certified
                    if certified != declared.certified { entry.certified = certified }
                }
            }
            entries[key] = entry
        }
        return CatalogOverlay(entries: entries)
    }

    /// An entry's fields as the store's text (``CatalogItemState/declared``).
    static func fields(_ entry: CatalogOverlay.Entry) -> [String: String] {
        var fields: [String: String] = [:]
        if let status = entry.status { fields[Field.status.rawValue] = statusText(status) }
        if let owner = entry.owner { fields[Field.owner.rawValue] = owner.rawValue }
        if let certified = entry.certified { fields[Field.certified.rawValue] = certified ? "true" : "false" }
        return fields
    }

    /// The lifecycle fields an object's file declares, in overlay form; `nil` when the
    /// catalog has no such object (or it has no lifecycle).
    public static func declared(_ key: ItemKey, in catalog: Catalog) -> CatalogOverlay.Entry? {
        switch key.kind {
        case .report:
            guard let report = catalog.report(ReportID(key.id)) else { return nil }
            return CatalogOverlay.Entry(
                status: CatalogOverlay.StatusChange(
                    status: report.status, reason: report.status == .active ? nil : report.statusReason,
                    replacement: report.status == .active ? nil : report.replacedBy?.rawValue),
                owner: report.owner)
        case .metric:
            guard let metric = catalog.metric(MetricID(key.id)) else { return nil }
            return CatalogOverlay.Entry(
                status: CatalogOverlay.StatusChange(
                    status: metric.status, reason: metric.status == .active ? nil : metric.statusReason,
                    replacement: metric.status == .active ? nil : metric.replacedBy?.rawValue),
                owner: metric.owner, certified: metric.certified)
        case .template:
            guard let template = catalog.template(TemplateID(key.id)) else { return nil }
            return CatalogOverlay.Entry(owner: template.owner)
        default:
            return nil
        }
    }

    /// The declared lifecycle fields by name, for the state store to notice when a file
    /// changes one of them (``CatalogItemState/declared``).
    public static func declaredFields(_ key: ItemKey, in catalog: Catalog) -> [String: String] {
        declared(key, in: catalog).map(fields) ?? [:]
    }
}

extension LifecycleLedger {
    /// `declared` with the state store's lifecycle actions applied: what the portal serves, for
    /// commands that read the catalog without a running portal (`generate`, `search`).
    public static func effective(_ declared: Catalog, state: any StateStore) async throws -> Catalog {
        let actions = try await state.lifecycleActions()
        guard !actions.isEmpty else { return declared }
        let records = try await state.catalogItemRecords(kind: nil)
        return declared.applying(overlay(actions: actions, records: records, declared: declared))
    }
}

extension LifecycleLedger {
    /// What the state store remembers of each object of `catalog` between loads: its file's
    /// digest, title, owner and declared lifecycle fields.
    public static func itemStates(_ catalog: Catalog) -> [CatalogItemState] {
        var items: [CatalogItemState] = []
        func add(_ kind: ItemKind, _ id: String, _ title: String, _ owner: String?, _ access: [[String]]) {
            let key = ItemKey(kind, id)
            items.append(
                CatalogItemState(
                    kind: kind.rawValue, id: id, digest: catalog.itemDigests[key] ?? "", title: title, owner: owner,
                    declared: declaredFields(key, in: catalog), access: access.filter { !$0.isEmpty }))
        }
        // The same rules as CatalogView: a metric also needs its source, an external report
        // its backend, an entity its template.
        for team in catalog.teams { add(.team, team.id.rawValue, team.name, nil, [team.access]) }
        for source in catalog.sources {
            add(.source, source.id.rawValue, source.name, source.owner.rawValue, [source.access])
        }
        for metric in catalog.metrics {
            add(
                .metric, metric.id.rawValue, metric.name, metric.owner.rawValue,
                [metric.access, catalog.source(metric.source)?.access ?? []])
        }
        for report in catalog.reports {
            add(
                .report, report.id.rawValue, report.title, report.owner.rawValue,
                [report.access, report.backend.flatMap { catalog.backend($0)?.access } ?? []])
        }
        for template in catalog.templates {
            add(.template, template.id.rawValue, template.title, template.owner.rawValue, [template.access])
        }
        for entity in catalog.entities {
            add(
                .entity, entity.id.rawValue, entity.name, nil,
                [entity.access, catalog.template(entity.template)?.access ?? []])
        }
        for annotation in catalog.annotations {
            add(.annotation, annotation.id.rawValue, annotation.title, nil, [annotation.access])
        }
        for subscription in catalog.subscriptions {
            add(
                .subscription, subscription.id.rawValue, subscription.title, subscription.owner.rawValue,
                [subscription.access])
        }
        for trigger in catalog.triggers {
            add(.trigger, trigger.id.rawValue, trigger.title, trigger.owner.rawValue, [trigger.access])
        }
        for backend in catalog.backends {
            add(.backend, backend.id.rawValue, backend.title, backend.owner.rawValue, [backend.access])
        }
        return items
    }
}
