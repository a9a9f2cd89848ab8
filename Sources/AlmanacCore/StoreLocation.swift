/// Reads the `--warehouse` and `--state` values that name a SQLite file.
public enum StoreLocation {
    /// Whether `location` is a PostgreSQL URL (`postgres://` or `postgresql://`).
    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// The file path of a SQLite location: a plain path, `sqlite://PATH` or `sqlite:PATH`.
    public static func sqlitePath(_ location: String) -> String {
        for prefix in ["sqlite://", "sqlite:"] where location.hasPrefix(prefix) {
            return String(location.dropFirst(prefix.count))
        }
        return location
    }
}
