import AlmanacCore
import ArgumentParser
import Foundation
import Logging
import Portal
import Storage

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and revoke API tokens for programs that call /api without the sign-on proxy.",
        discussion: """
            A token acts as its subject (a person or a service account) with exactly the access
            of its groups, within its scopes: read (every GET under /api), lifecycle (POST
            /api/lifecycle/…), admin (/api/admin/…, with an admin group among its groups). Send it
            as 'Authorization: Bearer <secret>'. The secret is printed once; only its SHA-256 is
            stored. Revoking holds at once on every portal sharing the state store.
            """,
        subcommands: [CreateTokenCommand.self, ListTokensCommand.self, RevokeTokenCommand.self])
}

/// The state store, and who is acting on it.
struct TokenStoreOptions: ParsableArguments {
    @OptionGroup var state: StateOption

    @Option(help: "Who is acting, recorded with the token. (default: cli:<your user name on this machine>)")
    var by: String?

    /// `--by`, or the user running the command.
    var actor: String {
        by ?? "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? ProcessInfo.processInfo.userName)
    }

    func authority() async throws -> APITokenAuthority {
        let store = try StateStores.open(location: state.location())
        try await store.migrate()
        var logger = Logger(label: "almanac.tokens")
        logger.logLevel = .warning
        return APITokenAuthority(state: store, logger: logger)
    }
}

struct CreateTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a token and print its secret, once.")
    @Option(help: "What the token is for, e.g. \"Nightly revenue export\".") var name: String
    @Option(help: "Who acts with it: a person's e-mail or a service account's name.") var subject: String
    @Option(help: "Its groups, comma-separated (its access is exactly theirs).") var groups: String = ""
    @Option(help: "Its scopes, comma-separated: read, lifecycle, admin.") var scopes: String = "read"
    @Option(help: "Days until it expires (1–366).") var expiresInDays: Int = 90
    @OptionGroup var store: TokenStoreOptions

    func run() async throws {
        var parsed: [APITokenRecord.Scope] = []
        for text in scopes.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            guard let scope = APITokenRecord.Scope(rawValue: text) else {
                printError("--scopes: '\(text)' is not a scope; use read, lifecycle, admin")
                throw ExitCode(2)
            }
            parsed.append(scope)
        }
        guard (1...366).contains(expiresInDays) else {
            printError("--expires-in-days: \(expiresInDays) is not between 1 and 366")
            throw ExitCode(2)
        }
        let authority = try await store.authority()
        do {
            let (record, secret) = try await authority.issue(
                name: name, subject: subject, groups: groups.split(separator: ",").map(String.init), scopes: parsed,
                lifetime: .seconds(expiresInDays * 86_400), by: store.actor)
            let formatter = ISO8601DateFormatter()
            print("created \(record.id) for \(record.subject)")
            print("  groups:  \(record.groups.isEmpty ? "(none)" : record.groups.joined(separator: ", "))")
            print("  scopes:  \(record.scopes.map(\.rawValue).joined(separator: ", "))")
            print("  expires: \(record.expiresAt.map(formatter.string) ?? "never")")
            print("")
            print("secret (shown once; only its hash is kept):")
            print(secret)
        } catch let error as APITokenError {
            printError("--\(error.description)")
            throw ExitCode(2)
        }
    }
}

struct ListTokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List tokens, newest first (never their secrets).")
    @OptionGroup var store: TokenStoreOptions

    func run() async throws {
        let tokens = try await store.authority().list()
        guard !tokens.isEmpty else {
            print("no API tokens in \(store.state)")
            return
        }
        let formatter = ISO8601DateFormatter()
        let now = Date()
        var rows = [["ID", "NAME", "SUBJECT", "GROUPS", "SCOPES", "EXPIRES", "LAST USED", "STATE"]]
        for token in tokens {
            let state =
                token.revokedAt.map { "revoked \(formatter.string(from: $0)) by \(token.revokedBy ?? "?")" }
                ?? (token.isValid(at: now) ? "active" : "expired")
            rows.append([
                token.id, token.name, token.subject, token.groups.joined(separator: ","),
                token.scopes.map(\.rawValue).joined(separator: ","),
                token.expiresAt.map(formatter.string) ?? "never", token.lastUsedAt.map(formatter.string) ?? "never",
                state,
            ])
        }
        print(TextTable.render(rows))
    }
}

struct RevokeTokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a token; every portal refuses it from the next request.")
    @Argument(help: "The token's id (tok_…), as 'almanac token list' shows it.") var id: String
    @OptionGroup var store: TokenStoreOptions

    func run() async throws {
        let authority = try await store.authority()
        guard let token = try await authority.list().first(where: { $0.id == id }) else {
            printError("there is no token '\(id)'; 'almanac token list' shows them")
            throw ExitCode(1)
        }
        guard try await authority.revoke(id: id, by: store.actor) else {
            print("\(id) (\(token.name)) was already revoked")
            return
        }
        print("revoked \(id) (\(token.name))")
    }
}
