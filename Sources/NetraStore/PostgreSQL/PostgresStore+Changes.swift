import Foundation
import PostgresNIO

/// The change log (`changes`, schema 2): how a change made through one replica reaches the
/// in-memory index of every other.
///
/// Each write that changes what the index holds records, in its own transaction, what changed
/// (`IndexChange`) and notifies `netra_changes`; `PostgresChangeFeed` applies the rows after
/// the last sequence this store applied. Applying is idempotent (a face is re-read and placed
/// as the database now has it), so a replica's own changes, already in its index, pass through
/// harmlessly, and so does reading a row twice after a reconnect.
///
/// A replica places its own changes at once, after their commit (`applyLocally`), unless the
/// feed has already applied them, or a later change: both run under `applyLock`, so a late
/// local update never undoes what another replica changed since.
extension PostgresStore {
    /// What changed, as the index sees it.
    enum IndexChange: Equatable {
        /// A face was added, moved to another subject, or deleted: re-read it.
        case face(Int64)
        /// A subject was deleted with its faces.
        case subjectDeleted(Int64, collectionID: Int64)
        /// A collection was deleted with its subjects.
        case collectionDeleted(Int64)
        /// A subject was renamed: re-read its name.
        case subjectRenamed(Int64)
    }

    /// The channel replicas listen on.
    static let changeChannel = "netra_changes"

    /// Records `changes` in the caller's transaction and notifies the other replicas at commit.
    /// Sequence numbers are taken under the audit lock (`auditLockKey`), which every write holds
    /// until it commits, so a replica that has read sequence N has seen every change before it.
    /// Returns the last sequence recorded.
    @discardableResult
    func recordChanges(_ changes: [IndexChange], _ sql: PostgresSQL) throws -> Int64 {
        guard !changes.isEmpty else { return 0 }
        try sql.execute("SELECT pg_advisory_xact_lock(\(Self.auditLockKey))")
        var kinds: [String] = [], targets: [Int64] = [], collections: [Int64?] = []
        for change in changes {
            switch change {
            case let .face(id): (kinds, targets, collections) = (kinds + ["face"], targets + [id], collections + [nil])
            case let .subjectDeleted(id, collectionID):
                (kinds, targets, collections) = (kinds + ["subject"], targets + [id], collections + [collectionID])
            case let .collectionDeleted(id): (kinds, targets, collections) = (kinds + ["collection"], targets + [id], collections + [id])
            case let .subjectRenamed(id): (kinds, targets, collections) = (kinds + ["name"], targets + [id], collections + [nil])
            }
        }
        let sequence = try sql.value("""
            WITH inserted AS (
                INSERT INTO changes (kind, target_id, collection_id, at)
                SELECT u.kind, u.target_id, u.collection_id, \(Timestamp.now())
                FROM unnest(\(kinds), \(targets), \(collections.map { $0 ?? 0 })) AS u(kind, target_id, collection_id)
                RETURNING seq)
            SELECT max(seq) FROM inserted
            """, as: Int64.self)
        try sql.execute("SELECT pg_notify(\(Self.changeChannel), '')")
        return sequence ?? 0
    }

    /// Applies one of this replica's own committed changes (recorded at `sequence`) to the
    /// index and `memory` at once, unless the feed got there first: it then applied the
    /// database's state, which may already hold a later change of another replica.
    func applyLocally(_ sequence: Int64, _ body: () -> Void) {
        applyLock.withLock {
            if appliedThrough < sequence { body() }
        }
    }

    /// Applies the change log after the last sequence applied, a batch at most; returns how
    /// many rows were read (fewer than `limit`: caught up).
    func catchUp(limit: Int) throws(StoreError) -> Int {
        applyLock.lock()
        defer { applyLock.unlock() }
        let (last, count) = try applyChanges(after: appliedThrough, limit: limit)
        appliedThrough = last
        return count
    }

    /// The last change recorded (0 for none), read in the snapshot the index is loaded from.
    static func lastChange(_ sql: PostgresSQL) throws -> Int64 {
        try sql.value("SELECT coalesce(max(seq), 0) FROM changes", as: Int64.self) ?? 0
    }

