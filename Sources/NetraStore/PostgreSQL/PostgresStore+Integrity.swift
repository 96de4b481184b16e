import Foundation
import PostgresNIO

/// Authentication of the rows the sealed embeddings do not cover (`IntegrityKey`), as in
/// `SQLiteStore+Integrity.swift`: subject MACs, the audit log's chain and its head, the
/// integrity key itself kept sealed under the active store key in `store_settings`.
extension PostgresStore {
    private static let sealedKeySetting = "integrity_key"
    private static let sealedKeyIDSetting = "integrity_key_id"
    private static let auditHeadSetting = "audit_head"

    /// The store's integrity key, opened with the key it is sealed under. One is made only for a
    /// store being created (`creating`) or still without subjects and audit entries; at any other
    /// time a missing key means the settings were tampered with, and the store is refused.
    /// Replicas creating a store together agree on the first key stored (the table lock).
    static func integrityKey(in connections: PostgresConnections, sealers: SealerSet, creating: Bool) throws(StoreError) -> IntegrityKey {
        try connections.transaction { sql in
            try sql.execute("LOCK TABLE store_settings IN EXCLUSIVE MODE")
            if let keyID = try setting(sealedKeyIDSetting, sql), let blob = try setting(sealedKeySetting, sql) {
                let id = String(decoding: keyID, as: UTF8.self)
                guard let sealer = sealers.sealer(forKeyID: id) else { throw StoreError.activeKeyUnavailable(keyID: id) }
                return try IntegrityKey.open(IntegrityKey.sealed(fromSetting: blob), with: sealer)
            }
            // Replicas opening a new store together: the one that applied the schema may not have
            // stored the key yet; any of them makes it while nothing exists that it would cover.
            let empty = try sql.value("SELECT NOT EXISTS (SELECT 1 FROM subjects) AND NOT EXISTS (SELECT 1 FROM audit_log)", as: Bool.self)
            guard creating || empty == true else { throw StoreError.integrityKeyMissing }
            let active = try sql.value("SELECT id FROM encryption_keys WHERE state = 'active'", as: String.self) ?? sealers.primary.key.id
            guard let sealer = sealers.sealer(forKeyID: active) else { throw StoreError.activeKeyUnavailable(keyID: active) }
            let key = try IntegrityKey.generate()
            try storeSealed(key, with: sealer, sql)
            return key
        }
    }

    /// Seals the integrity key under `sealer`'s key and stores it (a rotation calls this in the
    /// transaction that makes the new key active).
    static func storeSealed(_ key: IntegrityKey, with sealer: EmbeddingSealer, _ sql: PostgresSQL) throws {
        let sealed = try key.sealed(with: sealer)
        try setSetting(sealedKeySetting, IntegrityKey.settingValue(of: sealed), sql)
        try setSetting(sealedKeyIDSetting, Data(sealer.key.id.utf8), sql)
    }

    private static func setting(_ name: String, _ sql: PostgresSQL) throws -> Data? {
        try sql.value("SELECT value FROM store_settings WHERE name = \(name)", as: Data.self)
    }

    private static func setSetting(_ name: String, _ value: Data, _ sql: PostgresSQL) throws {
        try sql.execute("""
            INSERT INTO store_settings (name, value) VALUES (\(name), \(value))
            ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value
            """)
    }

    /// The MAC a subject row must carry.
    func subjectMAC(id: Int64, name: String, metadata: String, collectionID: Int64) -> Data {
        Data(integrity.subjectMAC(id: id, name: name, metadata: metadata, collectionID: collectionID))
    }

    /// Every subject's name and collection (read with the faces as the store opens, for
    /// `ReplicaMemory`), and apart, by id, those whose name, metadata or collection no longer
    /// match their MAC (or whose MAC is gone), inside the caller's read; only those of `ids`
    /// when given (the change feed re-reading renamed subjects).
    static func subjectNames(_ sql: PostgresSQL, integrity: IntegrityKey,
                             ids: [Int64]? = nil) throws -> (verified: [(id: Int64, name: String, collectionID: Int64)], tampered: [Int64]) {
        var verified: [(id: Int64, name: String, collectionID: Int64)] = [], tampered: [Int64] = []
        // A NULL array selects every subject. The rows are decoded on the connection's event
        // loop and their MACs checked here, at once (`forEachRow`).
        try sql.forEachRow("SELECT id, name, metadata, collection_id, mac FROM subjects WHERE \(ids)::BIGINT[] IS NULL OR id = ANY(\(ids)) ORDER BY id",
                           decode: { row in try row.decode((Int64, String, String, Int64, Data?).self) }) { subject in
            let (id, name, metadata, collectionID, mac) = subject
            let expected = integrity.subjectMAC(id: id, name: name, metadata: metadata, collectionID: collectionID)
            if mac == Data(expected) { verified.append((id, name, collectionID)) } else { tampered.append(id) }
        }
        return (verified, tampered)
    }

    /// Chains a new audit entry (already inserted, under the audit lock) to the one before it
    /// and moves the head (`AuditChain.append`).
    func chain(_ entry: AuditEntry, _ sql: PostgresSQL) throws {
        let previousRow = try sql.rows("SELECT id, chain FROM audit_log WHERE id < \(entry.id) ORDER BY id DESC LIMIT 1").first
        let previous = try previousRow.map { (id: try $0["id"].decode(Int64.self), chain: try $0["chain"].decode(Data?.self).map { [UInt8]($0) }) }
        let (chain, head) = AuditChain(key: integrity).append(entry, after: previous, head: try Self.setting(Self.auditHeadSetting, sql))
        try sql.execute("UPDATE audit_log SET chain = \(Data(chain)) WHERE id = \(entry.id)")
        try Self.setSetting(Self.auditHeadSetting, Data(head), sql)
    }

    /// What is wrong with the audit log (see `SQLiteStore.auditLogProblems`); empty when intact.
    func auditLogProblems() throws(StoreError) -> [String] {
        try read { sql in
            var verification = AuditChain.Verification(key: integrity)
            for row in try sql.rows("SELECT id, at, actor, action, subject_id, face_id, result, detail, chain FROM audit_log ORDER BY id") {
                guard verification.take(try AuditEntry(postgresRow: row), stored: try row["chain"].decode(Data?.self)) else { break }
            }
            return verification.problems(head: try Self.setting(Self.auditHeadSetting, sql))
        }
    }
}
