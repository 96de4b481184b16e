import Foundation
import PostgresNIO

extension PostgresStore {
    /// Records an event of a read (identify, verify). While PostgreSQL cannot be reached the
    /// entry is held in memory, with its time and actor, and written by the change feed once
    /// the database answers again (`ReplicaMemory`), so that a replica answering from memory
    /// still audits what it answered.
    public func record(_ event: AuditEvent) throws(StoreError) {
        let pending = ReplicaMemory.PendingAuditEvent(event: event, at: Timestamp.now(), actor: AuditActor.current ?? actor)
        if isFollowing, connections.isDown || memory.pendingAuditCount > 0 {
            // Away, or entries of an outage still waiting: after them, in order.
            guard memory.hold(pending) else { throw .unreachable("PostgreSQL cannot be reached now") }
            return
        }
        do {
            try write { sql in try self.audit(sql, pending) }
        } catch .unreachable(let reason) {
            guard isFollowing, memory.hold(pending) else { throw .unreachable(reason) }
        }
    }

    /// Writes the audit entries held while PostgreSQL was unreachable, oldest first, a few
    /// hundred a transaction (so other writers wait for the audit lock only briefly); those not
    /// written stay held when it fails.
    func writePendingAudit() throws(StoreError) {
        var pending = memory.takePendingAudit()[...]
        while !pending.isEmpty {
            let batch = pending.prefix(Self.pendingAuditBatch)
            do {
                try write { sql in for entry in batch { try self.audit(sql, entry) } }
            } catch {
                memory.putBack(Array(pending))
                throw error
            }
            pending = pending.dropFirst(batch.count)
        }
    }

    /// Held audit entries written per transaction.
    static let pendingAuditBatch = 500

    private func audit(_ sql: PostgresSQL, _ entry: ReplicaMemory.PendingAuditEvent) throws {
        try audit(sql, action: entry.event.action, subjectID: entry.event.subjectID, result: entry.event.result,
                  detail: entry.event.detail, at: entry.at, actor: entry.actor)
    }

    public func auditLog(limit: Int) throws(StoreError) -> [AuditEntry] {
        try read { sql in
            try sql.rows("SELECT id, at, actor, action, subject_id, face_id, result, detail FROM audit_log ORDER BY id DESC LIMIT \(limit)")
                .map(AuditEntry.init(postgresRow:))
        }
    }

    /// Appends an entry inside the caller's transaction, so a change and its record commit
    /// together, chained to the entry before it (see `chain`); the actor is the one bound for
    /// the current task (`AuditActor`), else the store's.
    ///
    /// Entries are chained in id order, so appending takes a transaction-scoped advisory lock:
    /// two replicas writing at once append one after the other, never both after the same entry.
    func audit(_ sql: PostgresSQL, action: String, subjectID: Int64? = nil, faceID: Int64? = nil,
               result: String, detail: String = "", at: String = Timestamp.now(), actor: String? = nil) throws {
        try sql.execute("SELECT pg_advisory_xact_lock(\(Self.auditLockKey))")
        let actor = actor ?? AuditActor.current ?? self.actor
        guard let id = try sql.value("""
            INSERT INTO audit_log (at, actor, action, subject_id, face_id, result, detail)
            VALUES (\(at), \(actor), \(action), \(subjectID), \(faceID), \(result), \(detail)) RETURNING id
            """, as: Int64.self) else { throw StoreError.database("the audit entry was not stored") }
        try chain(AuditEntry(id: id, at: at, actor: actor, action: action, subjectID: subjectID, faceID: faceID, result: result,
                             detail: detail), sql)
    }

    /// The advisory-lock key that orders audit appends (any fixed number other than the schema's).
    static let auditLockKey: Int64 = 0x4E_45_54_52_41_01
}

extension AuditEntry {
    /// An `audit_log` row read from PostgreSQL.
    init(postgresRow row: PostgresRandomAccessRow) throws {
        self.init(id: try row["id"].decode(Int64.self), at: try row["at"].decode(String.self), actor: try row["actor"].decode(String.self),
                  action: try row["action"].decode(String.self), subjectID: try row["subject_id"].decode(Int64?.self),
                  faceID: try row["face_id"].decode(Int64?.self), result: try row["result"].decode(String.self),
                  detail: try row["detail"].decode(String.self))
    }
}
