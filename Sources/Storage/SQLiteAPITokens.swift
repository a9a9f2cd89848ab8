public import Foundation
import GRDB

extension SQLiteStateStore {
    public func createAPIToken(_ token: APITokenRecord, secretHash: String) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_tokens
                        (id, name, subject, secret_hash, groups, scopes, created_by, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    token.id, token.name, token.subject, secretHash, Self.json(token.groups),
                    Self.json(token.scopes.map(\.rawValue)), token.createdBy, token.createdAt.timeIntervalSince1970,
                    token.expiresAt?.timeIntervalSince1970,
                ])
        }
    }

    public func apiToken(secretHash: String) async throws -> APITokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM api_tokens WHERE secret_hash = ?", arguments: [secretHash])
                .map(Self.apiToken)
        }
    }

    public func apiTokens() async throws -> [APITokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY created_at DESC, id").map(Self.apiToken)
        }
    }

    public func revokeAPIToken(id: String, by actor: String, at date: Date) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_tokens SET revoked_at = ?, revoked_by = ? WHERE id = ? AND revoked_at IS NULL",
                arguments: [date.timeIntervalSince1970, actor, id])
            return db.changesCount == 1
        }
    }

    public func recordAPITokenUse(id: String, at date: Date) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE api_tokens SET last_used_at = ?1
                    WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)
                    """,
                arguments: [date.timeIntervalSince1970, id])
        }
    }

    private static func json(_ values: [String]) -> String {
        (try? JSONEncoder().encode(values)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    private static func strings(_ text: String?) -> [String] {
        text.flatMap { try? JSONDecoder().decode([String].self, from: Data($0.utf8)) } ?? []
    }

    private static func apiToken(_ row: Row) -> APITokenRecord {
        func date(_ column: String) -> Date? {
            (row[column] as Double?).map { Date(timeIntervalSince1970: $0) }
        }
        return APITokenRecord(
            id: row["id"], name: row["name"], subject: row["subject"], groups: strings(row["groups"]),
            // A scope this version does not know grants nothing.
            scopes: strings(row["scopes"]).compactMap(APITokenRecord.Scope.init(rawValue:)),
            createdBy: row["created_by"], createdAt: date("created_at") ?? .distantPast,
            expiresAt: date("expires_at"), lastUsedAt: date("last_used_at"), revokedAt: date("revoked_at"),
            revokedBy: row["revoked_by"])
    }
}
