public import Foundation
import GRDB

extension SQLiteStateStore {
    public func createAPIToken(_ token: APITokenRecord, secretHash: String) async throws {
        try await pool.write { db in
            try APITokenRow(creating: token, secretHash: secretHash).insert(db)
        }
    }

    public func apiToken(secretHash: String) async throws -> APITokenRecord? {
        try await pool.read { db in
            try APITokenRow.fetchOne(
                db, sql: "SELECT * FROM api_tokens WHERE secret_hash = ?", arguments: [secretHash])?
                .record
        }
    }

    public func apiTokens() async throws -> [APITokenRecord] {
        try await pool.read { db in
            try APITokenRow.fetchAll(db, sql: "SELECT * FROM api_tokens ORDER BY created_at DESC, id").map(\.record)
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
}
