import GRDB

extension SQLiteStore {
    public func record(_ event: AuditEvent) throws(StoreError) {
        try write { db in try self.audit(db, action: event.action, subjectID: event.subjectID, result: event.result, detail: event.detail) }
    }

    public func auditLog(limit: Int) throws(StoreError) -> [AuditEntry] {
        try read { db in try AuditEntry.order(Column("id").desc).limit(limit).fetchAll(db) }
    }

    /// Appends an entry inside the caller's transaction, so a change and its record commit
    /// together, chained to the entry before it; the actor is the one bound for the current
    /// task (`AuditActor`), else the store's.
    func audit(_ db: Database, action: String, subjectID: Int64? = nil, faceID: Int64? = nil,
               result: String, detail: String = "") throws {
        let insertion = AuditEntry.Insertion(at: Timestamp.now(), actor: AuditActor.current ?? actor, action: action,
                                             subjectID: subjectID, faceID: faceID, result: result, detail: detail)
        try insertion.insert(db)
        try chain(AuditEntry(id: db.lastInsertedRowID, at: insertion.at, actor: insertion.actor, action: action, subjectID: subjectID,
                             faceID: faceID, result: result, detail: detail), db)
    }
}

extension AuditEntry: FetchableRecord, TableRecord {
    public static let databaseTableName = "audit_log"

    public init(row: Row) {
        self.init(id: row["id"], at: row["at"], actor: row["actor"], action: row["action"], subjectID: row["subject_id"],
                  faceID: row["face_id"], result: row["result"], detail: row["detail"])
    }

    /// A new `audit_log` row (its id comes from the database).
    struct Insertion: Encodable, PersistableRecord {
        static let databaseTableName = AuditEntry.databaseTableName

        let at: String
        let actor: String
        let action: String
        let subjectID: Int64?
        let faceID: Int64?
        let result: String
        let detail: String

        enum CodingKeys: String, CodingKey {
            case at, actor, action, result, detail
            case subjectID = "subject_id", faceID = "face_id"
        }
    }
}
