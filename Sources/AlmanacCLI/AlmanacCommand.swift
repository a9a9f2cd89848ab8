public import ArgumentParser

/// The `almanac` command tree. Each subcommand parses its arguments and calls a module;
/// none of them holds logic of its own.
public struct AlmanacCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "almanac",
        abstract: "A company's central reporting portal: catalog, dashboards, search and deliveries.",
        discussion: """
            Start with 'almanac demo' to run the portal on a synthetic company, or
            'almanac serve --catalog DIR --warehouse FILE' on your own catalog.
            """,
        subcommands: [
            ServeCommand.self, GeneratorCommand.self, DemoCommand.self, CatalogCommand.self, GenerateCommand.self,
            IngestCommand.self, LifecycleCommand.self, UsageCommand.self, DeliverCommand.self,
            SearchCommand.self, TokenCommand.self, StateCommand.self,
        ])

    public init() {}
}

/// The executable's entry point, so that `almanac/main.swift` needs no imports but this module.
public enum AlmanacMain {
    public static func run() async {
        await AlmanacCommand.main()
    }
}
