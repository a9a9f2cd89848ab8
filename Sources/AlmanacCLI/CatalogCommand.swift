import AlmanacCore
import ArgumentParser
import Catalog
import Foundation
import Warehouse

struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Check catalog-as-code folders.",
        subcommands: [CheckCommand.self])
}

struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a catalog folder and list every problem as file:line:column.",
        discussion: """
            Exits 0 when the catalog is valid (warnings allowed), 1 when it has errors,
            so it can gate a pull request in CI. '--format json' prints one JSON object
            for tools.
            """)

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "The catalog folder (the one holding almanac.yaml).")
    var directory: String = Settings.process[.catalog] ?? "Catalog"

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    @Flag(help: "Treat warnings as errors.")
    var strict = false

    @Option(
        help: """
            Also check every source's table and columns, and run every metric, against this warehouse             (a SQLite file or postgres:// URL).
            """)
    var warehouse: String?

    /// With --warehouse: the last day of the week each metric is run over.
    @OptionGroup var asOf: AsOfOption

    func run() async throws {
        let started = ContinuousClock.now
        var result = CatalogLoader.load(directory: directory)
        if let location = warehouse, let catalog = result.catalog {
            let connection: any Warehouse
            do {
                connection = try WarehouseLocation.open(location)
            } catch {
                printError("\(error)")
                throw ExitCode(1)
            }
            let day =
                asOf.day
                ?? CalendarDay.yesterday(in: TimeZone(identifier: catalog.settings.timezone) ?? .gmt)
            result.diagnostics += await SchemaCheck(catalog: catalog, warehouse: connection).run(asOf: day)
            await connection.close()
            if !result.errors.isEmpty { result.catalog = nil }
        }
        let elapsed = ContinuousClock.now - started
        let failed = !result.errors.isEmpty || (strict && !result.warnings.isEmpty)
        switch format {
        case .text:
            for diagnostic in result.diagnostics { print(diagnostic) }
            if let catalog = result.catalog, !failed {
                let counts = catalog.counts
                let summary = ItemKind.allCases.map { "\(counts[$0] ?? 0) \($0.folder)" }.joined(separator: ", ")
                print(
                    "\(directory): OK — \(result.fileCount) files (\(summary))"
                        + (warehouse.map { " — every source and metric runs on \(WarehouseLocation.redacted($0))" }
                            ?? "")
                        + (result.warnings.isEmpty
                            ? "" : ", \(result.warnings.count) warning\(result.warnings.count == 1 ? "" : "s")")
                        + " in \(elapsed.formatted(.units(allowed: [.milliseconds])))")
            } else {
                let errors = result.errors.count
                let warnings = result.warnings.count
                print(
                    "\(directory): \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s") in \(result.fileCount) files"
                )
            }
        case .json:
            let report = CheckReport(
                ok: !failed, directory: directory, files: result.fileCount, errors: result.errors.count,
                warnings: result.warnings.count,
                diagnostics: result.diagnostics.map {
                    .init(
                        file: $0.location.file, line: $0.location.line, column: $0.location.column,
                        severity: $0.severity.rawValue, message: $0.message, hint: $0.hint)
                })
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        if failed { throw ExitCode(1) }
    }

    struct CheckReport: Encodable {
        struct Item: Encodable {
            var file: String
            var line: Int
            var column: Int
            var severity: String
            var message: String
            var hint: String?
        }
        var ok: Bool
        var directory: String
        var files: Int
        var errors: Int
        var warnings: Int
        var diagnostics: [Item]
    }
}
