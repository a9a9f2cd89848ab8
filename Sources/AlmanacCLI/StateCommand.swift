import AlmanacCore
import ArgumentParser
import Foundation
import Logging
import Storage

/// `almanac state`: the state store itself.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state",
        abstract: "Move the state store (views, lifecycle log, runs, outbox, tokens, search log).",
        subcommands: [StateMigrateCommand.self])
}

/// `almanac state migrate --to postgres://…`: a portal that ran on a SQLite file goes on as
/// several instances sharing one PostgreSQL database.
struct StateMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Copy a SQLite state store into an empty PostgreSQL one, with every table's rows counted.",
        discussion: """
            Stop the portal first (views it counts during the copy would be left behind). The \
            copy is one transaction: it ends with every table's row count equal in both stores, \
            or writes nothing. Then start the portals with --state set to the same URL.
            """)

    @OptionGroup var state: StateOption

    @Option(help: "The PostgreSQL state store to copy into: postgres://user:password@host:5432/db (empty).")
    var to: String

    func validate() throws {
        guard StoreLocation.isPostgres(to) else {
            throw ValidationError("--to '\(StoreLocation.redacted(to))' is not a postgres:// URL")
        }
        let from = state.location()
        guard !StoreLocation.isPostgres(from) else {
            throw ValidationError("--state must name the SQLite file to copy from, not a PostgreSQL URL")
        }
        guard FileManager.default.fileExists(atPath: StoreLocation.sqlitePath(from)) else {
            throw ValidationError("--state: no file at '\(StoreLocation.sqlitePath(from))'")
        }
    }

    func run() async throws {
        LoggingBootstrap.once(level: .warning)
        let source = try SQLiteStateStore.open(location: state.location())
        let target = try PostgresStateStore(url: to)
        defer { target.close() }
        print("Copying \(source.path) into \(StoreLocation.redacted(to))…")
        let started = ContinuousClock.now
        let counts: [StateCopy.Count]
        do {
            counts = try await StateCopy.copy(from: source, to: target) { table, rows in
                print("  \(table): \(rows.formatted()) rows")
            }
        } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let total = counts.reduce(0) { $0 + $1.target }
        print(
            "Copied \(total.formatted()) rows in \(counts.count) tables; every table's count matches the source "
                + "(\((ContinuousClock.now - started).formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))). "
                + "Start the portals with --state \(StoreLocation.redacted(to))")
    }
}
