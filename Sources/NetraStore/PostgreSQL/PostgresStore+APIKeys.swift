import Foundation
import PostgresNIO

extension PostgresStore {
    /// Creates an API key; the returned secret text (`netra_<id>_<secret>`) is shown once and
    /// not stored (only its SHA-256 is). A bound collection must exist.
    public func createAPIKey(name: String, scopes: [APIScope], collectionID: Int64?) throws(StoreError) -> (key: String, record: APIKeyRecord) {
        try APIKeyText.validate(name: name, scopes: scopes)
        let (id, secret) = try APIKeyText.generate()
        let now = Timestamp.now()
        let sortedScopes = APIKeyText.normalized(scopes)
        try write { sql in
            if let collectionID { try self.requireCollection(collectionID, sql) }
            try sql.execute("""
                INSERT INTO api_keys (id, name, secret_hash, scopes, created_at, collection_id)
                VALUES (\(id), \(name), \(Data(APIKeyText.hash(secret))), \(APIKeyText.stored(sortedScopes)), \(now), \(collectionID))
                """)
            try self.audit(sql, action: "create_api_key", result: "ok",
                           detail: APIKeyText.createdDetail(id: id, name: name, collectionID: collectionID))
        }
        return (APIKeyText.text(id: id, secret: secret),
                APIKeyRecord(id: id, name: name, scopes: sortedScopes, createdAt: now, lastUsedAt: nil, revokedAt: nil, collectionID: collectionID))
    }

    /// The key record for a presented key text, or `nil` when it is unknown, malformed or its
    /// secret does not match (compared in constant time). Revoked keys are returned (check
    /// `revokedAt`). A matching active key's `last_used_at` is brought up to date, at most once
    /// a minute, as `SQLiteStore` does.
    ///
    /// While PostgreSQL cannot be reached, a following replica authenticates the keys it last
    /// read (`ReplicaMemory`), so that identify and verify go on; no key can be created or
    /// revoked meanwhile, except through a replica that still reaches the database, whose
    /// revocation this one learns when it is back.
    public func authenticateAPIKey(_ text: String) throws(StoreError) -> APIKeyRecord? {
        guard let parsed = APIKeyText.parse(text) else { return nil }
        let id = parsed.id
        let found: APIKeyRecord?
        do {
            found = try matchingKey(id: id, presentedHash: parsed.secretHash)
        } catch .unreachable(let reason) {
            guard isFollowing else { throw .unreachable(reason) }
            switch memory.apiKey(id: id, presentedHash: parsed.secretHash) {
            case let .matches(record): return record
            case .wrongSecret: return nil
            case .unknown: throw .unreachable(reason)
            }
        }
        guard let record = found else { return nil }
        guard record.revokedAt == nil, APIKeyText.isStale(record.lastUsedAt) else { return record }
        let now = Timestamp.now()
        do {
            try write { sql in
                try sql.execute("UPDATE api_keys SET last_used_at = \(now) WHERE id = \(id) AND revoked_at IS NULL")
            }
        } catch .unreachable {
            return record
        }
        return APIKeyText.used(record, at: now)
    }

    private func matchingKey(id: String, presentedHash presented: [UInt8]) throws(StoreError) -> APIKeyRecord? {
        let (record, stored) = try read { sql -> (APIKeyRecord?, Data?) in
            guard let stored = try sql.value("SELECT secret_hash FROM api_keys WHERE id = \(id)", as: Data.self),
                  APIKeyText.matches(stored: stored, presented: presented)
            else { return (nil, nil) }
            return (try Self.apiKeyRecords(sql.rows("SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE id = \(id)")).first, stored)
        }
        if let record, let stored {
            if record.revokedAt == nil { memory.remember(record, secretHash: stored) } else { memory.forgetKey(id: id) }
        }
        return record
    }

    /// Every API key, oldest first.
    public func apiKeys() throws(StoreError) -> [APIKeyRecord] {
        try read { sql in try Self.apiKeyRecords(sql.rows("SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys ORDER BY created_at")) }
    }

    /// The key with this id, revoked or not; `nil` when there is none.
    public func apiKey(id: String) throws(StoreError) -> APIKeyRecord? {
        try read { sql in try Self.apiKeyRecords(sql.rows("SELECT \(unescaped: Self.apiKeyColumns) FROM api_keys WHERE id = \(id)")).first }
    }

    /// Revokes a key; it stops working at once (on every replica: each request reads the row).
    public func revokeAPIKey(id: String) throws(StoreError) {
        try write { sql in
            let changed = try sql.execute("UPDATE api_keys SET revoked_at = \(Timestamp.now()) WHERE id = \(id) AND revoked_at IS NULL")
            guard changed > 0 else { throw StoreError.invalidName("no active API key has id \(id)") }
            try self.audit(sql, action: "revoke_api_key", result: "ok", detail: "key \(id)")
        }
        memory.forgetKey(id: id)
    }

    /// The columns `apiKeyRecords` reads.
    private static let apiKeyColumns = "id, name, scopes, created_at, last_used_at, revoked_at, collection_id"

    private static func apiKeyRecords(_ rows: [PostgresRandomAccessRow]) throws -> [APIKeyRecord] {
        try rows.map { row in
            APIKeyText.record(id: try row["id"].decode(String.self), name: try row["name"].decode(String.self),
                              scopes: try row["scopes"].decode(String.self), createdAt: try row["created_at"].decode(String.self),
                              lastUsedAt: try row["last_used_at"].decode(String?.self), revokedAt: try row["revoked_at"].decode(String?.self),
                              collectionID: try row["collection_id"].decode(Int64?.self))
        }
    }
}
