import Foundation
import GRDB

/// What an API key may do.
public enum APIScope: String, Sendable, CaseIterable, Codable, Comparable {
    /// verify, similarity, detect, identify.
    case recognize
    /// subjects and enrollment.
    case manage
    /// everything, including API keys.
    case admin

    public static func < (lhs: APIScope, rhs: APIScope) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// An API key as stored: never its secret.
public struct APIKeyRecord: Sendable, Equatable, Codable {
    public let id: String
    public let name: String
    public let scopes: [APIScope]
    public let createdAt: String
    public let lastUsedAt: String?
    public let revokedAt: String?
    /// The collection the key is bound to, or `nil` when each request names one.
    public var collectionID: Int64? = nil

    /// Whether this key may act in `scope` (admin may do everything).
    public func allows(_ scope: APIScope) -> Bool {
        revokedAt == nil && (scopes.contains(scope) || scopes.contains(.admin))
    }
}

extension SQLiteStore {
    /// Creates an API key; the returned secret text (`netra_<id>_<secret>`) is shown once and not stored.
    public func createAPIKey(name: String, scopes: [APIScope], collectionID: Int64?) throws(StoreError) -> (key: String, record: APIKeyRecord) {
        try APIKeyText.validate(name: name, scopes: scopes)
        let (id, secret) = try APIKeyText.generate()
        let now = Timestamp.now()
        let sortedScopes = APIKeyText.normalized(scopes)
        try write { db in
            if let collectionID { try self.requireCollection(collectionID, db) }
            try db.execute(sql: "INSERT INTO api_keys (id, name, secret_hash, scopes, created_at, collection_id) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [id, name, Data(APIKeyText.hash(secret)), APIKeyText.stored(sortedScopes), now, collectionID])
            try self.audit(db, action: "create_api_key", result: "ok",
                           detail: APIKeyText.createdDetail(id: id, name: name, collectionID: collectionID))
        }
        return (APIKeyText.text(id: id, secret: secret),
                APIKeyRecord(id: id, name: name, scopes: sortedScopes, createdAt: now, lastUsedAt: nil, revokedAt: nil, collectionID: collectionID))
    }

    /// The key record for a presented key text, or `nil` when it is unknown, malformed or its
    /// secret does not match (compared in constant time). Revoked keys are returned (check `revokedAt`).
    /// A matching active key's `last_used_at` is brought up to date, at most once a minute
    /// (each update is a durable write).
    public func authenticateAPIKey(_ text: String) throws(StoreError) -> APIKeyRecord? {
        guard let parsed = APIKeyText.parse(text) else { return nil }
        let id = parsed.id
        guard let record = try matchingKey(id: id, presentedHash: parsed.secretHash) else { return nil }
        guard record.revokedAt == nil, APIKeyText.isStale(record.lastUsedAt) else { return record }
        let now = Timestamp.now()
        try write { db in
            try db.execute(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [now, id])
        }
        return APIKeyText.used(record, at: now)
    }


    private func matchingKey(id: String, presentedHash presented: [UInt8]) throws(StoreError) -> APIKeyRecord? {
        try read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT secret_hash FROM api_keys WHERE id = ?", arguments: [id]) else {
                return nil
            }
            let stored: Data = row["secret_hash"]
            return APIKeyText.matches(stored: stored, presented: presented)
                ? try Self.fetchAPIKeys(db, where: "id = ?", arguments: [id]).first : nil
        }
    }

    public func apiKeys() throws(StoreError) -> [APIKeyRecord] {
        try read { db in try Self.fetchAPIKeys(db, where: "1", arguments: []) }
    }

    public func apiKey(id: String) throws(StoreError) -> APIKeyRecord? {
        try read { db in try Self.fetchAPIKeys(db, where: "id = ?", arguments: [id]).first }
    }

    /// Revokes a key; it stops working at once.
    public func revokeAPIKey(id: String) throws(StoreError) {
        try write { db in
            try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [Timestamp.now(), id])
            guard db.changesCount > 0 else { throw StoreError.invalidName("no active API key has id \(id)") }
            try self.audit(db, action: "revoke_api_key", result: "ok", detail: "key \(id)")
        }
    }

    private static func fetchAPIKeys(_ db: Database, where condition: String, arguments: StatementArguments) throws -> [APIKeyRecord] {
        try Row.fetchAll(db, sql: "SELECT id, name, scopes, created_at, last_used_at, revoked_at, collection_id FROM api_keys WHERE \(condition) ORDER BY created_at",
                         arguments: arguments).map { row in
            APIKeyText.record(id: row["id"], name: row["name"], scopes: row["scopes"], createdAt: row["created_at"],
                              lastUsedAt: row["last_used_at"], revokedAt: row["revoked_at"], collectionID: row["collection_id"])
        }
    }
}
