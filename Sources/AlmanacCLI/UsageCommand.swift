import AlmanacCore
import ArgumentParser
import Catalog
import Foundation
import Lifecycle
import Logging
import Storage

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "What is read and what is not: retirement candidates and the most viewed items.",
        subcommands: [UsageStaleCommand.self, UsageTopCommand.self])
}

struct UsageStaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stale",
        abstract: "Print the retirement candidates per owner team as a table.",
        discussion: """
            Applies the policy in almanac.yaml (retirement: fewer_than, in_last, older_than)
            to the views in the state store. Reports kept with 'almanac lifecycle keep' are
            listed apart until their keep runs out. Exits 0 whether or not there are candidates.
            """)
    @OptionGroup var stores: StoreOptions
    @Option(help: "Only this team's candidates.") var team: String?
    @Option(help: "Output format: table or json.") var format: Format = .table

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func run() async throws {
        let (store, state) = try await stores.open()
        let service = try await stores.service(store, state)
        if let team, store.current.team(TeamID(team)) == nil {
            printError("--team '\(team)' is not a team in \(stores.catalog.directory)/teams")
            throw ExitCode(1)
        }
        var report = try await RetirementReviewer(lifecycle: service).report()
        if try await state.catalogItemRecords(kind: ItemKind.report.rawValue).isEmpty {
            printError(
                "note: \(StoreLocation.redacted(stores.state.location())) has no record of when the reports were first seen, so none is old enough "
                    + "to be a candidate; the portal records it when it starts (almanac serve --state \(StoreLocation.redacted(stores.state.location())))"
            )
        }
        if let team {
            report.candidates = report.candidates.filter { $0.owner == team }
            report.kept = report.kept.filter { $0.owner == team }
        }
        if format == .json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.dateEncodingStrategy = .iso8601
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let policy = report.policy
        print(
            "Retirement candidates: fewer than \(policy.fewerThan) views in the last \(policy.window), known for more than \(policy.olderThan)"
        )
        print("\(report.candidates.count) of \(report.reviewed) live reports\n")
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        let catalog = store.current
        for (owner, candidates) in Dictionary(grouping: report.candidates, by: \.owner).sorted(by: { $0.key < $1.key })
        {
            print("\(catalog.team(TeamID(owner))?.name ?? owner) (\(owner))")
            var rows = [
                ["REPORT", "STATUS", "VIEWS (\(policy.window))", "30D", "90D", "AGE", "FLAGGED", "AUTO-DEPRECATES"]
            ]
            for candidate in candidates {
                rows.append([
                    candidate.id, candidate.status.rawValue, "\(candidate.viewsInWindow)", "\(candidate.views30)",
                    "\(candidate.views90)", "\(candidate.ageDays)d", candidate.flaggedAt.map(day.string) ?? "—",
                    candidate.autoDeprecateOn.map(day.string) ?? "—",
                ])
            }
            print(TextTable.render(rows, indent: 2) + "\n")
        }
        if report.candidates.isEmpty { print("No candidates: every live report is read enough.\n") }
        if !report.kept.isEmpty {
            print("Kept")
            var rows = [["REPORT", "TEAM", "UNTIL", "BY"]]
            for kept in report.kept { rows.append([kept.id, kept.owner, kept.until.description, kept.by ?? "—"]) }
            print(TextTable.render(rows, indent: 2))
        }
    }
}

struct UsageTopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "top", abstract: "Print the most viewed items of the last 30 days with their trend.")
    @OptionGroup var stores: StoreOptions
    @Option(help: "How many items.") var limit = 20

    func run() async throws {
        let (store, state) = try await stores.open()
        _ = try await stores.service(store, state)
        let totals = try await UsageService.totals(state: state, kind: nil, at: Date())
        let top = totals.filter { $0.value.views30 > 0 }.sorted {
            ($1.value.views30, $0.key) < ($0.value.views30, $1.key)
        }
        .prefix(max(1, limit))
        var rows = [["ITEM", "7D", "30D", "90D", "TREND (30D)"]]
        for (key, figures) in top {
            let trend = figures.trend30.map { String(format: "%+.0f%%", $0) } ?? (figures.views30 > 0 ? "new" : "—")
            rows.append([key, "\(figures.views7)", "\(figures.views30)", "\(figures.views90)", trend])
        }
        print(top.isEmpty ? "no views recorded in the last 30 days" : TextTable.render(rows))
    }
}

/// Columns padded to their widest cell, for terminal output.
enum TextTable {
    static func render(_ rows: [[String]], indent: Int = 0) -> String {
        let widths = (0..<(rows.map(\.count).max() ?? 0)).map { column in
            rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        let pad = String(repeating: " ", count: indent)
        return rows.map { row in
            pad
                + row.enumerated().map { index, cell in
                    index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
