import AlmanacCore
import ArgumentParser
import Catalog
import Composition
import Foundation
import Lifecycle
import Logging
import Pages
import Rendering
import Search
import SearchIndexing
import Storage
import Warehouse

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search the catalog (and, with a warehouse, the entities' values) as the portal does.",
        discussion: """
            Query syntax: words (typos and prefixes are forgiven), "exact phrases", and the filters \
            kind:, team:, owner:, tag: and status: (status:retired shows retired items). \
            By default you search as an admin, who sees everything; --groups searches as a member \
            of those groups, to check what they can see.
            """)

    @Argument(help: "What to search for.")
    var query: String

    @OptionGroup var catalogOption: CatalogOption

    @OptionGroup var warehouse: WarehouseOption

    @OptionGroup var stateOption: StateOption

    @Option(help: "Search as a non-admin member of these comma-separated groups.")
    var groups: String?

    @Option(help: "Results to show (1-100).")
    var limit: Int = 10

    @Flag(help: "Show how each score came about.")
    var explain = false

    @Option(help: "Output format: text or json.")
    var format: OutputFormat = .text

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    func validate() throws {
        try warehouse.checkReadable()
        guard (1...100).contains(limit) else { throw ValidationError("--limit must be between 1 and 100") }
    }

    func run() async throws {
        LoggingBootstrap.once(level: .warning)
        let state = stateOption.location()
        // The state store only when there is one: searching must not create it.
        let stores = try Stores.opened(
            catalog: catalogOption.directory, state: FileManager.default.fileExists(atPath: state) ? state : nil,
            warehouse: warehouse.location.map { .location($0) })
        var catalogValue = stores.catalog.current
        let warehouseValue = stores.warehouse
        var stateStore: (any StateStore)?
        if stores.state != nil {
            let store = try await stores.migrated()
            stateStore = store
            // Statuses set in the portal (a retired report leaves search) apply here too.
            catalogValue = try await LifecycleLedger.effective(catalogValue, state: store)
        }
        var logger = Logger(label: "almanac.search")
        logger.logLevel = .warning
        let indexer = SearchIndexer(
            index: SearchIndex(), warehouse: warehouseValue,
            popularity: stateStore.map { ViewLogPopularity(usage: UsageService(state: $0)) }, state: nil, logger: logger
        )
        indexer.indexCatalog(catalogValue)
        await indexer.refreshPopularity()
        await indexer.loadEntities(catalogValue.entities, catalog: catalogValue)
        await warehouseValue?.close()

        let viewer =
            groups.map { list in
                Viewer(
                    user: "almanac-cli",
                    groups: Set(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }))
            } ?? .localDeveloper
        let request = SearchRequest(text: query, limit: limit, debug: explain)
        let results = indexer.index.search(
            request.query, viewer: viewer, options: SearchOptions(limit: limit, explain: explain))
        let model = PageBuilder(view: CatalogView(catalogValue, viewer: viewer)).search(request, results: results)
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(model), as: UTF8.self))
        case .text:
            printText(model, results: results)
        }
    }

    private func printText(_ model: SearchPageModel, results: SearchResults) {
        let tty = isatty(STDOUT_FILENO) != 0
        func bold(_ text: HighlightedText) -> String {
            text.parts.map { part in
                guard part.matched else { return part.text }
                return tty ? "\u{1B}[1m\(part.text)\u{1B}[0m" : "*\(part.text)*"
            }.joined()
        }
        if let didYouMean = model.didYouMean { print("Did you mean: \(didYouMean.text)") }
        if let notice = model.notice { print(notice) }
        print("\(model.total) result\(model.total == 1 ? "" : "s") for “\(query)”")
        for (rank, hit) in results.hits.enumerated() {
            let row = model.hits[rank]
            var flags: [String] = []
            if row.certified { flags.append("certified") }
            if let status = row.status { flags.append(status) }
            let title = row.isEntity ? (row.entityLabel ?? row.title) : bold(hit.title)
            print(
                "\(String(rank + 1).leftPad(3)). [\(row.kindLabel)] \(title)"
                    + (flags.isEmpty ? "" : "  (\(flags.joined(separator: ", ")))"))
            print("      \(row.url)\(row.teamName.map { " · \($0)" } ?? "")")
            if !hit.snippet.isEmpty { print("      \(bold(hit.snippet))") }
            if let explanation = row.explain { print("      score: \(explanation)") }
        }
        if let hint = model.statusHint { print(hint) }
        if !model.facets.isEmpty {
            let kinds = model.facets.first { $0.parameter == "kind" }?.values.map { "\($0.label) \($0.count)" } ?? []
            if !kinds.isEmpty { print("By kind: " + kinds.joined(separator: ", ")) }
        }
    }
}

extension String {
    fileprivate func leftPad(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
