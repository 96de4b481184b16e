import Foundation
import GRDB

/// What a key rotation did.
public struct RotationReport: Sendable, Equatable {
    public var resealed = 0
    /// Rows that could not be opened with any supplied key; left as they are.
    public var unreadableFaceIDs: [Int64] = []
    public var newKeyID = ""
    public var retiredKeyIDs: [String] = []
}

extension SQLiteStore {
    /// Re-seals every face under `newKey`, `batchSize` rows per transaction, so the store stays
    /// usable (other connections read and write between batches). The new key becomes active
    /// first, so from then on running servers seal new faces under it (or refuse them when
    /// they lack it, see `activeSealer`); interrupted, the rotation resumes when run again with
    /// both keys. The old keys are marked retired only in a transaction that finds no row left
    /// under them (rows that no supplied key opens excepted, and reported). The store must
    /// have been opened with the old key and the new one.
    public func rotateKey(to newKey: KeySource, batchSize: Int,
                          progress: (_ done: Int, _ total: Int) -> Void) throws(StoreError) -> RotationReport {
        let salt = try read { db in try Data.fetchOne(db, sql: "SELECT value FROM store_settings WHERE name = 'kdf_salt'") }
        let key: EncryptionKey
        do { key = try newKey.key(salt: [UInt8](salt ?? Data())) } catch { throw .key(error) }
        let newSealer = EmbeddingSealer(key: key)
        let available = sealers
        var report = RotationReport(newKeyID: key.id)

        try write { db in
            let now = Timestamp.now()
            try db.execute(sql: "UPDATE encryption_keys SET state = 'retiring' WHERE state = 'active' AND id <> ?", arguments: [key.id])
            try db.execute(sql: """
                INSERT INTO encryption_keys (id, created_at, state) VALUES (?, ?, 'active')
                ON CONFLICT(id) DO UPDATE SET state = 'active', retired_at = NULL
                """, arguments: [key.id, now])
            try Self.storeSealed(self.integrity, with: newSealer, db)
        }
        let total = try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM faces WHERE key_id <> ?", arguments: [key.id]) ?? 0 }
        var skipped = Set<Int64>()
        while true {
            let batch = try read { db in
                try FaceRow.filter(FaceRow.Columns.keyID != key.id).order(FaceRow.Columns.id).limit(batchSize + skipped.count)
                    .fetchAll(db).filter { !skipped.contains($0.id ?? 0) }
            }
            if batch.isEmpty {
                // Retire the old keys only if no row arrived under them since the last batch.
                let finished = try write { db -> Bool in
                    let left = try Int64.fetchAll(db, sql: "SELECT id FROM faces WHERE key_id <> ?", arguments: [key.id])
                    guard left.allSatisfy(skipped.contains) else { return false }
                    // A key some row (one no supplied key opens) is still sealed with stays retiring.
                    let unused = "state = 'retiring' AND id NOT IN (SELECT DISTINCT key_id FROM faces)"
                    report.retiredKeyIDs = try String.fetchAll(db, sql: "SELECT id FROM encryption_keys WHERE \(unused)")
                    try db.execute(sql: "UPDATE encryption_keys SET state = 'retired', retired_at = ? WHERE \(unused)",
                                   arguments: [Timestamp.now()])
                    try self.audit(db, action: "rotate_key", result: "ok", detail: "resealed \(report.resealed) faces under key \(key.id)")
                    return true
                }
                if finished { break }
                continue
            }
            try write { db in
                for row in batch {
                    guard let sealer = available.sealer(forKeyID: row.keyID),
                          let values = try? sealer.open(row.sealed, binding: row.binding)
                    else {
                        skipped.insert(row.id ?? 0)
                        report.unreadableFaceIDs.append(row.id ?? 0)
                        continue
                    }
                    var binding = row.binding
                    binding.keyID = key.id
                    let sealed = try newSealer.seal(values, binding: binding)
                    try db.execute(sql: "UPDATE faces SET key_id = ?, nonce = ?, ciphertext = ?, tag = ? WHERE id = ? AND key_id = ?",
                                   arguments: [key.id, Data(sealed.nonce), Data(sealed.ciphertext), Data(sealed.tag), row.id ?? 0, row.keyID])
                    report.resealed += db.changesCount
                }
            }
            progress(report.resealed, total)
        }
        return report
    }
}
