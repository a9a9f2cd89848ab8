public import ArgumentParser

/// `almanac-bench`: the in-process measurements that `Benchmarks/` scripts run against the
/// release build, kept out of the product's `almanac` binary.
public struct AlmanacBenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "almanac-bench",
        abstract: "In-process benchmarks for Benchmarks/*.sh (generation, templates, search, usage).",
        subcommands: [
            BenchGenerationCommand.self, BenchTemplateCommand.self, BenchSearchCommand.self,
            BenchSearchBuildCommand.self, BenchUsageCommand.self, BenchStateIngestCommand.self,
        ])

    public init() {}
}

/// The executable's entry point, so that `almanac-bench/main.swift` needs no imports but this module.
public enum AlmanacBenchMain {
    public static func run() async {
        await AlmanacBenchCommand.main()
    }
}
