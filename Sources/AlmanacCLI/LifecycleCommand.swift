import AlmanacCore
import ArgumentParser
import Catalog
import Composition
import Foundation
import Lifecycle
import Logging
import Storage

struct LifecycleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lifecycle",
        abstract: "Deprecate, retire, restore, hand over or certify catalog objects, and export what changed.",
        discussion: """
            Actions are recorded in the state store (who, when, why) and overlaid on the
            catalog's files, exactly as the portal's forms do; a running portal picks them up
            within seconds. Only members of the owning team and admins (members of a team named
            in settings.admin_groups) may act. 'almanac lifecycle export --write' writes the
            overlay into the catalog files, so git stays the source of truth.
            """,
        subcommands: [
            DeprecateCommand.self, RetireCommand.self, RestoreCommand.self, ActivateCommand.self,
            TransferCommand.self, CertifyCommand.self, UncertifyCommand.self, KeepCommand.self,
            LifecycleHistoryCommand.self, LifecycleExportCommand.self,
        ])
}

/// Where the catalog and the state store are.
struct StoreOptions: ParsableArguments {
    @OptionGroup var catalog: CatalogOption

    @OptionGroup var state: StateOption

    /// The catalog and the state store. Only the portal records what the catalog holds (so that
    /// a different checkout here never rewrites what the portal serves); this reads it.
    func open() async throws -> (CatalogStore, any StateStore) {
        let stores = try Stores.opened(catalog: catalog.directory, state: state.location(), warehouse: nil)
        return (stores.catalog, try await stores.migrated())
    }

    func service(_ store: CatalogStore, _ state: any StateStore) async throws -> LifecycleService {
        var logger = Logger(label: "almanac.lifecycle")
        logger.logLevel = .warning
        let service = LifecycleService(catalog: store, state: state, logger: logger)
        try await service.reloadOverlay()
        return service
    }
}

/// The object an action is about, written `kind/id`.
struct ItemArgument: ExpressibleByArgument {
    var kind: ItemKind
    var id: String

    init?(argument: String) {
        let parts = argument.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let kind = ItemKind(rawValue: parts[0]), !parts[1].isEmpty else { return nil }
        (self.kind, self.id) = (kind, parts[1])
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

struct ActionOptions: ParsableArguments {
    @Argument(help: "The object, as kind/id: report/weekly-kpis, metric/signups, template/customer.")
    var item: ItemArgument

    @Option(
        name: .customLong("as"),
        help: ArgumentHelp("Who acts: a team member's e-mail from the catalog. (env: ALMANAC_USER)", valueName: "email")
    )
    var actorOption: String?

    var actor: String? { actorOption ?? Settings.process[.user] }

    @OptionGroup var stores: StoreOptions

    /// The viewer the catalog knows `--as` to be: in each team that lists the address, and an
    /// admin when one of those teams is an admin group.
    func viewer(in catalog: Catalog) throws -> Viewer {
        guard let actor, !actor.isEmpty else {
            throw ValidationError("say who acts with --as EMAIL (or ALMANAC_USER)")
        }
        let probe = Viewer(user: actor)
        let teams = Set(catalog.teams.filter { $0.includes(probe) }.map(\.id.rawValue))
        guard !teams.isEmpty else {
            printError(
                "'\(actor)' is not a member of any team in the catalog (\(stores.catalog.directory)/teams/*.yaml)")
            throw ExitCode(1)
        }
        let admin = !teams.isDisjoint(with: catalog.settings.adminGroups)
        return Viewer(user: actor, groups: teams, isAdmin: admin)
    }

    func perform(
        _ action: LifecycleAction, reason: String? = nil, replacement: String? = nil, team: String? = nil
    )
        async throws
    {
        let (store, state) = try await stores.open()
        let service = try await stores.service(store, state)
        let viewer = try viewer(in: store.current)
        let request = LifecycleRequest(
            action: action, kind: item.kind, id: item.id, reason: reason, replacement: replacement, team: team)
        let event: LifecycleEvent
        do {
            event = try await service.perform(request, by: viewer)
        } catch let error as LifecycleError {
            printError(error.description)
            throw ExitCode(1)
        }
        let catalog = store.current
        var summary = ""
        switch item.kind {
        case .report:
            summary = catalog.report(ReportID(item.id)).map { "is \($0.status.rawValue), owned by \($0.owner)" } ?? ""
        case .metric:
            summary =
                catalog.metric(MetricID(item.id)).map {
                    "is \($0.status.rawValue)\($0.certified ? ", certified" : ""), owned by \($0.owner)"
                } ?? ""
        default: summary = catalog.template(TemplateID(item.id)).map { "is owned by \($0.owner)" } ?? ""
        }
        print("\(item.kind.rawValue)/\(item.id) \(summary) (\(event.action.rawValue) by \(event.actor ?? "?"))")
        if let detail = event.detail { print("  why: \(detail)") }
        if let replacement = event.replacement { print("  use instead: \(replacement)") }
        if action == .keep, let until = event.value { print("  off the retirement candidates until \(until)") }
    }
}

struct DeprecateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deprecate", abstract: "Mark a report or metric deprecated: still served, with a warning.")
    @OptionGroup var options: ActionOptions
    @Option(help: "Why (shown on its page).") var reason: String
    @Option(help: "The id of what to use instead.") var replacement: String?
    func run() async throws { try await options.perform(.deprecate, reason: reason, replacement: replacement) }
}

struct RetireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retire",
        abstract: "Retire a report or metric: no longer generated, listed or searchable; its page becomes a tombstone.")
    @OptionGroup var options: ActionOptions
    @Option(help: "Why (shown on its tombstone).") var reason: String
    @Option(help: "The id of what to use instead (required for a metric that live reports use).")
    var replacement: String?
    func run() async throws { try await options.perform(.retire, reason: reason, replacement: replacement) }
}

struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore", abstract: "Bring a deprecated or retired report or metric back to active.")
    @OptionGroup var options: ActionOptions
    func run() async throws { try await options.perform(.restore) }
}

struct ActivateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "activate", abstract: "Make a draft active.")
    @OptionGroup var options: ActionOptions
    func run() async throws { try await options.perform(.activate) }
}

struct TransferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Hand a report, metric or template over to another team.")
    @OptionGroup var options: ActionOptions
    @Option(help: "The team that takes it over.") var to: String
    @Option(help: "A note for the history.") var reason: String?
    func run() async throws { try await options.perform(.transfer, reason: reason, team: to) }
}

struct CertifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certify", abstract: "Certify a metric: its owners vouch for the definition.")
    @OptionGroup var options: ActionOptions
    func run() async throws { try await options.perform(.certify) }
}

struct UncertifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uncertify", abstract: "Withdraw a metric's certification.")
    @OptionGroup var options: ActionOptions
    func run() async throws { try await options.perform(.uncertify) }
}

struct KeepCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keep", abstract: "Keep a retirement candidate: off the list for the policy's keep_for.")
    @OptionGroup var options: ActionOptions
    @Option(help: "Why it stays (optional).") var reason: String?
    func run() async throws { try await options.perform(.keep, reason: reason) }
}

struct LifecycleHistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Print an object's lifecycle history, newest first.")
    @Argument(help: "The object, as kind/id.") var item: ItemArgument
    @OptionGroup var stores: StoreOptions
    func run() async throws {
        let state = try StateStores.open(location: stores.state.location())
        try await state.migrate()
        let events = try await state.lifecycleEvents(kind: item.kind.rawValue, id: item.id)
        guard !events.isEmpty else {
            print(
                "no history for \(item.kind.rawValue)/\(item.id) in \(StoreLocation.redacted(stores.state.location()))")
            return
        }
        let formatter = ISO8601DateFormatter()
        var rows = [["WHEN", "ACTION", "BY", "DETAIL"]]
        for event in events {
            var detail = event.detail ?? ""
            if let replacement = event.replacement { detail += (detail.isEmpty ? "" : "; ") + "use \(replacement)" }
            if let value = event.value { detail += (detail.isEmpty ? "" : "; ") + value }
            rows.append([formatter.string(from: event.at), event.action.rawValue, event.actor ?? "—", detail])
        }
        print(TextTable.render(rows))
    }
}

struct LifecycleExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the lifecycle overlay as a YAML patch, or into the catalog files with --write.",
        discussion: """
            Without --write, prints (or writes to --output) a YAML document mapping each catalog
            file to the keys it should say: status, status_reason, replaced_by, owner, certified
            (null removes a key). With --write, edits those keys in place, leaving comments and
            everything else as written, checks that the catalog still loads and says what the
            portal serves, and puts every file back if not. Commit the result; the actions then
            give way to the files.
            """)
    @OptionGroup var stores: StoreOptions
    @Flag(help: "Edit the catalog files instead of printing a patch.") var write = false
    @Option(help: "Write the patch to this file instead of standard output.") var output: String?

    func run() async throws {
        let (store, state) = try await stores.open()
        _ = try await stores.service(store, state)
        let patches = LifecycleExport.patches(
            overlay: store.overlay, declared: store.declared, directory: stores.catalog.directory)
        if write {
            guard !patches.isEmpty else {
                print("the catalog files already say what the portal serves; nothing to write")
                return
            }
            do {
                let files = try LifecycleExport.write(patches, directory: stores.catalog.directory)
                print("updated \(files.count) file\(files.count == 1 ? "" : "s") in \(stores.catalog.directory):")
                for file in files { print("  \(file)") }
                print("review with 'git diff' and commit")
            } catch let error as LifecycleExportError {
                printError(error.description)
                throw ExitCode(1)
            }
            return
        }
        let text = LifecycleExport.yaml(patches, generatedAt: Date())
        if let output {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
            print("wrote \(patches.count) file patch\(patches.count == 1 ? "" : "es") to \(output)")
        } else {
            print(text, terminator: "")
        }
    }
}
