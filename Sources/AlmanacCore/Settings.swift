public import Foundation

/// Almanac's configuration from the environment: the one reader of `ALMANAC_*` variables.
///
/// Every part that can be configured without a command-line option (the CLI's defaults,
/// e-mail, task delivery, the generator token) reads it here, so the names and the rules
/// (an empty variable counts as unset; a malformed number is an error that names the
/// variable) are the same everywhere. The layers, highest first: a command-line option,
/// then the environment through this reader, then the built-in default.
public struct Settings: Sendable {
    /// A configuration key: `Key("SMTP_URL")` is read from `ALMANAC_SMTP_URL`.
    public struct Key: Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
        /// The name without the `ALMANAC_` prefix.
        public let name: String
        public init(_ name: String) { self.name = name }
        public init(stringLiteral name: String) { self.name = name }
        /// The environment variable's name.
        public var variable: String { "ALMANAC_\(name)" }
        public var description: String { variable }
    }

    /// The variables read, by name (the process's environment unless a test gives its own).
    public let variables: [String: String]

    public init(_ variables: [String: String] = ProcessInfo.processInfo.environment) {
        self.variables = variables
    }

    /// The process's environment, read once.
    public static let process = Settings()

    /// The value of `key`, or `nil` when it is unset or empty.
    public subscript(_ key: Key) -> String? {
        guard let value = variables[key.variable], !value.isEmpty else { return nil }
        return value
    }

    /// The comma-separated values of `key`, trimmed, empty ones dropped.
    public func list(_ key: Key) -> [String] {
        (self[key] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter {
            !$0.isEmpty
        }
    }

    /// The whole number `key` holds; `nil` when unset.
    ///
    /// - Throws: ``SettingsError`` naming the variable when the value is not a whole number.
    public func integer(_ key: Key) throws(SettingsError) -> Int? {
        guard let text = self[key] else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw SettingsError("\(key.variable) '\(text)' is not a whole number")
        }
        return value
    }
}

/// A configuration value that cannot be used; the text names the variable and the value.
public struct SettingsError: Error, CustomStringConvertible, Sendable, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension Settings.Key {
    /// The catalog folder (`--catalog`).
    public static let catalog: Self = "CATALOG"
    /// The warehouse: a SQLite file or a postgres:// URL (`--warehouse`).
    public static let warehouse: Self = "WAREHOUSE"
    /// The state store (`--state`).
    public static let state: Self = "STATE"
    /// Where generated dashboards are kept (`--artifacts`).
    public static let artifacts: Self = "ARTIFACTS"
    /// The folder with templates/ and static/ (`--web`).
    public static let web: Self = "WEB"
    /// Where the portal listens (`--host`, `--port`).
    public static let host: Self = "HOST"
    public static let port: Self = "PORT"
    /// Comma-separated addresses or networks of the SSO proxy (`--trusted-proxy`).
    public static let trustedProxies: Self = "TRUSTED_PROXIES"
    /// Comma-separated URLs of `almanac generator` services (`--generator`).
    public static let generators: Self = "GENERATORS"
    /// The bearer token a portal and its generators share.
    public static let generatorToken: Self = "GENERATOR_TOKEN"
    /// Cache sizes and staleness (`--page-cache-mb`, `--template-cache-mb`, `--search-cache-mb`,
    /// `--page-stale-seconds`).
    public static let pageCacheMB: Self = "PAGE_CACHE_MB"
    public static let templateCacheMB: Self = "TEMPLATE_CACHE_MB"
    public static let searchCacheMB: Self = "SEARCH_CACHE_MB"
    public static let pageStaleSeconds: Self = "PAGE_STALE_SECONDS"
    /// How long a scheduled run's claim lasts unless its instance renews it (`--job-lease-seconds`).
    public static let jobLeaseSeconds: Self = "JOB_LEASE_SECONDS"
    /// Who acts in `almanac lifecycle` commands (`--as`).
    public static let user: Self = "USER"
}
