import Foundation
import NetraDescriptor
import PostgresNIO

/// Enrolled faces on PostgreSQL, as `SQLiteStore+Faces.swift` keeps them: each embedding sealed
/// and bound to its row id, subject, model version and key; each change in one transaction with
/// its audit entry; the index updated only after the commit.
extension PostgresStore {
    public func addFace(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError) -> StoredFace {
        let (face, collectionID, sequence) = try write { sql -> (StoredFace, Int64, Int64) in
            try Self.lockFacesForEnrollment(sql)
            let collectionID = try self.lockedCollection(ofSubject: subjectID, sql)
            let (face, sequence) = try self.insertFace(sql, subjectID: subjectID, descriptor: descriptor, quality: quality)
            return (face, collectionID, sequence)
        }
        applyLocally(sequence) { index.add(faceID: face.id, subjectID: subjectID, collectionID: collectionID, descriptor: descriptor.values) }
        return face
    }

    /// Enrolls a face under the subject named `name` in the collection, creating that subject in
    /// the same transaction when none has the name (several with it: `ambiguousName`).
    ///
    /// The name is looked up under a transaction-scoped advisory lock of its own, so two
    /// enrollments under one new name, on this replica or another, make one subject: the second
    /// waits for the first to commit and then finds its subject.
    public func addFace(toSubjectNamed name: String, in collectionID: Int64, descriptor: FaceDescriptor,
                        quality: FaceQuality) throws(StoreError) -> (subject: Subject, face: StoredFace) {
        try StoreValidation.validate(name: name, metadata: "{}")
        let (subject, face, sequence) = try write { sql -> (Subject, StoredFace, Int64) in
            // Before the audit lock a new subject takes: a rotation's last step takes the two in that order too.
            try Self.lockFacesForEnrollment(sql)
            try sql.execute("SELECT pg_advisory_xact_lock(\(Self.subjectNameLockKey), hashtext(\(name)))")
            try self.requireCollection(collectionID, sql)
            let named = try self.subjects(named: name, in: collectionID, sql)
            guard named.count <= 1 else { throw StoreError.ambiguousName(name, count: named.count) }
            var subject = try named.first ?? self.insertSubject(sql, name: name, metadata: "{}", collectionID: collectionID)
            let (face, sequence) = try self.insertFace(sql, subjectID: subject.id, descriptor: descriptor, quality: quality)
            subject.faceCount += 1
            subject.updatedAt = face.createdAt
            return (subject, face, sequence)
        }
        applyLocally(sequence) {
            index.add(faceID: face.id, subjectID: subject.id, collectionID: collectionID, descriptor: descriptor.values)
            memory.setName(subject.name, ofSubject: subject.id, in: collectionID)
        }
        return (subject, face)
    }

    /// The first key of the advisory locks that serialize enrollments by subject name (the
    /// second is the name's hash); the two-key lock space never meets the one-key locks'.
    static let subjectNameLockKey: Int32 = 0x4E_45_54_01

    /// Takes the lock the faces' insert takes anyway, before the active key is read: a key
    /// rotation's last step (`LOCK TABLE faces IN SHARE MODE`) then either waits for this
    /// transaction and finds its rows under the old key, or commits first and this transaction
    /// reads the new active key. Read first and inserted later, a row could land under a key
    /// the rotation just retired.
    private static func lockFacesForEnrollment(_ sql: PostgresSQL) throws {
        try sql.execute("LOCK TABLE faces IN ROW EXCLUSIVE MODE")
    }

    /// The collection of an existing subject, whose row stays locked `FOR KEY SHARE` until the
    /// caller commits, so that the subject cannot be deleted under the face being added to it.
    private func lockedCollection(ofSubject subjectID: Int64, _ sql: PostgresSQL) throws -> Int64 {
        guard let collectionID = try sql.value("SELECT collection_id FROM subjects WHERE id = \(subjectID) FOR KEY SHARE", as: Int64.self)
        else { throw StoreError.subjectNotFound(subjectID) }
        return collectionID
    }

