import Foundation
import GRDB

extension SQLiteStore {
    public func createSubject(name: String, metadata: String) throws(StoreError) -> Subject {
        try Self.validate(name: name, metadata: metadata)
        return try write { db in try self.insertSubject(db, name: name, metadata: metadata) }
    }

    /// Inserts and audits one subject inside the caller's transaction (the name already validated).
    func insertSubject(_ db: Database, name: String, metadata: String) throws -> Subject {
        let now = Timestamp.now()
        var row = SubjectRow(id: nil, name: name, metadata: metadata, createdAt: now, updatedAt: now)
        try row.insert(db)
        let id = db.lastInsertedRowID
        try SubjectRow.filter(SubjectRow.Columns.id == id).updateAll(db, SubjectRow.Columns.mac.set(to: subjectMAC(id: id, name: name, metadata: metadata)))
        try audit(db, action: "create_subject", subjectID: id, result: "ok")
        return Subject(id: id, name: name, metadata: metadata, createdAt: now, updatedAt: now, faceCount: 0)
    }

    public func createSubjects(names: [String]) throws(StoreError) -> [Subject] {
        for name in names { try Self.validate(name: name, metadata: "{}") }
        return try write { db in
            let now = Timestamp.now()
            let subjects = try names.map { name in
                var row = SubjectRow(id: nil, name: name, metadata: "{}", createdAt: now, updatedAt: now)
                try row.insert(db)
                try SubjectRow.filter(SubjectRow.Columns.id == db.lastInsertedRowID)
                    .updateAll(db, SubjectRow.Columns.mac.set(to: self.subjectMAC(id: db.lastInsertedRowID, name: name, metadata: "{}")))
                return Subject(id: db.lastInsertedRowID, name: name, metadata: "{}", createdAt: now, updatedAt: now, faceCount: 0)
            }
            try self.audit(db, action: "create_subjects", result: "ok", detail: "\(names.count) subjects")
            return subjects
        }
    }

    public func subject(id: Int64) throws(StoreError) -> Subject? {
        try read { db in try self.verified(Self.subjects(SubjectRow.filter(SubjectRow.Columns.id == id)), db).first }
    }

    public func subjects(named name: String) throws(StoreError) -> [Subject] {
        try read { db in try self.verified(Self.subjects(SubjectRow.filter(SubjectRow.Columns.name == name)), db) }
    }

    public func subjects(in page: SubjectPage) throws(StoreError) -> [Subject] {
        try read { db in
            var request = SubjectRow.all()
            if let nameFilter = page.nameContaining, !nameFilter.isEmpty {
                let pattern = "%" + nameFilter.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                request = request.filter(sql: "name LIKE ? ESCAPE '\\'", arguments: [pattern])
            }
            return try self.verified(Self.subjects(request).limit(page.limit, offset: page.offset), db)
        }
    }

    public func subjectCount() throws(StoreError) -> Int {
        try read { db in try SubjectRow.fetchCount(db) }
    }

    public func updateSubject(id: Int64, with change: SubjectChange) throws(StoreError) -> Subject {
        let current = try subject(id: id)
        guard var subject = current else { throw .subjectNotFound(id) }
        try Self.validate(name: change.name ?? subject.name, metadata: change.metadata ?? subject.metadata)
        subject.name = change.name ?? subject.name
        subject.metadata = change.metadata ?? subject.metadata
        subject.updatedAt = Timestamp.now()
        let updated = subject
        try write { db in
            try SubjectRow.filter(SubjectRow.Columns.id == id).updateAll(db, [
                SubjectRow.Columns.name.set(to: updated.name),
                SubjectRow.Columns.metadata.set(to: updated.metadata),
                SubjectRow.Columns.updatedAt.set(to: updated.updatedAt),
                SubjectRow.Columns.mac.set(to: self.subjectMAC(id: id, name: updated.name, metadata: updated.metadata)),
            ])
            try self.audit(db, action: "update_subject", subjectID: id, result: "ok")
        }
        return updated
    }

    public func deleteSubject(id: Int64) throws(StoreError) {
        try write { db in
            guard try SubjectRow.deleteOne(db, key: id) else { throw StoreError.subjectNotFound(id) }
            try self.audit(db, action: "delete_subject", subjectID: id, result: "ok")
        }
        index.remove(subjectID: id)
    }

    /// Subjects in id order with their face counts and MACs (see `verified`).
    static func subjects(_ request: QueryInterfaceRequest<SubjectRow>) -> QueryInterfaceRequest<Row> {
        request
            .select(SubjectRow.Columns.id, SubjectRow.Columns.name, SubjectRow.Columns.metadata,
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
            guard mac == subjectMAC(id: subject.id, name: subject.name, metadata: subject.metadata) else {
                throw StoreError.tamperedSubject(subject.id)
            }
            return subject
        }
    }

    static func validate(name: String, metadata: String) throws(StoreError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidName("a name cannot be empty") }
        // SQLite's length() counts code points, not the grapheme clusters `count` does.
        guard name.unicodeScalars.count <= 200 else { throw .invalidName("a name has at most 200 characters") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .invalidName("a name cannot contain control characters")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)), object is [String: Any] else {
            throw .invalidMetadata
        }
    }
}

/// A `subjects` row.
struct SubjectRow: Codable, FetchableRecord, MutablePersistableRecord {
    static let databaseTableName = "subjects"

    var id: Int64?
    var name: String
    var metadata: String
    var createdAt: String
    var updatedAt: String

    enum CodingKeys: String, CodingKey {
        case id, name, metadata
        case createdAt = "created_at", updatedAt = "updated_at"
    }

    enum Columns {
        static let id = Column(CodingKeys.id)
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
        self.init(id: row["id"], name: row["name"], metadata: row["metadata"], createdAt: row["created_at"],
                  updatedAt: row["updated_at"], faceCount: row["face_count"])
    }
}
