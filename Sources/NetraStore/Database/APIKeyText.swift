import CLibcrypto
import Foundation

/// The pure parts of API keys that every backend shares: the key text `netra_<id>_<secret>`,
/// the SHA-256 of the secret (the only thing stored), the constant-time comparison, the
/// stored scopes and the audit details. One definition, so that a key created through one
/// backend authenticates the same way through the other.
enum APIKeyText {
    /// A fresh key: 6 random bytes of id (12 hex digits) and 24 of secret (URL-safe base64).
    static func generate() throws(StoreError) -> (id: String, secret: String) {
        var idBytes = [UInt8](repeating: 0, count: 6), secret = [UInt8](repeating: 0, count: 24)
        guard RAND_bytes(&idBytes, 6) == 1, RAND_bytes(&secret, 24) == 1 else { throw .key(.randomSourceFailed) }
        let id = idBytes.map { String(format: "%02x", $0) }.joined()
        let secretText = Data(secret).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        return (id, secretText)
    }

    /// The text shown once to whoever created the key.
    static func text(id: String, secret: String) -> String {
        "netra_\(id)_\(secret)"
    }

    /// The key id and the hash of the secret of a presented key text, or `nil` when malformed.
    static func parse(_ text: String) -> (id: String, secretHash: [UInt8])? {
        let parts = text.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "netra", parts[1].count == 12 else { return nil }
        return (String(parts[1]), hash(String(parts[2])))
    }

    /// SHA-256 of a secret, as stored in `api_keys.secret_hash`.
    static func hash(_ secret: String) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let bytes = Array(secret.utf8)
        _ = EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha256(), nil)
        return Array(digest.prefix(Int(length)))
    }

    /// Whether a stored hash equals a presented one, compared in constant time.
    static func matches(stored: Data, presented: [UInt8]) -> Bool {
        stored.count == presented.count && stored.withUnsafeBytes { storedBytes in
            presented.withUnsafeBytes { CRYPTO_memcmp(storedBytes.baseAddress, $0.baseAddress, presented.count) == 0 }
        }
    }

    /// Whether a `last_used_at` is missing or more than a minute old (each update is a durable
    /// write, so a key in steady use writes at most once a minute).
    static func isStale(_ lastUsed: String?) -> Bool {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let lastUsed, let date = formatter.date(from: lastUsed) else { return true }
        return Date().timeIntervalSince(date) > 60
    }

    /// Refuses a key without a name or without a scope.
    static func validate(name: String, scopes: [APIScope]) throws(StoreError) {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw .invalidName("an API key needs a name") }
        guard !scopes.isEmpty else { throw .invalidName("an API key needs at least one scope") }
    }

    /// The scopes as stored: distinct, in order, space-separated.
    static func stored(_ scopes: [APIScope]) -> String {
        scopes.map(\.rawValue).joined(separator: " ")
    }

    /// Distinct scopes in order, as a record holds them.
    static func normalized(_ scopes: [APIScope]) -> [APIScope] {
        Array(Set(scopes)).sorted()
    }

    /// A record from its stored columns.
    static func record(id: String, name: String, scopes: String, createdAt: String, lastUsedAt: String?, revokedAt: String?,
                       collectionID: Int64?) -> APIKeyRecord {
        APIKeyRecord(id: id, name: name, scopes: scopes.split(separator: " ").compactMap { APIScope(rawValue: String($0)) },
                     createdAt: createdAt, lastUsedAt: lastUsedAt, revokedAt: revokedAt, collectionID: collectionID)
    }

    /// `record` after a use at `now`.
    static func used(_ record: APIKeyRecord, at now: String) -> APIKeyRecord {
        APIKeyRecord(id: record.id, name: record.name, scopes: record.scopes, createdAt: record.createdAt, lastUsedAt: now,
                     revokedAt: nil, collectionID: record.collectionID)
    }

    /// The audit detail of `create_api_key`.
    static func createdDetail(id: String, name: String, collectionID: Int64?) -> String {
        let bound = collectionID.map { ", collection \($0)" } ?? ""
        return "key \(id) (\(name))\(bound)"
    }
}
