import Foundation
import PostgresNIO

/// Subjects on PostgreSQL, with `SQLiteStore+Subjects.swift`'s meaning: the same validation,
/// errors, audit entries and MACs, every subject read checked against its MAC, the index
/// following each change after it committed. Where SQLite's single writer kept a read and the
/// write based on it together, the rows are locked `FOR UPDATE` first, so that replicas writing
/// at once cannot interleave.
extension PostgresStore {
    /// Creates a subject in an existing collection.
    public func createSubject(name: String, metadata: String, in collectionID: Int64) throws(StoreError) -> Subject {
        try StoreValidation.validate(name: name, metadata: metadata)
        return try write { sql in
            try self.requireCollection(collectionID, sql)
            return try self.insertSubject(sql, name: name, metadata: metadata, collectionID: collectionID)
        }
    }

    /// Inserts one subject inside the caller's transaction (the name already validated, the
    /// collection checked with `requireCollection`); audited unless `audited` is false (a bulk
    /// import audits once). The MAC covers the row's id, so it is written once the id is known.
    func insertSubject(_ sql: PostgresSQL, name: String, metadata: String, collectionID: Int64, audited: Bool = true) throws -> Subject {
        let now = Timestamp.now()
        guard let id = try sql.value("""
            INSERT INTO subjects (collection_id, name, metadata, created_at, updated_at)
            VALUES (\(collectionID), \(name), \(metadata), \(now), \(now)) RETURNING id
            """, as: Int64.self) else { throw StoreError.database("the subject was not stored") }
        try sql.execute("UPDATE subjects SET mac = \(subjectMAC(id: id, name: name, metadata: metadata, collectionID: collectionID)) WHERE id = \(id)")
        if audited { try audit(sql, action: "create_subject", subjectID: id, result: "ok") }
        return Subject(id: id, collectionID: collectionID, name: name, metadata: metadata, createdAt: now, updatedAt: now, faceCount: 0)
    }

    /// Creates several subjects (metadata `{}`) in one transaction with one audit entry.
    public func createSubjects(names: [String], in collectionID: Int64) throws(StoreError) -> [Subject] {
        for name in names { try StoreValidation.validate(name: name, metadata: "{}") }
        return try write { sql in
            try self.requireCollection(collectionID, sql)
            let subjects = try names.map { name in
                try self.insertSubject(sql, name: name, metadata: "{}", collectionID: collectionID, audited: false)
            }
            try self.audit(sql, action: "create_subjects", result: "ok", detail: "\(names.count) subjects")
            return subjects
        }
    }

    /// The subject with id `id`, or `nil`; `StoreError.tamperedSubject` when its MAC fails.
    public func subject(id: Int64) throws(StoreError) -> Subject? {
        try read { sql in try self.verifiedSubjects(ids: [id], sql).first }
    }

    /// The names of the subjects of `ids` that exist. A following replica answers from
    /// `ReplicaMemory` (current within the change feed's delay), reading only names it does not
    /// hold yet; while PostgreSQL cannot be reached, those are left out.
    public func subjectNames(ids: Set<Int64>) throws(StoreError) -> [Int64: String] {
        guard isFollowing else {
            return try read { sql in Dictionary(uniqueKeysWithValues: try self.verifiedSubjects(ids: Array(ids), sql).map { ($0.id, $0.name) }) }
        }
        var (known, unknown) = memory.names(of: ids)
        guard !unknown.isEmpty else { return known }
        do {
            for subject in try read({ sql in try self.verifiedSubjects(ids: unknown, sql) }) { known[subject.id] = subject.name }
        } catch .unreachable {
            return known
        }
        return known
    }

    /// The subjects of `collectionID` named exactly `name`, in id order.
    public func subjects(named name: String, in collectionID: Int64) throws(StoreError) -> [Subject] {
        try read { sql in try self.subjects(named: name, in: collectionID, sql) }
    }

