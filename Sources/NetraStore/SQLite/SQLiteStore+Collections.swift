import Foundation
import GRDB

extension SQLiteStore {
    public func createCollection(name: String, strictUnknown: Bool?) throws(StoreError) -> SubjectCollection {
        try StoreValidation.validate(collectionName: name)
        return try write { db in
            guard try Row.fetchOne(db, sql: "SELECT 1 FROM collections WHERE name = ?", arguments: [name]) == nil else {
                throw StoreError.collectionExists(name)
            }
            let now = Timestamp.now()
            try db.execute(sql: "INSERT INTO collections (name, created_at, strict_unknown) VALUES (?, ?, ?)",
                           arguments: [name, now, strictUnknown])
            let created = SubjectCollection(id: db.lastInsertedRowID, name: name, createdAt: now, strictUnknown: strictUnknown)
            try self.audit(db, action: "create_collection", result: "ok", detail: "collection \(name)")
            return created
        }
    }

    public func collections() throws(StoreError) -> [SubjectCollection] {
        try read { db in try Self.fetchCollections(db, where: "1", arguments: [], counted: true) }
    }

    public func collection(named name: String, counted: Bool) throws(StoreError) -> SubjectCollection? {
        try read { db in try Self.fetchCollections(db, where: "c.name = ?", arguments: [name], counted: counted).first }
    }

    public func collection(id: Int64, counted: Bool) throws(StoreError) -> SubjectCollection? {
        try read { db in try Self.fetchCollections(db, where: "c.id = ?", arguments: [id], counted: counted).first }
    }

    public func updateCollection(id: Int64, strictUnknown: Bool?) throws(StoreError) -> SubjectCollection {
        try write { db in
            try db.execute(sql: "UPDATE collections SET strict_unknown = ? WHERE id = ?", arguments: [strictUnknown, id])
            guard db.changesCount == 1, let updated = try Self.fetchCollections(db, where: "c.id = ?", arguments: [id], counted: true).first else {
                throw StoreError.collectionNotFound("\(id)")
            }
            try self.audit(db, action: "update_collection", result: "ok",
                           detail: "collection \(updated.name): strict_unknown \(strictUnknown.map(String.init) ?? "default")")
            return updated
        }
    }

    public func deleteCollection(id: Int64) throws(StoreError) {
        try write { db in
            guard let name = try String.fetchOne(db, sql: "SELECT name FROM collections WHERE id = ?", arguments: [id]) else {
                throw StoreError.collectionNotFound("\(id)")
            }
            guard id != SubjectCollection.defaultID else { throw StoreError.collectionInUse(name, reason: "it is the default collection") }
            let keys = try Int.fetchOne(db, sql: "SELECT count(*) FROM api_keys WHERE collection_id = ? AND revoked_at IS NULL",
                                        arguments: [id]) ?? 0
            guard keys == 0 else {
                throw StoreError.collectionInUse(name, reason: "\(keys) active API keys are bound to it; revoke them first")
            }
            let subjects = try Int64.fetchAll(db, sql: "SELECT id FROM subjects WHERE collection_id = ?", arguments: [id])
            for subject in subjects { try self.audit(db, action: "delete_subject", subjectID: subject, result: "ok", detail: "collection \(name) deleted") }
            try db.execute(sql: "DELETE FROM subjects WHERE collection_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM collections WHERE id = ?", arguments: [id])
            try self.audit(db, action: "delete_collection", result: "ok", detail: "collection \(name): \(subjects.count) subjects deleted")
        }
        index.remove(collectionID: id)
    }

    /// Refuses a collection id that does not exist, inside the caller's transaction.
    func requireCollection(_ id: Int64, _ db: Database) throws {
        guard try Row.fetchOne(db, sql: "SELECT 1 FROM collections WHERE id = ?", arguments: [id]) != nil else {
            throw StoreError.collectionNotFound("\(id)")
        }
    }

    private static func fetchCollections(_ db: Database, where condition: String, arguments: StatementArguments,
                                         counted: Bool) throws -> [SubjectCollection] {
        let counts = counted ? """
            (SELECT count(*) FROM subjects s WHERE s.collection_id = c.id) AS subject_count,
            (SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE s.collection_id = c.id) AS face_count
            """ : "0 AS subject_count, 0 AS face_count"
        return try Row.fetchAll(db, sql: """
            SELECT c.id, c.name, c.created_at, c.strict_unknown, \(counts)
            FROM collections c WHERE \(condition) ORDER BY c.id
            """, arguments: arguments).map { row in
            SubjectCollection(id: row["id"], name: row["name"], createdAt: row["created_at"], subjectCount: row["subject_count"],
                              faceCount: row["face_count"], strictUnknown: row["strict_unknown"])
        }
    }
}
