import Foundation
import GRDB

extension SQLiteStore {
    public func createSubject(name: String, metadata: String, in collectionID: Int64) throws(StoreError) -> Subject {
        try StoreValidation.validate(name: name, metadata: metadata)
        return try write { db in
            try self.requireCollection(collectionID, db)
            return try self.insertSubject(db, name: name, metadata: metadata, collectionID: collectionID)
        }
    }

    /// Inserts one subject inside the caller's transaction (the name already validated, the
    /// collection checked); audited unless `audited` is false (a bulk import audits once).
    func insertSubject(_ db: Database, name: String, metadata: String, collectionID: Int64, audited: Bool = true) throws -> Subject {
        let now = Timestamp.now()
        var row = SubjectRow(id: nil, collectionID: collectionID, name: name, metadata: metadata, createdAt: now, updatedAt: now)
        try row.insert(db)
        let id = db.lastInsertedRowID
        try SubjectRow.filter(SubjectRow.Columns.id == id)
            .updateAll(db, SubjectRow.Columns.mac.set(to: subjectMAC(id: id, name: name, metadata: metadata, collectionID: collectionID)))
        if audited { try audit(db, action: "create_subject", subjectID: id, result: "ok") }
        return Subject(id: id, collectionID: collectionID, name: name, metadata: metadata, createdAt: now, updatedAt: now, faceCount: 0)
    }

    public func createSubjects(names: [String], in collectionID: Int64) throws(StoreError) -> [Subject] {
        for name in names { try StoreValidation.validate(name: name, metadata: "{}") }
        return try write { db in
            try self.requireCollection(collectionID, db)
            let subjects = try names.map { name in
                try self.insertSubject(db, name: name, metadata: "{}", collectionID: collectionID, audited: false)
            }
            try self.audit(db, action: "create_subjects", result: "ok", detail: "\(names.count) subjects")
            return subjects
        }
    }

    public func subject(id: Int64) throws(StoreError) -> Subject? {
        try read { db in try self.verified(Self.subjects(SubjectRow.filter(SubjectRow.Columns.id == id)), db).first }
    }

