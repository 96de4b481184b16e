import Foundation
import PostgresNIO

extension PostgresStore {
    /// Re-seals every face under `newKey`, `batchSize` rows per transaction, as
    /// `SQLiteStore.rotateKey` does, so the store stays usable (other replicas read and write
    /// between batches). The new key becomes active first, so from then on every replica seals
    /// new faces under it (or refuses them when it lacks it, see `activeSealer`); interrupted,
    /// the rotation resumes when run again with both keys. Each batch locks its rows
    /// (`FOR UPDATE`), so a concurrent deletion waits for the batch or is seen by it. The old
    /// keys are marked retired only in a transaction that, holding off every change to faces,
    /// finds no row left under them (rows that no supplied key opens excepted, and reported).
    /// The store must have been opened with the old key and the new one.
    public func rotateKey(to newKey: KeySource, batchSize: Int,
                          progress: (_ done: Int, _ total: Int) -> Void) throws(StoreError) -> RotationReport {
        let salt = try read { sql in try sql.value("SELECT value FROM store_settings WHERE name = 'kdf_salt'", as: Data.self) }
        let key: EncryptionKey
        do { key = try newKey.key(salt: [UInt8](salt ?? Data())) } catch { throw .key(error) }
        let newSealer = EmbeddingSealer(key: key)
        let available = sealers
        var report = RotationReport(newKeyID: key.id)

        try write { sql in
            // Serialised with the key check of a store being opened (`resolveKeys`).
            try sql.execute("LOCK TABLE encryption_keys IN EXCLUSIVE MODE")
            try sql.execute("UPDATE encryption_keys SET state = 'retiring' WHERE state = 'active' AND id <> \(key.id)")
            try sql.execute("""
                INSERT INTO encryption_keys (id, created_at, state) VALUES (\(key.id), \(Timestamp.now()), 'active')
                ON CONFLICT (id) DO UPDATE SET state = 'active', retired_at = NULL
                """)
            try Self.storeSealed(self.integrity, with: newSealer, sql)
        }
        let total = try read { sql in Int(try sql.value("SELECT count(*) FROM faces WHERE key_id <> \(key.id)", as: Int64.self) ?? 0) }
        var skipped = Set<Int64>()
        while true {
            let resealed = try write { sql -> Int? in
                let batch = try sql.rows("""
                    SELECT id, subject_id, model_version, key_id, nonce, ciphertext, tag FROM faces
                    WHERE key_id <> \(key.id) AND id <> ALL(\(Array(skipped))) ORDER BY id LIMIT \(batchSize) FOR UPDATE
                    """).map(SealedFaceRow.init)
                guard !batch.isEmpty else { return nil }
                var count = 0
                for row in batch {
                    guard let sealer = available.sealer(forKeyID: row.binding.keyID),
                          let values = try? sealer.open(row.sealed, binding: row.binding)
                    else {
                        skipped.insert(row.binding.faceID)
                        report.unreadableFaceIDs.append(row.binding.faceID)
                        continue
                    }
                    var binding = row.binding
                    binding.keyID = key.id
                    let sealed = try newSealer.seal(values, binding: binding)
                    count += try sql.execute("""
                        UPDATE faces SET key_id = \(key.id), nonce = \(Data(sealed.nonce)), ciphertext = \(Data(sealed.ciphertext)),
                        tag = \(Data(sealed.tag)) WHERE id = \(row.binding.faceID) AND key_id = \(row.binding.keyID)
                        """)
                }
                return count
            }
            if let resealed {
                report.resealed += resealed
                progress(report.resealed, total)
                continue
            }
            // Retire the old keys only if no row arrived under them since the last batch: the
            // SHARE lock waits for every transaction writing faces and holds new ones off, so no
            // row can arrive under a key between this check and its retirement.
            let finished = try write { sql -> Bool in
                try sql.execute("LOCK TABLE faces IN SHARE MODE")
                let left = try sql.rows("SELECT id FROM faces WHERE key_id <> \(key.id)").map { try $0["id"].decode(Int64.self) }
                guard left.allSatisfy(skipped.contains) else { return false }
                // A key some row (one no supplied key opens) is still sealed with stays retiring.
                report.retiredKeyIDs = try sql.rows("""
                    UPDATE encryption_keys SET state = 'retired', retired_at = \(Timestamp.now())
                    WHERE state = 'retiring' AND id NOT IN (SELECT DISTINCT key_id FROM faces) RETURNING id
                    """).map { try $0["id"].decode(String.self) }.sorted()
                try self.audit(sql, action: "rotate_key", result: "ok", detail: "resealed \(report.resealed) faces under key \(key.id)")
                return true
            }
            if finished { break }
        }
        return report
    }
}

/// The sealed embedding of a `faces` row and what it is bound to, as a rotation reads it.
private struct SealedFaceRow {
    let binding: EmbeddingSealer.Binding
    let sealed: SealedEmbedding

    init(_ row: PostgresRandomAccessRow) throws {
        binding = EmbeddingSealer.Binding(faceID: try row["id"].decode(Int64.self), subjectID: try row["subject_id"].decode(Int64.self),
                                          modelVersion: try row["model_version"].decode(String.self),
                                          keyID: try row["key_id"].decode(String.self))
        sealed = SealedEmbedding(nonce: [UInt8](try row["nonce"].decode(Data.self)),
                                 ciphertext: [UInt8](try row["ciphertext"].decode(Data.self)),
                                 tag: [UInt8](try row["tag"].decode(Data.self)))
    }
}
