import AlmanacCore
import ArgumentParser
import Catalog
import Composition
import Foundation
import Warehouse

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Load a CSV or JSON Lines export into the warehouse table a catalog source names.",
        discussion: """
            The file's header (CSV) or keys (JSON Lines) must be declared columns of the source; \
            every value is checked against the column's type before anything is written, and the \
            first bad row is reported with its line, column and value. Rows are appended in one \
            transaction; the table is created from the source's declared columns if missing.             Timestamps are YYYY-MM-DD HH:MM:SS or ISO 8601; one with Z or an offset             (2013-01-01T05:15:00-05:00) is stored in UTC, one without is taken as UTC.
            """)

    enum FileFormat: String, ExpressibleByArgument, CaseIterable {
        case csv, jsonl
    }

    @Argument(help: "The file format: csv or jsonl.")
    var format: FileFormat

    @Argument(help: "The export to load.")
    var file: String

    @Option(help: "The catalog source whose table receives the rows.")
    var source: String

    @OptionGroup var catalogOption: CatalogOption

    @OptionGroup var warehouse: WarehouseOption

    @Flag(help: "Replace the table's contents instead of appending.")
    var replace = false

    func validate() throws {
        _ = try warehouse.required("the rows are written to it")
    }

    func run() async throws {
        let location = try warehouse.required("the rows are written to it")
        let catalog = catalogOption.directory
        let catalogValue = try Stores.opened(catalog: catalog, state: nil, warehouse: nil).catalog.current
        guard let target = catalogValue.source(SourceID(source)) else {
            let hint =
                closestMatch(to: source, in: catalogValue.sources.map(\.id.rawValue)).map { " (did you mean '\($0)'?)" }
                ?? ""
            printError("--source '\(source)' is not a source in \(catalog)/sources\(hint)")
            throw ExitCode(1)
        }
        guard let data = FileManager.default.contents(atPath: file) else {
            printError("cannot read '\(file)'")
            throw ExitCode(1)
        }
        let parsed: Ingest.Parsed
        do {
            parsed = try Ingest.parse(data, file: file, format: format == .csv ? .csv : .jsonl, source: target)
        } catch {
            printError(error.userMessage)
            throw ExitCode(1)
        }
        let writer = try WarehouseWriters.open(location)
        let count: Int
        do {
            count = try await writer.load(target, columns: parsed.columns, rows: parsed.rows, replace: replace)
        } catch {
            await writer.close()
            printError("\(error)")
            throw ExitCode(1)
        }
        await writer.close()
        print(
            "Loaded \(count.formatted()) row\(count == 1 ? "" : "s") from \(file) into \(target.table) (\(WarehouseLocation.redacted(location)))"
        )
    }
}
