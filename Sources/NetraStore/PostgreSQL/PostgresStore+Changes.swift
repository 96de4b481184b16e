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
extension PostgresStore {
    /// What changed, as the index sees it.
    enum IndexChange: Equatable {
        /// A face was added, moved to another subject, or deleted: re-read it.
        case face(Int64)
        /// A subject was deleted with its faces.
        case subjectDeleted(Int64, collectionID: Int64)
        /// A collection was deleted with its subjects.
        case collectionDeleted(Int64)
    }

    /// The channel replicas listen on.
    static let changeChannel = "netra_changes"

    /// Records `changes` in the caller's transaction and notifies the other replicas at commit.
    /// Sequence numbers are taken under the audit lock (`auditLockKey`), which every write holds
    /// until it commits, so a replica that has read sequence N has seen every change before it.
    func recordChanges(_ changes: [IndexChange], _ sql: PostgresSQL) throws {
        guard !changes.isEmpty else { return }
        try sql.execute("SELECT pg_advisory_xact_lock(\(Self.auditLockKey))")
        var kinds: [String] = [], targets: [Int64] = [], collections: [Int64?] = []
        for change in changes {
            switch change {
            case let .face(id): (kinds, targets, collections) = (kinds + ["face"], targets + [id], collections + [nil])
            case let .subjectDeleted(id, collectionID):
                (kinds, targets, collections) = (kinds + ["subject"], targets + [id], collections + [collectionID])
            case let .collectionDeleted(id): (kinds, targets, collections) = (kinds + ["collection"], targets + [id], collections + [id])
            }
        }
        try sql.execute("""
            INSERT INTO changes (kind, target_id, collection_id, at)
            SELECT u.kind, u.target_id, u.collection_id, \(Timestamp.now())
            FROM unnest(\(kinds), \(targets), \(collections.map { $0 ?? 0 })) AS u(kind, target_id, collection_id)
            """)
        try sql.execute("SELECT pg_notify(\(Self.changeChannel), '')")
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
    func applyChanges(after sequence: Int64, limit: Int) throws(StoreError) -> (last: Int64, count: Int) {
        let rows = try read { sql in
            try sql.rows("SELECT seq, kind, target_id, collection_id FROM changes WHERE seq > \(sequence) ORDER BY seq LIMIT \(limit)")
                .map { (try $0["seq"].decode(Int64.self), try $0["kind"].decode(String.self), try $0["target_id"].decode(Int64.self),
                        try $0["collection_id"].decode(Int64?.self)) }
        }
        var faces: [Int64] = []
        for (_, kind, target, collection) in rows {
            switch kind {
            case "face": faces.append(target)
            case "subject": index.remove(subjectID: target, in: collection ?? SubjectCollection.defaultID)
            case "collection": index.remove(collectionID: target)
            default: break
            }
        }
        if !faces.isEmpty { try refreshFaces(Array(Set(faces))) }
        return (rows.last?.0 ?? sequence, rows.count)
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
        do {
            var placed = Set<Int64>()
            for row in rows {
                let id = try row["id"].decode(Int64.self), subjectID = try row["subject_id"].decode(Int64.self)
                let version = try row["model_version"].decode(String.self), keyID = try row["key_id"].decode(String.self)
                let collectionID = try row["collection_id"].decode(Int64.self)
                guard version == modelVersion, let sealer = sealers.sealer(forKeyID: keyID) else { continue }
                let sealed = SealedEmbedding(nonce: [UInt8](try row["nonce"].decode(Data.self)),
                                             ciphertext: [UInt8](try row["ciphertext"].decode(Data.self)), tag: [UInt8](try row["tag"].decode(Data.self)))
                let binding = EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: version, keyID: keyID)
                guard let values = try? sealer.open(sealed, binding: binding) else { continue }
                if let held = index.collection(ofFace: id), held != collectionID { _ = index.remove(faceID: id) }
                index.add(faceID: id, subjectID: subjectID, collectionID: collectionID, descriptor: values)
                placed.insert(id)
            }
            for id in ids where !placed.contains(id) { _ = index.remove(faceID: id) }
        } catch {
            throw PostgresFailure.storeError(error)
        }
    }
}
