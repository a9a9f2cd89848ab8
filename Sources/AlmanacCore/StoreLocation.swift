import Foundation

/// Reads the `--warehouse` and `--state` values: a SQLite file or a PostgreSQL URL.
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

    /// `location` as logs and messages may show it: a URL's password replaced by `***`
    /// (`postgres://user:***@host/db`); anything else as it is.
    public static func redacted(_ location: String) -> String {
        guard let scheme = location.range(of: "://"), let at = location.range(of: "@"),
            scheme.upperBound < at.lowerBound
        else { return location }
        let credentials = location[scheme.upperBound..<at.lowerBound]
        guard let colon = credentials.firstIndex(of: ":") else { return location }
        return String(location[..<colon]) + ":***" + String(location[at.lowerBound...])
    }
}