    /// `subjects(named:in:)` inside the caller's transaction.
    func subjects(named name: String, in collectionID: Int64, _ sql: PostgresSQL) throws -> [Subject] {
        try verifiedSubjects("""
            SELECT \(unescaped: Self.subjectColumns) FROM subjects s
            WHERE s.collection_id = \(collectionID) AND s.name = \(name) ORDER BY s.id
            """, sql)
    }

    /// One page of a collection's subjects in id order, optionally those whose name contains a
    /// text (matched as SQLite's `LIKE` does: ASCII letters in either case, nothing else folded).
    public func subjects(in page: SubjectPage) throws(StoreError) -> [Subject] {
        // SQLite takes a negative limit as none and a negative offset as 0; PostgreSQL refuses both.
        let limit: Int? = page.limit < 0 ? nil : page.limit, offset = max(0, page.offset)
        return try read { sql in
            guard let nameFilter = page.nameContaining, !nameFilter.isEmpty else {
                return try self.verifiedSubjects("""
                    SELECT \(unescaped: Self.subjectColumns) FROM subjects s
                    WHERE s.collection_id = \(page.collectionID) ORDER BY s.id LIMIT \(limit) OFFSET \(offset)
                    """, sql)
            }
            let pattern = "%" + Self.asciiLowercased(nameFilter).replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            return try self.verifiedSubjects("""
                SELECT \(unescaped: Self.subjectColumns) FROM subjects s
                WHERE s.collection_id = \(page.collectionID)
                  AND translate(s.name, \(unescaped: Self.asciiUppercaseLiteral), \(unescaped: Self.asciiLowercaseLiteral)) LIKE \(pattern) ESCAPE '\\'
                ORDER BY s.id LIMIT \(limit) OFFSET \(offset)
                """, sql)
        }
    }

    /// How many subjects a collection holds (`nil`: the whole store).
    public func subjectCount(in collectionID: Int64?) throws(StoreError) -> Int {
        try read { sql in
            guard let collectionID else { return Int(try sql.value("SELECT count(*) FROM subjects", as: Int64.self) ?? 0) }
            return Int(try sql.value("SELECT count(*) FROM subjects WHERE collection_id = \(collectionID)", as: Int64.self) ?? 0)
        }
    }

    /// Renames a subject or replaces its metadata (or both), re-computing its MAC.
    public func updateSubject(id: Int64, with change: SubjectChange) throws(StoreError) -> Subject {
        let (subject, sequence) = try write { sql -> (Subject, Int64) in
            try self.lockSubjects([id], sql)
            guard var subject = try self.verifiedSubjects(ids: [id], sql).first else { throw StoreError.subjectNotFound(id) }
            try StoreValidation.validate(name: change.name ?? subject.name, metadata: change.metadata ?? subject.metadata)
            subject.name = change.name ?? subject.name
            subject.metadata = change.metadata ?? subject.metadata
            subject.updatedAt = Timestamp.now()
            let mac = self.subjectMAC(id: id, name: subject.name, metadata: subject.metadata, collectionID: subject.collectionID)
            try sql.execute("""
                UPDATE subjects SET name = \(subject.name), metadata = \(subject.metadata), updated_at = \(subject.updatedAt), mac = \(mac)
                WHERE id = \(id)
                """)
            try self.audit(sql, action: "update_subject", subjectID: id, result: "ok")
            let sequence = change.name == nil ? 0 : try self.recordChanges([.subjectRenamed(id)], sql)
            return (subject, sequence)
        }
        applyLocally(sequence) { memory.setName(subject.name, ofSubject: id, in: subject.collectionID) }
        return subject
    }

    /// Deletes a subject with its faces.
    public func deleteSubject(id: Int64) throws(StoreError) {
        let (collectionID, sequence) = try write { sql -> (Int64, Int64) in
            guard let collectionID = try sql.value("DELETE FROM subjects WHERE id = \(id) RETURNING collection_id", as: Int64.self) else {
                throw StoreError.subjectNotFound(id)
            }
            try self.audit(sql, action: "delete_subject", subjectID: id, result: "ok")
            return (collectionID, try self.recordChanges([.subjectDeleted(id, collectionID: collectionID)], sql))
        }
        applyLocally(sequence) {
            index.remove(subjectID: id, in: collectionID)
            memory.forgetSubjects([id])
        }
    }

