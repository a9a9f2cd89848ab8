import AlmanacCore
import ArgumentParser
import Foundation
import Portal

/// `almanac generator`: the generators as an HTTP service for portals started with `--generator`.
struct GeneratorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generator",
        abstract: "Serve aggregate dashboards and template renders over HTTP for portals.",
        discussion: """
            Portals started with 'almanac serve --generator URL' get their dashboards and \
            parameterized renders from this service. It runs the nightly schedule (unless \
            --no-schedule), generates a report on demand when it has none, and renders \
            templates for the values a portal sends; access checks stay with the portal. \
            Set ALMANAC_GENERATOR_TOKEN on both sides to require a shared bearer token.
            """)

    @Option(help: "The catalog folder (holding almanac.yaml). (env: ALMANAC_CATALOG)")
    var catalog: String = EnvironmentDefaults.catalog ?? "Catalog"

    @Option(help: "The warehouse: a SQLite file or postgres:// URL. (env: ALMANAC_WAREHOUSE)")
    var warehouse: String?

    @Option(help: "Where generated dashboards are kept. (env: ALMANAC_ARTIFACTS)")
    var artifacts: String = EnvironmentDefaults.artifacts ?? "var/generator-artifacts"

    @Option(help: "The last day dashboards show (YYYY-MM-DD; default: yesterday, UTC).")
    var asOf: String?

    @Flag(help: "Do not run the nightly generation schedule in this process.")
    var noSchedule = false

    @Option(help: "The state store for generation runs. (env: ALMANAC_STATE)")
    var state: String = EnvironmentDefaults.state ?? "var/generator-state.sqlite"

    @OptionGroup var server: ServerOptions

    func validate() throws {
        guard let warehouse = warehouse ?? EnvironmentDefaults.warehouse else {
            throw ValidationError("--warehouse is required: the generator reads it")
        }
        if !warehouse.contains("://"), !FileManager.default.fileExists(atPath: warehouse) {
            throw ValidationError("--warehouse: no file at '\(warehouse)'")
        }
        if let asOf, CalendarDay(parsing: asOf) == nil {
            throw ValidationError("--as-of '\(asOf)' is not a date (YYYY-MM-DD)")
        }
    }

    func run() async throws {
        let environment = try await Serving.environment(
            catalog: catalog, state: state, server: server,
            dashboards: Serving.Dashboards(
                warehouse: warehouse ?? EnvironmentDefaults.warehouse ?? "", artifacts: artifacts,
                asOf: asOf.flatMap(CalendarDay.init(parsing:)),
                schedule: !noSchedule), delivers: false)
        try await runGenerator(
            environment, server: ServerConfiguration(host: server.host, port: server.port),
            token: EnvironmentDefaults.generatorToken)
    }
}
