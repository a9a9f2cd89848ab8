import AlmanacCore
public import Catalog
import Foundation
public import Storage

/// Folds the state store's lifecycle actions into the overlay the portal serves.
///
/// Actions apply in the order they were taken. An action older than the last time the
/// item's file changed its lifecycle fields (status, owner, certification) gives way to the
/// file: once `almanac lifecycle export --write` is committed, or someone edits the status in
/// git, the file speaks. Entries that only repeat what the file says are dropped, so the
/// overlay is empty when git and the portal agree.
public enum LifecycleLedger {
    public static func overlay(
        actions: [LifecycleEvent], records: [CatalogItemRecord], declared catalog: Catalog
    ) -> CatalogOverlay {
        let declaredAt = Dictionary(
            records.map { ("\($0.kind)/\($0.id)", $0.declaredAt) }, uniquingKeysWith: { first, _ in first })
        var entries: [ItemKey: CatalogOverlay.Entry] = [:]
        for event in actions.sorted(by: { ($0.id ?? 0) < ($1.id ?? 0) }) {
            guard let kind = ItemKind(rawValue: event.itemKind) else { continue }
            if let changedAt = declaredAt["\(event.itemKind)/\(event.itemID)"], event.at < changedAt { continue }
            let key = ItemKey(kind, event.itemID)
            var entry = entries[key] ?? CatalogOverlay.Entry()
            switch event.action {
            case .activated, .restored:
                entry.status = CatalogOverlay.StatusChange(status: .active)
            case .deprecated:
                entry.status = CatalogOverlay.StatusChange(
                    status: .deprecated, reason: event.detail, replacement: event.replacement)
            case .retired:
                entry.status = CatalogOverlay.StatusChange(
                    status: .retired, reason: event.detail, replacement: event.replacement)
            case .ownershipTransferred:
                entry.owner = event.value.map { TeamID($0) }
            case .certified:
                entry.certified = true
            case .uncertified:
                entry.certified = false
            case .added, .changed, .removed, .kept, .flagged, .unflagged:
                continue
            }
            entries[key] = entry
        }
        // Drop what the files already say.
        for (key, entry) in entries {
            var trimmed = entry
            let declared = Self.declared(key, in: catalog)
            if let declared {
                if trimmed.status == declared.status { trimmed.status = nil }
                if trimmed.owner == declared.owner { trimmed.owner = nil }
                if trimmed.certified == declared.certified { trimmed.certified = nil }
            }
            entries[key] = declared == nil ? nil : trimmed
        }
        return CatalogOverlay(entries: entries)
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

    /// The declared lifecycle fields as one string, for the state store to notice when a
    /// file changes them (``CatalogItemState/declared``).
    public static func declaredText(_ key: ItemKey, in catalog: Catalog) -> String {
        guard let entry = declared(key, in: catalog) else { return "" }
        return [
            entry.status.map { "status=\($0.status.rawValue)" },
            entry.status?.reason.map { "reason=\($0)" },
            entry.status?.replacement.map { "replaced_by=\($0)" },
            entry.owner.map { "owner=\($0.rawValue)" },
            entry.certified.map { "certified=\($0)" },
        ].compactMap { $0 }.joined(separator: "\n")
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
        func add(_ kind: ItemKind, _ id: String, _ title: String, _ owner: String?) {
            let key = ItemKey(kind, id)
            items.append(
                CatalogItemState(
                    kind: kind.rawValue, id: id, digest: catalog.itemDigests[key] ?? "", title: title, owner: owner,
                    declared: declaredText(key, in: catalog)))
        }
        for team in catalog.teams { add(.team, team.id.rawValue, team.name, nil) }
        for source in catalog.sources { add(.source, source.id.rawValue, source.name, source.owner.rawValue) }
        for metric in catalog.metrics { add(.metric, metric.id.rawValue, metric.name, metric.owner.rawValue) }
        for report in catalog.reports { add(.report, report.id.rawValue, report.title, report.owner.rawValue) }
        for template in catalog.templates {
            add(.template, template.id.rawValue, template.title, template.owner.rawValue)
        }
        for entity in catalog.entities { add(.entity, entity.id.rawValue, entity.name, nil) }
        for annotation in catalog.annotations { add(.annotation, annotation.id.rawValue, annotation.title, nil) }
        for subscription in catalog.subscriptions {
            add(.subscription, subscription.id.rawValue, subscription.title, subscription.owner.rawValue)
        }
        for trigger in catalog.triggers { add(.trigger, trigger.id.rawValue, trigger.title, trigger.owner.rawValue) }
        for backend in catalog.backends { add(.backend, backend.id.rawValue, backend.title, backend.owner.rawValue) }
        return items
    }
}
