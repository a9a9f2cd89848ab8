import AlmanacCore

/// Opens a state store of either backend from where it is.
public enum StateStores {
    /// Opens the store a `--state` value names: a `postgres://` (or `postgresql://`) URL, or a
    /// SQLite file (`PATH`, `sqlite://PATH`, `sqlite:PATH`). Call ``StateStore/migrate()`` before use.
    ///
    /// - Throws: ``StateStoreError`` naming the location (a URL with its password redacted).
    public static func open(location: String) throws -> any StateStore {
        if StoreLocation.isPostgres(location) {
            return try PostgresStateStore(url: location)
        }
        return try SQLiteStateStore.open(location: location)
    }
}
