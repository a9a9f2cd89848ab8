import Foundation

/// `ALMANAC_*` environment variables, which stand in for options not given on the
/// command line (precedence: option > environment > built-in default).
enum EnvironmentDefaults {
    static func value(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment["ALMANAC_\(name)"], !value.isEmpty else { return nil }
        return value
    }
    static var catalog: String? { value("CATALOG") }
    static var warehouse: String? { value("WAREHOUSE") }
    static var state: String? { value("STATE") }
    static var host: String? { value("HOST") }
    static var port: Int? { value("PORT").flatMap(Int.init) }
    static var web: String? { value("WEB") }
    static var artifacts: String? { value("ARTIFACTS") }
    static var trustedProxies: String? { value("TRUSTED_PROXIES") }
    static var generators: String? { value("GENERATORS") }
    static var generatorToken: String? { value("GENERATOR_TOKEN") }
    static var pageCacheMB: Int? { value("PAGE_CACHE_MB").flatMap(Int.init) }
    static var templateCacheMB: Int? { value("TEMPLATE_CACHE_MB").flatMap(Int.init) }
    static var pageStaleSeconds: Int? { value("PAGE_STALE_SECONDS").flatMap(Int.init) }
}
