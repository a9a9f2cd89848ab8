public import Foundation
import PostgresNIO

extension PostgresStateStore {
    public func createAPIToken(_ token: APITokenRecord, secretHash: String) async throws {
        // A new token, as it is first written: not yet used, not revoked.
        let row = APITokenRow(creating: token, secretHash: secretHash)
        try await withConnection { [logger] connection in
            try await connection.rows(
                """
                INSERT INTO api_tokens (id, name, subject, secret_hash, groups, scopes, created_by, created_at, expires_at)
                VALUES (\(row.id), \(row.name), \(row.subject), \(row.secretHash), \(row.groups), \(row.scopes),
                    \(row.createdBy), \(row.createdAt.timeIntervalSince1970), \(row.expiresAt?.timeIntervalSince1970))
                """, logger)
        }
    }

    public func apiToken(secretHash: String) async throws -> APITokenRecord? {
        try await withConnection { [logger] connection in
            try await connection.records(
                APITokenRow.self, "SELECT * FROM api_tokens WHERE secret_hash = \(secretHash)", logger
            ).first?.record
        }
    }

    public func apiTokens() async throws -> [APITokenRecord] {
        try await withConnection { [logger] connection in
            try await connection.records(
                APITokenRow.self, "SELECT * FROM api_tokens ORDER BY created_at DESC, id", logger
            ).map(\.record)
        }
    }

    public func revokeAPIToken(id: String, by actor: String, at date: Date) async throws -> Bool {
        try await withConnection { [logger] connection in
            try await connection.count(
                """
                UPDATE api_tokens SET revoked_at = \(date.timeIntervalSince1970), revoked_by = \(actor)
                WHERE id = \(id) AND revoked_at IS NULL
                RETURNING 1
                """, logger) == 1
        }
    }

    public func recordAPITokenUse(id: String, at date: Date) async throws {
        let time = date.timeIntervalSince1970
        try await withConnection { [logger] connection in
            // Of two instances noting uses at once, the second re-reads the row the first wrote
            // before deciding: the time never moves back.
            try await connection.rows(
                """
                UPDATE api_tokens SET last_used_at = \(time)
                WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at < \(time))
                """, logger)
        }
    }
}
