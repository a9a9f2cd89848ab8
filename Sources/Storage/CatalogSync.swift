import Foundation

/// What one catalog sync writes, worked out once for every store: the `catalog_items` rows to
/// insert, update and delete, and the lifecycle events it records (without ids; the store's log
/// numbers them). Each store only carries it out in its own transaction.
struct CatalogSyncPlan {
    var inserts: [CatalogItemRow] = []
    /// Known rows with a field changed, as they are to be stored (whole rows: one statement each).
    var updates: [CatalogItemRow] = []
    var deletes: [ItemKey] = []
    var events: [LifecycleEvent] = []

    /// - Parameters:
    ///   - known: the rows stored before the sync.
    ///   - mark: the newest lifecycle event's id: a field that changes now overrides (at most)
    ///     the actions taken up to it.
    init(
        known: [ItemKey: CatalogItemRow], items: [CatalogItemState], mark: Int64, catalogVersion: String,
        at date: Date
    ) {
        var seen = Set<ItemKey>()
        for item in items {
            let key = ItemKey(kind: item.kind, id: item.id)
            seen.insert(key)
            guard let previous = known[key] else {
                // A new object (or one added back) starts with what its file says.
                inserts.append(CatalogItemRow(item, at: date, mark: mark))
                events.append(
                    LifecycleEvent(
                        itemKind: item.kind, itemID: item.id, action: .added, title: item.title,
                        catalogVersion: catalogVersion, at: date))
                continue
            }
            var row = previous
            row.access = StoredJSON.encode(item.access)
            let declared = StoredJSON.encode(item.declared)
            if previous.declared != declared {
                // Fields learnt for the first time (stores from before they were kept) get no
                // mark, so no earlier action is overridden; a changed field gets one.
                var marks = previous.marks
                if let before = previous.declaredFields {
                    for field in Set(before.keys).union(item.declared.keys) where before[field] != item.declared[field]
                    {
                        marks[field] = mark
                    }
                }
                row.declared = declared
                row.declaredMarks = StoredJSON.encode(marks)
            }
            if previous.digest != item.digest {
                row.digest = item.digest
                row.title = item.title
                row.owner = item.owner
                row.changedAt = date
                events.append(
                    LifecycleEvent(
                        itemKind: item.kind, itemID: item.id, action: .changed, title: item.title,
                        catalogVersion: catalogVersion, at: date))
            }
            if row.access != previous.access || row.declared != previous.declared || row.digest != previous.digest {
                updates.append(row)
            }
        }
        for (key, previous) in known where !seen.contains(key) {
            deletes.append(key)
            events.append(
                LifecycleEvent(
                    itemKind: key.kind, itemID: key.id, action: .removed, title: previous.title,
                    catalogVersion: catalogVersion, at: date, access: previous.accessLists))
        }
    }
}