    public func subjectNames(ids: Set<Int64>) throws(StoreError) -> [Int64: String] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            Dictionary(uniqueKeysWithValues: try self.verified(Self.subjects(SubjectRow.filter(ids.contains(SubjectRow.Columns.id))), db)
                .map { ($0.id, $0.name) })
        }
    }

    public func subjects(named name: String, in collectionID: Int64) throws(StoreError) -> [Subject] {
        try read { db in try self.subjects(named: name, in: collectionID, db) }
    }

    func subjects(named name: String, in collectionID: Int64, _ db: Database) throws -> [Subject] {
        try verified(Self.subjects(SubjectRow.filter(SubjectRow.Columns.collectionID == collectionID && SubjectRow.Columns.name == name)), db)
    }

    public func subjects(in page: SubjectPage) throws(StoreError) -> [Subject] {
        try read { db in
            var request = SubjectRow.filter(SubjectRow.Columns.collectionID == page.collectionID)
            if let nameFilter = page.nameContaining, !nameFilter.isEmpty {
                let pattern = "%" + nameFilter.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                request = request.filter(sql: "name LIKE ? ESCAPE '\\'", arguments: [pattern])
            }
            return try self.verified(Self.subjects(request).limit(page.limit, offset: page.offset), db)
        }
    }

    public func subjectCount(in collectionID: Int64?) throws(StoreError) -> Int {
        try read { db in
            guard let collectionID else { return try SubjectRow.fetchCount(db) }
            return try SubjectRow.filter(SubjectRow.Columns.collectionID == collectionID).fetchCount(db)
        }
    }

    public func updateSubject(id: Int64, with change: SubjectChange) throws(StoreError) -> Subject {
        let current = try subject(id: id)
        guard var subject = current else { throw .subjectNotFound(id) }
        try StoreValidation.validate(name: change.name ?? subject.name, metadata: change.metadata ?? subject.metadata)
        subject.name = change.name ?? subject.name
        subject.metadata = change.metadata ?? subject.metadata
        subject.updatedAt = Timestamp.now()
        let updated = subject
        try write { db in
            try SubjectRow.filter(SubjectRow.Columns.id == id).updateAll(db, [
                SubjectRow.Columns.name.set(to: updated.name),
                SubjectRow.Columns.metadata.set(to: updated.metadata),
                SubjectRow.Columns.updatedAt.set(to: updated.updatedAt),
                SubjectRow.Columns.mac.set(to: self.subjectMAC(id: id, name: updated.name, metadata: updated.metadata,
                                                               collectionID: updated.collectionID)),
            ])
            try self.audit(db, action: "update_subject", subjectID: id, result: "ok")
        }
        return updated
    }

    public func deleteSubject(id: Int64) throws(StoreError) {
        let collectionID = try write { db -> Int64 in
            guard let row = try SubjectRow.fetchOne(db, key: id) else { throw StoreError.subjectNotFound(id) }
            try row.delete(db)
            try self.audit(db, action: "delete_subject", subjectID: id, result: "ok")
            return row.collectionID
        }
        index.remove(subjectID: id, in: collectionID)
    }

    public func deleteSubjects(ids: [Int64]) throws(StoreError) -> Int {
        let deleted = try write { db -> [(id: Int64, collectionID: Int64)] in
            try ids.compactMap { id in
                guard let row = try SubjectRow.fetchOne(db, key: id) else { return nil }
                try row.delete(db)
                try self.audit(db, action: "delete_subject", subjectID: id, result: "ok")
                return (id, row.collectionID)
            }
        }
        for (collectionID, subjects) in Dictionary(grouping: deleted, by: \.collectionID) {
            index.remove(subjectIDs: Set(subjects.map(\.id)), in: collectionID)
        }
        return deleted.count
    }

    public func mergeSubject(id: Int64, into targetID: Int64) throws(StoreError) -> Subject {
        guard id != targetID else { throw .invalidName("a subject cannot be merged into itself") }
        let (target, moved) = try write { db -> (Subject, [(Int64, [Float])]) in
            guard let source = try self.verified(Self.subjects(SubjectRow.filter(SubjectRow.Columns.id == id)), db).first else {
                throw StoreError.subjectNotFound(id)
            }
            guard var target = try self.verified(Self.subjects(SubjectRow.filter(SubjectRow.Columns.id == targetID)), db).first else {
                throw StoreError.subjectNotFound(targetID)
            }
            guard source.collectionID == target.collectionID else { throw StoreError.subjectsInDifferentCollections }
            // The seal binds a face to its subject: each moved face is opened and sealed anew.
            let sealer = try self.activeSealer(db)
            var moved: [(Int64, [Float])] = []
            for var row in try FaceRow.filter(FaceRow.Columns.subjectID == id).fetchAll(db) {
                guard let opener = self.sealers.sealer(forKeyID: row.keyID) else { throw StoreError.activeKeyUnavailable(keyID: row.keyID) }
                let values = try opener.open(row.sealed, binding: row.binding)
                row.subjectID = targetID
                row.keyID = sealer.key.id
                row.sealed = try sealer.seal(values, binding: row.binding)
                try row.update(db)
                if row.modelVersion == self.modelVersion { moved.append((row.id ?? 0, values)) }
            }
            guard try SubjectRow.deleteOne(db, key: id) else { throw StoreError.subjectNotFound(id) }
            try self.audit(db, action: "delete_subject", subjectID: id, result: "ok", detail: "merged into subject \(targetID)")
            try SubjectRow.filter(SubjectRow.Columns.id == targetID).updateAll(db, SubjectRow.Columns.updatedAt.set(to: Timestamp.now()))
            try self.audit(db, action: "merge_subject", subjectID: targetID, result: "ok",
                           detail: "subject \(id) merged: \(source.faceCount) faces moved")
            target.faceCount += source.faceCount
            return (target, moved)
        }
        for (faceID, values) in moved {
            index.add(faceID: faceID, subjectID: targetID, collectionID: target.collectionID, descriptor: values)
        }
        index.remove(subjectID: id, in: target.collectionID)
        return target
    }

    /// Subjects in id order with their face counts and MACs (see `verified`).
    static func subjects(_ request: QueryInterfaceRequest<SubjectRow>) -> QueryInterfaceRequest<Row> {
        request
            .select(SubjectRow.Columns.id, SubjectRow.Columns.collectionID, SubjectRow.Columns.name, SubjectRow.Columns.metadata,
                    SubjectRow.Columns.createdAt, SubjectRow.Columns.updatedAt, SubjectRow.Columns.mac,
                    SQL("(SELECT count(*) FROM faces f WHERE f.subject_id = subjects.id)").forKey("face_count"))
            .order(SubjectRow.Columns.id)
            .asRequest(of: Row.self)
    }

    /// The subjects `request` finds, each checked against its MAC: a name or metadata edited
    /// outside NETRA is never answered (`StoreError.tamperedSubject`).
    func verified(_ request: QueryInterfaceRequest<Row>, _ db: Database) throws -> [Subject] {
        try request.fetchAll(db).map { row in
            let subject = Subject(row: row)
            let mac: Data? = row["mac"]
            guard mac == subjectMAC(id: subject.id, name: subject.name, metadata: subject.metadata, collectionID: subject.collectionID) else {
                throw StoreError.tamperedSubject(subject.id)
            }
            return subject
        }
    }
}

/// A `subjects` row.
struct SubjectRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "subjects"

    var id: Int64?
    var collectionID: Int64
    var name: String
    var metadata: String
    var createdAt: String
    var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case id, name, metadata
        case collectionID = "collection_id", createdAt = "created_at", updatedAt = "updated_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
        static let collectionID = Column(CodingKeys.collectionID)
        static let name = Column(CodingKeys.name)
        static let metadata = Column(CodingKeys.metadata)
        static let createdAt = Column(CodingKeys.createdAt)
        static let updatedAt = Column(CodingKeys.updatedAt)
        /// Written after the insert (it covers the row's id); see `IntegrityKey`.
        static let mac = Column("mac")
    }
}

extension Subject: FetchableRecord {
    public init(row: Row) {
        self.init(id: row["id"], collectionID: row["collection_id"], name: row["name"], metadata: row["metadata"], createdAt: row["created_at"],
                  updatedAt: row["updated_at"], faceCount: row["face_count"])
    }
}