    /// Deletes the subjects of `ids` that exist (each audited); returns how many were deleted.
    public func deleteSubjects(ids: [Int64]) throws(StoreError) -> Int {
        let (deleted, sequence) = try write { sql -> ([(id: Int64, collectionID: Int64)], Int64) in
            // Every lock the deletions need, before the first audit entry takes the audit lock:
            // a writer holding one of them and waiting for the audit lock cannot then deadlock
            // with this transaction (the cascade to faces needs ROW EXCLUSIVE, as enrollments
            // take it first and a rotation's last step takes SHARE before its audit entry).
            try sql.execute("LOCK TABLE faces IN ROW EXCLUSIVE MODE")
            _ = try sql.rows("SELECT id FROM subjects WHERE id = ANY(\(ids)) ORDER BY id FOR UPDATE")
            var sequence: Int64 = 0
            let deleted = try ids.compactMap { id -> (id: Int64, collectionID: Int64)? in
                guard let collectionID = try sql.value("DELETE FROM subjects WHERE id = \(id) RETURNING collection_id", as: Int64.self) else {
                    return nil
                }
                try self.audit(sql, action: "delete_subject", subjectID: id, result: "ok")
                sequence = try self.recordChanges([.subjectDeleted(id, collectionID: collectionID)], sql)
                return (id, collectionID)
            }
            return (deleted, sequence)
        }
        applyLocally(sequence) {
            for (collectionID, subjects) in Dictionary(grouping: deleted, by: \.collectionID) {
                index.remove(subjectIDs: Set(subjects.map(\.id)), in: collectionID)
            }
            memory.forgetSubjects(deleted.map(\.id))
        }
        return deleted.count
    }

    /// Moves subject `id`'s faces to `targetID` (same collection) and deletes `id`. Each moved
    /// face is opened and sealed anew under the active key: the seal binds it to its subject.
    public func mergeSubject(id: Int64, into targetID: Int64) throws(StoreError) -> Subject {
        guard id != targetID else { throw .invalidName("a subject cannot be merged into itself") }
        let (target, moved, sequence) = try write { sql -> (Subject, [(Int64, [Float])], Int64) in
            // Locked first: no face can be added to the source meanwhile (and lost with it).
            try self.lockSubjects([id, targetID], sql)
            guard let source = try self.verifiedSubjects(ids: [id], sql).first else { throw StoreError.subjectNotFound(id) }
            guard var target = try self.verifiedSubjects(ids: [targetID], sql).first else { throw StoreError.subjectNotFound(targetID) }
            guard source.collectionID == target.collectionID else { throw StoreError.subjectsInDifferentCollections }
            let sealer = try self.activeSealer(sql)
            var moved: [(Int64, [Float])] = [], movedIDs: [Int64] = []
            for row in try sql.rows("SELECT id, model_version, key_id, nonce, ciphertext, tag FROM faces WHERE subject_id = \(id) ORDER BY id") {
                let faceID = try row["id"].decode(Int64.self), version = try row["model_version"].decode(String.self)
                let keyID = try row["key_id"].decode(String.self)
                let sealed = SealedEmbedding(nonce: [UInt8](try row["nonce"].decode(Data.self)), ciphertext: [UInt8](try row["ciphertext"].decode(Data.self)),
                                             tag: [UInt8](try row["tag"].decode(Data.self)))
                guard let opener = self.sealers.sealer(forKeyID: keyID) else { throw StoreError.activeKeyUnavailable(keyID: keyID) }
                let values = try opener.open(sealed, binding: EmbeddingSealer.Binding(faceID: faceID, subjectID: id, modelVersion: version, keyID: keyID))
                let resealed = try sealer.seal(values, binding: EmbeddingSealer.Binding(faceID: faceID, subjectID: targetID, modelVersion: version,
                                                                                         keyID: sealer.key.id))
                try sql.execute("""
                    UPDATE faces SET subject_id = \(targetID), key_id = \(sealer.key.id), nonce = \(Data(resealed.nonce)),
                                     ciphertext = \(Data(resealed.ciphertext)), tag = \(Data(resealed.tag))
                    WHERE id = \(faceID)
                    """)
                if version == self.modelVersion { moved.append((faceID, values)) }
                movedIDs.append(faceID)
            }
            guard try sql.execute("DELETE FROM subjects WHERE id = \(id)") == 1 else { throw StoreError.subjectNotFound(id) }
            try self.audit(sql, action: "delete_subject", subjectID: id, result: "ok", detail: "merged into subject \(targetID)")
            try sql.execute("UPDATE subjects SET updated_at = \(Timestamp.now()) WHERE id = \(targetID)")
            try self.audit(sql, action: "merge_subject", subjectID: targetID, result: "ok",
                           detail: "subject \(id) merged: \(source.faceCount) faces moved")
            let sequence = try self.recordChanges(movedIDs.map(IndexChange.face) + [.subjectDeleted(id, collectionID: source.collectionID)], sql)
            target.faceCount += source.faceCount
            return (target, moved, sequence)
        }
        applyLocally(sequence) {
            for (faceID, values) in moved {
                index.add(faceID: faceID, subjectID: targetID, collectionID: target.collectionID, descriptor: values)
            }
            index.remove(subjectID: id, in: target.collectionID)
            memory.forgetSubjects([id])
        }
        return target
    }