    /// Inserts one sealed face of an existing subject inside the caller's transaction; returns
    /// it with the sequence of its change-log entry.
    private func insertFace(_ sql: PostgresSQL, subjectID: Int64, descriptor: FaceDescriptor,
                            quality: FaceQuality) throws -> (StoredFace, Int64) {
        let now = Timestamp.now()
        // The row id is part of the sealed binding, so the row is inserted first and sealed second.
        let sealer = try activeSealer(sql)
        let keyID = sealer.key.id
        guard let id = try sql.value("""
            INSERT INTO faces (subject_id, model_version, key_id, nonce, ciphertext, tag, face_width, face_height, detector_confidence, created_at)
            VALUES (\(subjectID), \(modelVersion), \(keyID), ''::bytea, ''::bytea, ''::bytea, \(quality.width), \(quality.height),
                    \(quality.detectorConfidence), \(now))
            RETURNING id
            """, as: Int64.self) else { throw StoreError.database("the face was not stored") }
        let sealed = try sealer.seal(descriptor.values,
                                     binding: EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: modelVersion, keyID: keyID))
        try sql.execute("""
            UPDATE faces SET nonce = \(Data(sealed.nonce)), ciphertext = \(Data(sealed.ciphertext)), tag = \(Data(sealed.tag))
            WHERE id = \(id)
            """)
        try sql.execute("UPDATE subjects SET updated_at = \(now) WHERE id = \(subjectID)")
        try audit(sql, action: "enroll", subjectID: subjectID, faceID: id, result: "ok")
        let sequence = try recordChanges([.face(id)], sql)
        return (StoredFace(id: id, subjectID: subjectID, modelVersion: modelVersion, keyID: keyID, faceWidth: quality.width,
                           faceHeight: quality.height, detectorConfidence: quality.detectorConfidence, createdAt: now), sequence)
    }

    /// Stores many faces of existing subjects in one transaction with one audit entry
    /// (`enroll_bulk`), as a bulk import does. The ids are taken from the table's sequence
    /// first, so that each row is sealed once and inserted sealed, many rows a statement.
    public func addFaces(_ faces: [NewFace]) throws(StoreError) -> [StoredFace] {
        let modelVersion = modelVersion
        let (stored, collections, sequence) = try write { sql -> ([StoredFace], [Int64: Int64], Int64) in
            try Self.lockFacesForEnrollment(sql)
            let now = Timestamp.now()
            let subjectIDs = Array(Set(faces.map(\.subjectID)))
            var collections: [Int64: Int64] = [:]
            // Locked as in `lockedCollection`: no subject can be deleted under its new faces.
            for row in try sql.rows("SELECT id, collection_id FROM subjects WHERE id = ANY(\(subjectIDs)) FOR KEY SHARE") {
                collections[try row["id"].decode(Int64.self)] = try row["collection_id"].decode(Int64.self)
            }
            if let missing = faces.first(where: { collections[$0.subjectID] == nil }) { throw StoreError.subjectNotFound(missing.subjectID) }
            let sealer = try self.activeSealer(sql)
            let keyID = sealer.key.id
            let ids = try sql.rows("SELECT nextval('faces_id_seq') AS id FROM generate_series(1, \(faces.count))")
                .map { try $0["id"].decode(Int64.self) }.sorted()
            guard ids.count == faces.count else { throw StoreError.database("the face ids were not allocated") }
            var result: [StoredFace] = []
            result.reserveCapacity(faces.count)
            for start in stride(from: 0, to: faces.count, by: Self.bulkInsertRows) {
                let range = start..<min(start + Self.bulkInsertRows, faces.count)
                var nonces: [ByteBuffer] = [], ciphertexts: [ByteBuffer] = [], tags: [ByteBuffer] = []
                for (id, face) in zip(ids[range], faces[range]) {
                    let binding = EmbeddingSealer.Binding(faceID: id, subjectID: face.subjectID, modelVersion: modelVersion, keyID: keyID)
                    let sealed = try sealer.seal(face.descriptor.values, binding: binding)
                    nonces.append(ByteBuffer(bytes: sealed.nonce))
                    ciphertexts.append(ByteBuffer(bytes: sealed.ciphertext))
                    tags.append(ByteBuffer(bytes: sealed.tag))
                    result.append(StoredFace(id: id, subjectID: face.subjectID, modelVersion: modelVersion, keyID: keyID,
                                             faceWidth: face.quality.width, faceHeight: face.quality.height,
                                             detectorConfidence: face.quality.detectorConfidence, createdAt: now))
                }
                let chunk = faces[range]
                try sql.execute("""
                    INSERT INTO faces (id, subject_id, model_version, key_id, nonce, ciphertext, tag, face_width, face_height,
                                       detector_confidence, created_at)
                    SELECT u.id, u.subject_id, \(modelVersion), \(keyID), u.nonce, u.ciphertext, u.tag, u.width, u.height, u.confidence, \(now)
                    FROM unnest(\(Array(ids[range])), \(chunk.map(\.subjectID)), \(nonces), \(ciphertexts), \(tags),
                                \(chunk.map { Int32(clamping: $0.quality.width) }), \(chunk.map { Int32(clamping: $0.quality.height) }),
                                \(chunk.map(\.quality.detectorConfidence)))
                        AS u(id, subject_id, nonce, ciphertext, tag, width, height, confidence)
                    """)
            }
            try self.audit(sql, action: "enroll_bulk", result: "ok", detail: "\(faces.count) faces")
            return (result, collections, try self.recordChanges(ids.map(IndexChange.face), sql))
        }
        applyLocally(sequence) {
            for (face, input) in zip(stored, faces) {
                index.add(faceID: face.id, subjectID: face.subjectID, collectionID: collections[face.subjectID] ?? SubjectCollection.defaultID,
                          descriptor: input.descriptor.values)
            }
        }
        return stored
    }

    /// Rows of one `addFaces` insert statement (a few megabytes of sealed embeddings).
    static let bulkInsertRows = 1000

    public func deleteFace(id: Int64) throws(StoreError) {
        let sequence = try write { sql in
            guard let subjectID = try sql.value("DELETE FROM faces WHERE id = \(id) RETURNING subject_id", as: Int64.self) else {
                throw StoreError.faceNotFound(id)
            }
            try self.audit(sql, action: "delete_face", subjectID: subjectID, faceID: id, result: "ok")
            return try self.recordChanges([.face(id)], sql)
        }
        applyLocally(sequence) { _ = index.remove(faceID: id) }
    }

    public func face(id: Int64) throws(StoreError) -> StoredFace? {
        try read { sql in
            try sql.rows("SELECT \(unescaped: FaceRecord.columns) FROM faces f WHERE f.id = \(id)").first.map(FaceRecord.storedFace)
        }
    }

    public func faces(ofSubject subjectID: Int64) throws(StoreError) -> [StoredFace] {
        try read { sql in
            try sql.rows("SELECT \(unescaped: FaceRecord.columns) FROM faces f WHERE f.subject_id = \(subjectID) ORDER BY f.id")
                .map(FaceRecord.storedFace)
        }
    }

    public func faces(in page: FacePage) throws(StoreError) -> (faces: [(face: StoredFace, subjectName: String)], total: Int) {
        // SQLite takes a negative limit as none and a negative offset as 0; PostgreSQL refuses both.
        let limit: Int? = page.limit < 0 ? nil : page.limit, offset = max(0, page.offset)
        return try read { sql in
            // A NULL subject id selects every subject of the collection.
            let total = try sql.value("""
                SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id
                WHERE s.collection_id = \(page.collectionID) AND (\(page.subjectID)::BIGINT IS NULL OR f.subject_id = \(page.subjectID))
                """, as: Int64.self) ?? 0
            let faces = try sql.rows("""
                SELECT \(unescaped: FaceRecord.columns) FROM faces f JOIN subjects s ON s.id = f.subject_id
                WHERE s.collection_id = \(page.collectionID) AND (\(page.subjectID)::BIGINT IS NULL OR f.subject_id = \(page.subjectID))
                ORDER BY f.id LIMIT \(limit) OFFSET \(offset)
                """).map(FaceRecord.storedFace)
            // Names are read as subjects are, authenticated.
            let subjects = try self.verifiedSubjects(ids: Array(Set(faces.map(\.subjectID))), sql)
            let names = Dictionary(subjects.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
            return (faces.map { ($0, names[$0.subjectID] ?? "") }, Int(total))
        }
    }

    public func faceCount(in collectionID: Int64?) throws(StoreError) -> Int {
        try read { sql in
            guard let collectionID else { return Int(try sql.value("SELECT count(*) FROM faces", as: Int64.self) ?? 0) }
            return Int(try sql.value("""
                SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE s.collection_id = \(collectionID)
                """, as: Int64.self) ?? 0)
        }
    }
}

/// A `faces` row as the listings read it: everything but the sealed embedding.
enum FaceRecord {
    /// The columns `storedFace` decodes (a fixed fragment: `f` is `faces`).
    static let columns = "f.id, f.subject_id, f.model_version, f.key_id, f.face_width, f.face_height, f.detector_confidence, f.created_at"

    static func storedFace(_ row: PostgresRandomAccessRow) throws -> StoredFace {
        StoredFace(id: try row["id"].decode(Int64.self), subjectID: try row["subject_id"].decode(Int64.self),
                   modelVersion: try row["model_version"].decode(String.self), keyID: try row["key_id"].decode(String.self),
                   faceWidth: Int(try row["face_width"].decode(Int32.self)), faceHeight: Int(try row["face_height"].decode(Int32.self)),
                   detectorConfidence: try row["detector_confidence"].decode(Double.self), createdAt: try row["created_at"].decode(String.self))
    }
}
