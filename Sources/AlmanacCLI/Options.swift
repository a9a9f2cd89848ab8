package import AlmanacCore
package import ArgumentParser
import Composition
import Foundation

// The options several commands share, declared once. Each resolves in the same layers: the
// command-line value, then its `ALMANAC_*` variable (read through `Settings`), then the
// command's built-in default.

/// `--catalog`: the catalog folder.
package struct CatalogOption: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("catalog"), help: "The catalog folder (holding almanac.yaml). (env: ALMANAC_CATALOG)")
    package var value: String?

    /// The folder to load.
    package var directory: String { value ?? Settings.process[.catalog] ?? "Catalog" }
}

/// `--warehouse`: a SQLite file or a postgres:// URL.
package struct WarehouseOption: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("warehouse"),
        help: "The warehouse: a SQLite file or postgres:// URL. (env: ALMANAC_WAREHOUSE)")
    package var value: String?

    /// The warehouse given, if any.
    package var location: String? { value ?? Settings.process[.warehouse] }

    /// The warehouse, which `purpose` (the command's words for why) cannot do without.
    package func required(_ purpose: String) throws -> String {
        guard let location else { throw ValidationError("--warehouse is required: \(purpose)") }
        return location
    }

    /// Checks that a warehouse to read from exists: a mistyped path would otherwise open as a
    /// new, empty SQLite file. (`ingest` may create one, so this is not part of parsing.)
    package func checkReadable() throws {
        if let location, !location.contains("://"), !FileManager.default.fileExists(atPath: location) {
            throw ValidationError("--warehouse: no file at '\(location)'")
        }
    }
}

/// `--state`: the state store, a SQLite file (PATH or sqlite://PATH) or a PostgreSQL database
/// (postgres://user:password@host:5432/db) that several instances share.
package struct StateOption: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("state"),
        help: """
            The state store: a SQLite file (PATH or sqlite://PATH; default: var/state.sqlite), or \
            postgres://user:password@host:5432/db, shared by several instances. (env: ALMANAC_STATE)
            """)
    package var value: String?

    /// The store given, else `fallback` (a command's own default).
    package func location(default fallback: String = "var/state.sqlite") -> String {
        value ?? Settings.process[.state] ?? fallback
    }
}

/// `--as-of`: the last day dashboards and digests show.
package struct AsOfOption: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("as-of"),
        help: "The last day shown (YYYY-MM-DD; default: yesterday in the catalog's time zone).")
    package var value: String?

    /// The day given, if any (checked by ``validate()``).
    package var day: CalendarDay? { value.flatMap(CalendarDay.init(parsing:)) }

    package func validate() throws {
        if let value, CalendarDay(parsing: value) == nil {
            throw ValidationError("--as-of '\(value)' is not a date (YYYY-MM-DD)")
        }
    }
}

/// `--artifacts`: where generated dashboards are kept.
package struct ArtifactsOption: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("artifacts"),
        help: "Where generated dashboards are kept (default: var/artifacts). (env: ALMANAC_ARTIFACTS)")
    package var value: String?

    package func directory(default fallback: String = "var/artifacts") -> String {
        value ?? Settings.process[.artifacts] ?? fallback
    }
}

/// `--web`: the folder with templates/ and static/.
package struct WebOption: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("web"),
        help: "The folder with templates/ and static/ (default: ./Web or next to the binary). (env: ALMANAC_WEB)")
    package var value: String?

    package var directory: String? { value ?? Settings.process[.web] }
}

extension Stores {
    /// ``Stores/open(catalog:state:warehouse:)`` for a command: a store that cannot be opened
    /// ends it with the reason on standard error and exit status 1.
    static func opened(catalog: String, state: String?, warehouse: WarehouseSource?) throws -> Stores {
        do {
            return try Stores.open(catalog: catalog, state: state, warehouse: warehouse)
        } catch {
            printError(error.description)
            throw ExitCode(1)
        }
    }
}
