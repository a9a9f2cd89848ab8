import AlmanacCLI
import AlmanacCore
import ArgumentParser
import Artifacts
import Catalog
import Foundation
import Generators
import Logging
import Pages
import Rendering
import Storage
import Warehouse

/// Hidden: the in-process half of Benchmarks/generation-overhead.sh.
struct BenchGenerationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-generation",
        abstract: "Time generating every report against running the same SQL bare (same process, same warehouse).")

    @OptionGroup var setup: BenchGeneratorOptions

    @Option(help: "Timed rounds.")
    var runs: Int = 3

    @Option(help: "Reports generated at once.")
    var parallelism: Int = 2

    func run() async throws {
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let generator = try await setup.generator(scratch: scratch)
        let result = try await GenerationBenchmark.run(generator: generator, parallelism: parallelism, runs: runs)
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1
                ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        let bare = median(result.bareSeconds)
        let full = median(result.generationSeconds)
        print("reports=\(result.reports) failed=\(result.failedReports) statements=\(result.statements) runs=\(runs)")
        print("bare_sql_seconds=\(result.bareSeconds.map { String(format: "%.3f", $0) }.joined(separator: ","))")
        print(
            "generation_seconds=\(result.generationSeconds.map { String(format: "%.3f", $0) }.joined(separator: ","))")
        print(
            String(
                format: "median_bare=%.3f median_generation=%.3f overhead_percent=%.1f", bare, full,
                (full / bare - 1) * 100))
    }
}

/// Hidden: the in-process half of Benchmarks/template-dashboard.sh.
struct BenchTemplateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-template",
        abstract: "Time uncached template renders against running the same SQL bare (same process, same warehouse).")

    @OptionGroup var setup: BenchGeneratorOptions

    @Option(help: "The template.")
    var template: String = "customer"

    @Option(help: "The parameter the values are for.")
    var parameter: String = "domain"

    @Option(help: "Comma-separated values to render the template for.")
    var values: String

    @Option(help: "Timed rounds per value.")
    var rounds: Int = 3

    func run() async throws {
        let scratch = try BenchScratch()
        defer { scratch.remove() }
        let generator = try await setup.generator(scratch: scratch)
        guard let templateValue = generator.catalog.template(TemplateID(template)) else {
            throw ValidationError("no template '\(template)'")
        }
        let list = values.split(separator: ",").map { String($0) }
        let timings = try await GenerationBenchmark.templates(
            generator: generator, template: templateValue, parameter: parameter, values: list, rounds: rounds)
        for timing in timings {
            print(
                String(
                    format: "value=%@ statements=%d render_ms=%.3f bare_ms=%.3f", timing.value, timing.statements,
                    timing.renderSeconds * 1000, timing.bareSeconds * 1000))
        }
    }
}

/// The options the benchmark commands share, and the generator they build from them.
struct BenchGeneratorOptions: ParsableArguments {
    @OptionGroup var catalog: CatalogOption

    @OptionGroup var warehouse: WarehouseOption

    @OptionGroup var asOf: AsOfOption

    @OptionGroup var web: WebOption

    func validate() throws {
        _ = try warehouse.required("the benchmark generates from it")
        try warehouse.checkReadable()
        // A benchmark's figures must not depend on the day it runs.
        guard asOf.day != nil else { throw ValidationError("--as-of is required") }
    }

    /// A generator over the catalog and warehouse, writing into `scratch`, logging errors only.
    func generator(scratch: BenchScratch) async throws -> AggregateGenerator {
        LoggingBootstrap.once(level: .error)
        guard let catalogValue = CatalogLoader.load(directory: catalog.directory).catalog,
            let day = asOf.day, let webRoot = PageRenderer.locateWebRoot(web.directory)
        else { throw ValidationError("needs a valid catalog, --as-of and Web/") }
        let state = try SQLiteStateStore(path: scratch.path + "/state.sqlite")
        try await state.migrate()
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        return AggregateGenerator(
            catalog: catalogValue,
            warehouse: try WarehouseLocation.open(try warehouse.required("the benchmark generates from it")),
            artifacts: ArtifactStore(root: scratch.path + "/artifacts"), state: state,
            renderer: try await PageRenderer(webRoot: webRoot), logger: logger, asOf: day)
    }
}

/// A temporary folder for a benchmark's state and artifacts.
struct BenchScratch {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("almanac-bench-\(UUID().uuidString)").path

    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
