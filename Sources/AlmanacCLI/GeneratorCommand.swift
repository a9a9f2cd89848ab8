import AlmanacCore
import ArgumentParser
import Composition
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

    @OptionGroup var catalog: CatalogOption

    @OptionGroup var warehouse: WarehouseOption

    @OptionGroup var artifacts: ArtifactsOption

    @OptionGroup var asOf: AsOfOption

    @Flag(help: "Do not run the nightly generation schedule in this process.")
    var noSchedule = false

    @OptionGroup var state: StateOption

    @OptionGroup var server: ServerOptions

    func validate() throws {
        _ = try warehouse.required("the generator reads it")
        try warehouse.checkReadable()
    }

    func run() async throws {
        // Defaults apart from a portal's, so that a generator beside a portal on one machine
        // keeps its own runs and artifacts.
        let dashboards = PortalSetup.Dashboards(
            warehouse: .location(try warehouse.required("the generator reads it")),
            artifacts: artifacts.directory(default: "var/generator-artifacts"), asOf: asOf.day,
            schedule: !noSchedule)
        let environment = try await server.environment(
            server.setup(
                catalog: catalog.directory, state: state.location(default: "var/generator-state.sqlite"),
                dashboards: dashboards, delivers: false))
        try await runGenerator(environment, server: server.listening, token: Settings.process[.generatorToken])
    }
}
