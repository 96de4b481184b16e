import Foundation
import GRDB

/// Authentication of the rows the sealed embeddings do not cover (`IntegrityKey`): subject
/// MACs, the audit log's chain and its head.
extension SQLiteStore {
    private static let sealedKeySetting = "integrity_key"
    private static let sealedKeyIDSetting = "integrity_key_id"
    private static let auditHeadSetting = "audit_head"

    /// The migration that brought the integrity key.
    static let integrityMigration = "0003_integrity"

    /// The store's integrity key, opened with the key it is sealed under. Only while schema 3
    /// is applied (`creating`: a new store, or one made before it) is one made, and the existing
    /// subjects and audit entries authenticated as they are; at any other time a missing key
    /// means the settings were tampered with, and the store is refused (otherwise deleting the
    /// key would have every forged row authenticated at the next start).
    static func integrityKey(in pool: DatabasePool, sealers: SealerSet, creating: Bool) throws(StoreError) -> IntegrityKey {
        do {
            return try pool.write { db in
                if let keyID = try Data.fetchOne(db, sql: "SELECT value FROM store_settings WHERE name = ?", arguments: [sealedKeyIDSetting]),
                   let blob = try Data.fetchOne(db, sql: "SELECT value FROM store_settings WHERE name = ?", arguments: [sealedKeySetting]) {
                    let id = String(decoding: keyID, as: UTF8.self)
                    guard let sealer = sealers.sealer(forKeyID: id) else { throw StoreError.activeKeyUnavailable(keyID: id) }
                    return try IntegrityKey.open(IntegrityKey.sealed(fromSetting: blob), with: sealer)
                }
                guard creating else { throw StoreError.integrityKeyMissing }
                let active = try String.fetchOne(db, sql: "SELECT id FROM encryption_keys WHERE state = 'active'") ?? sealers.primary.key.id
                guard let sealer = sealers.sealer(forKeyID: active) else { throw StoreError.activeKeyUnavailable(keyID: active) }
                let key = try IntegrityKey.generate()
                try storeSealed(key, with: sealer, db)
                for row in try Row.fetchAll(db, sql: "SELECT id, name, metadata, collection_id FROM subjects WHERE mac IS NULL") {
                    let mac = key.subjectMAC(id: row["id"], name: row["name"], metadata: row["metadata"], collectionID: row["collection_id"])
                    try db.execute(sql: "UPDATE subjects SET mac = ? WHERE id = ?", arguments: [Data(mac), row["id"] as Int64])
                }
                var previous = [UInt8](repeating: 0, count: 32)
                var last: Int64?
                for entry in try AuditEntry.order(Column("id")).fetchAll(db) {
                    previous = key.auditChain(previous: previous, entry: entry)
                    try db.execute(sql: "UPDATE audit_log SET chain = ? WHERE id = ?", arguments: [Data(previous), entry.id])
                    last = entry.id
                }
                if let last { try setHead(key.auditHead(lastID: last, chain: previous), db) }
                return key
            }
        } catch let error as StoreError {
            throw error
        } catch let error as SealError {
            throw .sealing(error)
        } catch let error as KeyError {
            throw .key(error)
        } catch {
            throw storeError(error)
        }
    }

    /// Seals the integrity key under `sealer`'s key and stores it (a rotation calls this in the
    /// transaction that makes the new key active).
    static func storeSealed(_ key: IntegrityKey, with sealer: EmbeddingSealer, _ db: Database) throws {
        let sealed = try key.sealed(with: sealer)
        try db.execute(sql: "INSERT OR REPLACE INTO store_settings (name, value) VALUES (?, ?)",
                       arguments: [sealedKeySetting, IntegrityKey.settingValue(of: sealed)])
        try db.execute(sql: "INSERT OR REPLACE INTO store_settings (name, value) VALUES (?, ?)",
                       arguments: [sealedKeyIDSetting, Data(sealer.key.id.utf8)])
    }

    private static func setHead(_ head: [UInt8], _ db: Database) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO store_settings (name, value) VALUES (?, ?)", arguments: [auditHeadSetting, Data(head)])
    }

    /// The MAC a subject row must carry.
    func subjectMAC(id: Int64, name: String, metadata: String, collectionID: Int64) -> Data {
        Data(integrity.subjectMAC(id: id, name: name, metadata: metadata, collectionID: collectionID))
    }

    /// Ids of subjects whose name, metadata or collection no longer match their MAC (or whose MAC is gone).
    static func tamperedSubjects(in pool: DatabasePool, integrity: IntegrityKey) throws(StoreError) -> [Int64] {
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: "SELECT id, name, metadata, collection_id, mac FROM subjects ORDER BY id").compactMap { row -> Int64? in
                    let id: Int64 = row["id"]
                    let mac: Data? = row["mac"]
                    let expected = integrity.subjectMAC(id: id, name: row["name"], metadata: row["metadata"], collectionID: row["collection_id"])
                    return mac == Data(expected) ? nil : id
                }
            }
        } catch {
            throw storeError(error)
        }
    }

    /// Chains a new audit entry (already inserted) to the one before it and moves the head
    /// (`AuditChain.append`).
    func chain(_ entry: AuditEntry, _ db: Database) throws {
        let previousRow = try Row.fetchOne(db, sql: "SELECT id, chain FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1", arguments: [entry.id])
        let previous = previousRow.map { (id: $0["id"] as Int64, chain: ($0["chain"] as Data?).map { [UInt8]($0) }) }
        let head = try Data.fetchOne(db, sql: "SELECT value FROM store_settings WHERE name = ?", arguments: [Self.auditHeadSetting])
        let (chain, newHead) = AuditChain(key: integrity).append(entry, after: previous, head: head)
        try db.execute(sql: "UPDATE audit_log SET chain = ? WHERE id = ?", arguments: [Data(chain), entry.id])
        try Self.setHead(newHead, db)
    }

    /// What is wrong with the audit log: the first entry whose chain does not follow from the
    /// ones before it (an entry edited, removed or inserted there), a head that does not match
    /// the last entry (entries removed from the end); empty when the log is intact.
    func auditLogProblems() throws(StoreError) -> [String] {
        try read { db in
            var verification = AuditChain.Verification(key: integrity)
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM audit_log ORDER BY id")
            while let row = try rows.next(), verification.take(AuditEntry(row: row), stored: row["chain"]) {}
            return verification.problems(head: try Data.fetchOne(db, sql: "SELECT value FROM store_settings WHERE name = ?",
                                                                 arguments: [Self.auditHeadSetting]))
        }
    }
}
