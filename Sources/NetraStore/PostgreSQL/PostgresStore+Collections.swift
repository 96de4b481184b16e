import Foundation
import PostgresNIO

/// Collections on PostgreSQL, with `SQLiteStore+Collections.swift`'s meaning: the same checks,
/// errors and audit entries. Where SQLite's single writer made a check and the change it guards
/// atomic, a row lock does here, so that replicas writing at once cannot slip between them.
extension PostgresStore {
    /// Creates a collection; its name must be free (`StoreError.collectionExists`).
    public func createCollection(name: String, strictUnknown: Bool?) throws(StoreError) -> SubjectCollection {
        try StoreValidation.validate(collectionName: name)
        return try write { sql in
            let now = Timestamp.now()
            // The unique name decides between replicas creating the same collection at once.
            guard let id = try sql.value("""
                INSERT INTO collections (name, created_at, strict_unknown) VALUES (\(name), \(now), \(strictUnknown))
                ON CONFLICT (name) DO NOTHING RETURNING id
                """, as: Int64.self) else { throw StoreError.collectionExists(name) }
            let created = SubjectCollection(id: id, name: name, createdAt: now, strictUnknown: strictUnknown)
            try self.audit(sql, action: "create_collection", result: "ok", detail: "collection \(name)")
            return created
        }
    }

    /// Every collection in id order, with its subject and face counts.
    public func collections() throws(StoreError) -> [SubjectCollection] {
        try read { sql in try Self.fetchCollections(sql, "SELECT \(unescaped: Self.collectionColumns(counted: true)) FROM collections c ORDER BY c.id") }
    }

    /// The collection named `name`, or `nil`, its counts filled in only when `counted`.
    /// While PostgreSQL cannot be reached, a following replica answers the collection it last
    /// read (`ReplicaMemory`), so that identify goes on.
    public func collection(named name: String, counted: Bool) throws(StoreError) -> SubjectCollection? {
        try remembering({ memory.collection(named: name) }) { () throws(StoreError) in
            try read { sql in
                try Self.fetchCollections(sql, """
                    SELECT \(unescaped: Self.collectionColumns(counted: counted)) FROM collections c WHERE c.name = \(name) ORDER BY c.id
                    """).first
            }
        }
    }

    /// The collection with id `id`, or `nil` (remembered as `collection(named:counted:)` is).
    public func collection(id: Int64, counted: Bool) throws(StoreError) -> SubjectCollection? {
        try remembering({ memory.collection(id: id) }) { () throws(StoreError) in
            try read { sql in try Self.collection(id: id, counted: counted, sql) }
        }
    }

    /// `lookUp`'s collection, remembered; while PostgreSQL cannot be reached, `remembered`'s.
    private func remembering(_ remembered: () -> SubjectCollection?,
                             _ lookUp: () throws(StoreError) -> SubjectCollection?) throws(StoreError) -> SubjectCollection? {
        do {
            let found = try lookUp()
            if let found { memory.remember(found) }
            return found
        } catch .unreachable(let reason) {
            guard isFollowing, let known = remembered() else { throw .unreachable(reason) }
            return known
        }
    }

    /// Sets (or, with `nil`, clears) a collection's strict-unknown setting.
    public func updateCollection(id: Int64, strictUnknown: Bool?) throws(StoreError) -> SubjectCollection {
        try write { sql in
            let changed = try sql.execute("UPDATE collections SET strict_unknown = \(strictUnknown) WHERE id = \(id)")
            guard changed == 1, let updated = try Self.collection(id: id, counted: true, sql) else {
                throw StoreError.collectionNotFound("\(id)")
            }
            try self.audit(sql, action: "update_collection", result: "ok",
                           detail: "collection \(updated.name): strict_unknown \(strictUnknown.map(String.init) ?? "default")")
            return updated
        }
    }

