import Foundation
import GRDB
import NetraDescriptor

extension SQLiteStore {
    public func addFace(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError) -> StoredFace {
        let (face, collectionID) = try write { db -> (StoredFace, Int64) in
            guard let subject = try SubjectRow.fetchOne(db, key: subjectID) else { throw StoreError.subjectNotFound(subjectID) }
            return (try self.insertFace(db, subjectID: subjectID, descriptor: descriptor, quality: quality), subject.collectionID)
        }
        index.add(faceID: face.id, subjectID: subjectID, collectionID: collectionID, descriptor: descriptor.values)
        return face
    }

    public func addFace(toSubjectNamed name: String, in collectionID: Int64, descriptor: FaceDescriptor,
                        quality: FaceQuality) throws(StoreError) -> (subject: Subject, face: StoredFace) {
        try StoreValidation.validate(name: name, metadata: "{}")
        let (subject, face) = try write { db -> (Subject, StoredFace) in
            try self.requireCollection(collectionID, db)
            let named = try self.subjects(named: name, in: collectionID, db)
            guard named.count <= 1 else { throw StoreError.ambiguousName(name, count: named.count) }
            var subject = try named.first ?? self.insertSubject(db, name: name, metadata: "{}", collectionID: collectionID)
            let face = try self.insertFace(db, subjectID: subject.id, descriptor: descriptor, quality: quality)
            subject.faceCount += 1
            subject.updatedAt = face.createdAt
            return (subject, face)
        }
        index.add(faceID: face.id, subjectID: subject.id, collectionID: collectionID, descriptor: descriptor.values)
        return (subject, face)
    }

    /// Inserts one sealed face of an existing subject inside the caller's transaction.
    private func insertFace(_ db: Database, subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws -> StoredFace {
        let now = Timestamp.now()
        // The row id is part of the sealed binding, so the row is inserted first and sealed second.
        let sealer = try activeSealer(db)
        var row = FaceRow(subjectID: subjectID, modelVersion: modelVersion, keyID: sealer.key.id, sealed: .empty,
                          quality: quality, createdAt: now)
        try row.insert(db)
        row.sealed = try sealer.seal(descriptor.values, binding: row.binding)
        try row.update(db, columns: [FaceRow.Columns.nonce, FaceRow.Columns.ciphertext, FaceRow.Columns.tag])
        try SubjectRow.filter(SubjectRow.Columns.id == subjectID).updateAll(db, SubjectRow.Columns.updatedAt.set(to: now))
        try audit(db, action: "enroll", subjectID: subjectID, faceID: row.id, result: "ok")
        return row.storedFace
    }

    public func addFaces(_ faces: [NewFace]) throws(StoreError) -> [StoredFace] {
        let modelVersion = modelVersion
        let (stored, collections) = try write { db -> ([StoredFace], [Int64: Int64]) in
            let now = Timestamp.now()
            var collections: [Int64: Int64] = [:]
            for subjectID in Set(faces.map(\.subjectID)) {
                guard let subject = try SubjectRow.fetchOne(db, key: subjectID) else { throw StoreError.subjectNotFound(subjectID) }
                collections[subjectID] = subject.collectionID
            }
            let sealer = try self.activeSealer(db)
            // Ids are predicted from the table's sequence so that each row is sealed once.
            var next = (try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'faces'") ?? 0) + 1
            var result: [StoredFace] = []
            result.reserveCapacity(faces.count)
            for face in faces {
                var row = FaceRow(id: next, subjectID: face.subjectID, modelVersion: modelVersion, keyID: sealer.key.id, sealed: .empty,
                                  quality: face.quality, createdAt: now)
                row.sealed = try sealer.seal(face.descriptor.values, binding: row.binding)
                try row.insert(db)
                result.append(row.storedFace)
                next += 1
            }
            try self.audit(db, action: "enroll_bulk", result: "ok", detail: "\(faces.count) faces")
            return (result, collections)
        }
        for (face, input) in zip(stored, faces) {
            index.add(faceID: face.id, subjectID: face.subjectID, collectionID: collections[face.subjectID] ?? SubjectCollection.defaultID,
                      descriptor: input.descriptor.values)
        }
        return stored
    }

    public func deleteFace(id: Int64) throws(StoreError) {
        try write { db in
            guard let row = try FaceRow.fetchOne(db, key: id) else { throw StoreError.faceNotFound(id) }
            try row.delete(db)
            try self.audit(db, action: "delete_face", subjectID: row.subjectID, faceID: id, result: "ok")
        }
        index.remove(faceID: id)
    }

    public func face(id: Int64) throws(StoreError) -> StoredFace? {
        try read { db in try FaceRow.fetchOne(db, key: id)?.storedFace }
    }

    public func faces(ofSubject subjectID: Int64) throws(StoreError) -> [StoredFace] {
        try read { db in
            try FaceRow.filter(FaceRow.Columns.subjectID == subjectID).order(FaceRow.Columns.id).fetchAll(db).map(\.storedFace)
        }
    }

    public func faces(in page: FacePage) throws(StoreError) -> (faces: [(face: StoredFace, subjectName: String)], total: Int) {
        try read { db in
            var condition = "s.collection_id = ?"
            var arguments: StatementArguments = [page.collectionID]
            if let subjectID = page.subjectID {
                condition += " AND f.subject_id = ?"
                arguments += [subjectID]
            }
            let total = try Int.fetchOne(db, sql: "SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE \(condition)",
                                         arguments: arguments) ?? 0
            let faces = try FaceRow.fetchAll(db, sql: """
                SELECT f.* FROM faces f JOIN subjects s ON s.id = f.subject_id
                WHERE \(condition) ORDER BY f.id LIMIT ? OFFSET ?
                """, arguments: arguments + [page.limit, page.offset])
            // Names are read as subjects are, authenticated.
            let subjectIDs = Array(Set(faces.map(\.subjectID)))
            let names = Dictionary(uniqueKeysWithValues: try self.verified(Self.subjects(SubjectRow.filter(subjectIDs.contains(SubjectRow.Columns.id))), db)
                .map { ($0.id, $0.name) })
            return (faces.map { ($0.storedFace, names[$0.subjectID] ?? "") }, total)
        }
    }

    public func faceCount(in collectionID: Int64?) throws(StoreError) -> Int {
        try read { db in
            guard let collectionID else { return try FaceRow.fetchCount(db) }
            return try Int.fetchOne(db, sql: "SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE s.collection_id = ?",
                                    arguments: [collectionID]) ?? 0
        }
    }
}

/// A `faces` row: the sealed embedding and its binding (id, subject, model version, key).
struct FaceRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "faces"

    var id: Int64?
    var subjectID: Int64
    var modelVersion: String
    var keyID: String
    var nonce: Data
    var ciphertext: Data
    var tag: Data
    var faceWidth: Int
    var faceHeight: Int
    var detectorConfidence: Double
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, nonce, ciphertext, tag
        case subjectID = "subject_id", modelVersion = "model_version", keyID = "key_id", faceWidth = "face_width"
        case faceHeight = "face_height", detectorConfidence = "detector_confidence", createdAt = "created_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let subjectID = Column(CodingKeys.subjectID)
        static let modelVersion = Column(CodingKeys.modelVersion)
        static let keyID = Column(CodingKeys.keyID)
        static let nonce = Column(CodingKeys.nonce)
        static let ciphertext = Column(CodingKeys.ciphertext)
        static let tag = Column(CodingKeys.tag)
    }