    /// Applies the changes recorded after `sequence`, at most `limit`; returns the last applied
    /// (`sequence` when there were none) and how many rows were read.
    ///
    /// Deletions are applied first, then every face named is placed as the database has it
    /// now (one query for all): the result is the database's current state whatever order the
    /// rows came in.
    private func applyChanges(after sequence: Int64, limit: Int) throws(StoreError) -> (last: Int64, count: Int) {
        let rows = try read { sql in
            try sql.rows("SELECT seq, kind, target_id, collection_id FROM changes WHERE seq > \(sequence) ORDER BY seq LIMIT \(limit)")
                .map { (try $0["seq"].decode(Int64.self), try $0["kind"].decode(String.self), try $0["target_id"].decode(Int64.self),
                        try $0["collection_id"].decode(Int64?.self)) }
        }
        var faces: [Int64] = [], renamed: [Int64] = []
        for (_, kind, target, collection) in rows {
            switch kind {
            case "face": faces.append(target)
            case "subject":
                index.remove(subjectID: target, in: collection ?? SubjectCollection.defaultID)
                memory.forgetSubjects([target])
            case "collection":
                index.remove(collectionID: target)
                memory.forgetCollection(target)
            case "name": renamed.append(target)
            default: break
            }
        }
        if !faces.isEmpty { try refreshFaces(Array(Set(faces))) }
        if !renamed.isEmpty { try refreshNames(Array(Set(renamed))) }
        return (rows.last?.0 ?? sequence, rows.count)
    }

    /// Reads the names of `ids` into `memory` as the database has them (MAC-checked; a
    /// subject gone or failing its MAC is forgotten).
    private func refreshNames(_ ids: [Int64]) throws(StoreError) {
        let names = try read { sql in try Self.subjectNames(sql, integrity: integrity, ids: ids) }
        memory.replaceNames(of: ids, with: names.verified)
    }

    /// Places the faces `ids` in the index as the database has them now: removed when gone (or
    /// of another model version, or failing to open), else under their current subject and
    /// collection (an add replaces a face already held).
    private func refreshFaces(_ ids: [Int64]) throws(StoreError) {
        let rows = try read { sql in
            try sql.rows("""
                SELECT f.id, f.subject_id, f.model_version, f.key_id, f.nonce, f.ciphertext, f.tag, s.collection_id
                FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE f.id = ANY(\(ids))
                """)
        }
        let subjects = Set(try rows.map { row throws(StoreError) in
            do { return try row["subject_id"].decode(Int64.self) } catch { throw PostgresFailure.storeError(error) }
        })
        // A face's subject named for the first time here (made on another replica).
        let (_, unnamed) = memory.names(of: subjects)
        if !unnamed.isEmpty { try refreshNames(unnamed) }
        do {
            var placed = Set<Int64>()
            for row in rows {
                let id = try row["id"].decode(Int64.self), subjectID = try row["subject_id"].decode(Int64.self)
                let version = try row["model_version"].decode(String.self), keyID = try row["key_id"].decode(String.self)
                let collectionID = try row["collection_id"].decode(Int64.self)
                guard version == modelVersion else { continue }
                guard let sealer = sealers.sealer(forKeyID: keyID) else {
                    memory.faceUnreadable(id, subjectID: subjectID, collectionID: collectionID, missingKey: keyID)
                    continue
                }
                let sealed = SealedEmbedding(nonce: [UInt8](try row["nonce"].decode(Data.self)),
                                             ciphertext: [UInt8](try row["ciphertext"].decode(Data.self)), tag: [UInt8](try row["tag"].decode(Data.self)))
                let binding = EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: version, keyID: keyID)
                guard let values = try? sealer.open(sealed, binding: binding) else {
                    memory.faceUnreadable(id, subjectID: subjectID, collectionID: collectionID, missingKey: nil)
                    continue
                }
                memory.faceReadable(id)
                if let held = index.collection(ofFace: id), held != collectionID { _ = index.remove(faceID: id) }
                index.add(faceID: id, subjectID: subjectID, collectionID: collectionID, descriptor: values)
                placed.insert(id)
            }
            for id in ids where !placed.contains(id) {
                _ = index.remove(faceID: id)
                if rows.allSatisfy({ (try? $0["id"].decode(Int64.self)) != id }) { memory.faceReadable(id) }
            }
        } catch {
            throw PostgresFailure.storeError(error)
        }
    }
}