    /// Deletes a collection with its subjects and faces (each subject audited), refused for the
    /// default collection and for one active API keys are bound to.
    ///
    /// The collection row is locked first: a subject or API key being added to it on another
    /// replica (`requireCollection`) waits for this deletion and is then refused, so none is
    /// deleted unaudited or left bound to a collection that is gone.
    public func deleteCollection(id: Int64) throws(StoreError) {
        let sequence = try write { sql in
            guard let name = try sql.value("SELECT name FROM collections WHERE id = \(id) FOR UPDATE", as: String.self) else {
                throw StoreError.collectionNotFound("\(id)")
            }
            guard id != SubjectCollection.defaultID else { throw StoreError.collectionInUse(name, reason: "it is the default collection") }
            let keys = try sql.value("SELECT count(*) FROM api_keys WHERE collection_id = \(id) AND revoked_at IS NULL", as: Int64.self) ?? 0
            guard keys == 0 else {
                throw StoreError.collectionInUse(name, reason: "\(keys) active API keys are bound to it; revoke them first")
            }
            // The locks the cascade needs, before the audit entries take the audit lock (see deleteSubjects).
            try sql.execute("LOCK TABLE faces IN ROW EXCLUSIVE MODE")
            let subjects = try sql.rows("SELECT id FROM subjects WHERE collection_id = \(id) ORDER BY id FOR UPDATE")
                .map { try $0["id"].decode(Int64.self) }
            for subject in subjects {
                try self.audit(sql, action: "delete_subject", subjectID: subject, result: "ok", detail: "collection \(name) deleted")
            }
            try sql.execute("DELETE FROM subjects WHERE collection_id = \(id)")
            try sql.execute("DELETE FROM collections WHERE id = \(id)")
            try self.audit(sql, action: "delete_collection", result: "ok", detail: "collection \(name): \(subjects.count) subjects deleted")
            return try self.recordChanges([.collectionDeleted(id)], sql)
        }
        applyLocally(sequence) {
            index.remove(collectionID: id)
            memory.forgetCollection(id)
        }
    }

    /// Refuses a collection id that does not exist, inside the caller's write transaction.
    ///
    /// The row is locked `FOR KEY SHARE` until the caller commits, so the collection cannot be
    /// deleted (`deleteCollection`, on any replica) under the subject or key being added to it.
    func requireCollection(_ id: Int64, _ sql: PostgresSQL) throws {
        guard try sql.value("SELECT 1 FROM collections WHERE id = \(id) FOR KEY SHARE", as: Int32.self) != nil else {
            throw StoreError.collectionNotFound("\(id)")
        }
    }

    /// The columns `fetchCollections` reads (a fixed fragment: `c` is `collections`).
    /// The columns `fetchCollections` reads; without `counted`, both counts are 0.
    private static func collectionColumns(counted: Bool) -> String {
        let counts = counted ? """
            (SELECT count(*) FROM subjects s WHERE s.collection_id = c.id) AS subject_count,
            (SELECT count(*) FROM faces f JOIN subjects s ON s.id = f.subject_id WHERE s.collection_id = c.id) AS face_count
            """ : "0::BIGINT AS subject_count, 0::BIGINT AS face_count"
        return "c.id, c.name, c.created_at, c.strict_unknown, \(counts)"
    }

    private static func collection(id: Int64, counted: Bool, _ sql: PostgresSQL) throws -> SubjectCollection? {
        try fetchCollections(sql, "SELECT \(unescaped: collectionColumns(counted: counted)) FROM collections c WHERE c.id = \(id)").first
    }

    private static func fetchCollections(_ sql: PostgresSQL, _ query: PostgresQuery) throws -> [SubjectCollection] {
        try sql.rows(query).map { row in
            SubjectCollection(id: try row["id"].decode(Int64.self), name: try row["name"].decode(String.self),
                              createdAt: try row["created_at"].decode(String.self),
                              subjectCount: Int(try row["subject_count"].decode(Int64.self)),
                              faceCount: Int(try row["face_count"].decode(Int64.self)),
                              strictUnknown: try row["strict_unknown"].decode(Bool?.self))
        }
    }
}