    // MARK: Reading subjects

    /// The subjects with these ids that exist, in id order, with their face counts, each checked
    /// against its MAC (`StoreError.tamperedSubject`), inside the caller's transaction. For the
    /// faces code too: `try verifiedSubjects(ids: subjectIDs, sql)`.
    func verifiedSubjects(ids: [Int64], _ sql: PostgresSQL) throws -> [Subject] {
        guard !ids.isEmpty else { return [] }
        return try verifiedSubjects("SELECT \(unescaped: Self.subjectColumns) FROM subjects s WHERE s.id = ANY(\(ids)) ORDER BY s.id", sql)
    }

    /// The columns `verifiedSubjects` reads (a fixed fragment: `s` is `subjects`).
    static let subjectColumns = """
        s.id, s.collection_id, s.name, s.metadata, s.created_at, s.updated_at, s.mac,
        (SELECT count(*) FROM faces f WHERE f.subject_id = s.id) AS face_count
        """

    /// The subjects a query selecting `subjectColumns` finds, each checked against its MAC: a
    /// name or metadata edited outside NETRA is never answered (`StoreError.tamperedSubject`).
    func verifiedSubjects(_ query: PostgresQuery, _ sql: PostgresSQL) throws -> [Subject] {
        try sql.rows(query).map { row in
            let subject = Subject(id: try row["id"].decode(Int64.self), collectionID: try row["collection_id"].decode(Int64.self),
                                  name: try row["name"].decode(String.self), metadata: try row["metadata"].decode(String.self),
                                  createdAt: try row["created_at"].decode(String.self), updatedAt: try row["updated_at"].decode(String.self),
                                  faceCount: Int(try row["face_count"].decode(Int64.self)))
            let mac = try row["mac"].decode(Data?.self)
            guard mac == subjectMAC(id: subject.id, name: subject.name, metadata: subject.metadata, collectionID: subject.collectionID) else {
                throw StoreError.tamperedSubject(subject.id)
            }
            return subject
        }
    }

    /// Locks the subject rows of `ids` that exist until the caller's transaction ends, in id
    /// order (two merges of the same pair wait for each other instead of deadlocking).
    private func lockSubjects(_ ids: [Int64], _ sql: PostgresSQL) throws {
        try sql.execute("SELECT id FROM subjects WHERE id = ANY(\(ids)) ORDER BY id FOR UPDATE")
    }

    /// `text` with only its ASCII letters lowercased, as SQLite's `LIKE` compares them.
    private static func asciiLowercased(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.map { ("A"..."Z").contains($0) ? Unicode.Scalar($0.value + 32)! : $0 }))
    }

    private static let asciiUppercaseLiteral = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
    private static let asciiLowercaseLiteral = "'abcdefghijklmnopqrstuvwxyz'"
}