    init(id: Int64? = nil, subjectID: Int64, modelVersion: String, keyID: String, sealed: SealedEmbedding, quality: FaceQuality,
         createdAt: String) {
        self.id = id
        self.subjectID = subjectID
        self.modelVersion = modelVersion
        self.keyID = keyID
        (nonce, ciphertext, tag) = (Data(), Data(), Data())
        faceWidth = quality.width
        faceHeight = quality.height
        detectorConfidence = quality.detectorConfidence
        self.createdAt = createdAt
        self.sealed = sealed
    }

    var sealed: SealedEmbedding {
        get { SealedEmbedding(nonce: [UInt8](nonce), ciphertext: [UInt8](ciphertext), tag: [UInt8](tag)) }
        set { (nonce, ciphertext, tag) = (Data(newValue.nonce), Data(newValue.ciphertext), Data(newValue.tag)) }
    }

    /// What the seal is bound to: moving the ciphertext to another row, subject, model or key breaks it.
    var binding: EmbeddingSealer.Binding {
        EmbeddingSealer.Binding(faceID: id ?? 0, subjectID: subjectID, modelVersion: modelVersion, keyID: keyID)
    }

    var storedFace: StoredFace {
        StoredFace(id: id ?? 0, subjectID: subjectID, modelVersion: modelVersion, keyID: keyID, faceWidth: faceWidth,
                   faceHeight: faceHeight, detectorConfidence: detectorConfidence, createdAt: createdAt)
    }

    mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

extension SealedEmbedding {
    /// The placeholder of a row inserted before its id is known.
    static let empty = SealedEmbedding(nonce: [], ciphertext: [], tag: [])
}
