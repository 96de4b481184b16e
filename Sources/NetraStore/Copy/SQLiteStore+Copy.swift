import Foundation
import GRDB
import PostgresNIO

/// Moving a store from SQLite to PostgreSQL (`netra db copy --to`): every row copied as it is,
/// so that it stays valid on the target without being re-sealed or re-authenticated.
///
/// A sealed embedding is bound to its face id, subject id, model version and key id, a
/// subject's MAC to its id and collection, an audit chain value to its entry's id: every id is
/// kept, and so are the store's settings (the key-derivation salt, the integrity key sealed
/// under the store key, the audit head) and key ids. The target then opens with the same key
/// and checks clean, and its id sequences continue after the source's.
extension SQLiteStore {
    /// Copies this store into the PostgreSQL database at `location` in one transaction (a
    /// failure leaves the target as it was), from one read snapshot of this store, `batchSize`
    /// rows per INSERT; returns the counts copied, which the transaction checked against the
    /// target's before committing.
    ///
    /// The target's schema is created or migrated first. A target that already holds a
    /// subject, a face, an API key, a collection other than `default` or an audit entry is
    /// refused (`StoreError.targetNotEmpty`); what opening an empty store made there (its salt,
    /// key id and integrity key) is replaced by this store's. The target's change log is not
    /// written: replicas started on it load their index from the tables. The store key is not
    /// needed to copy (nothing is opened or re-sealed), only to open the copy afterwards.
    public func copy(to location: PostgresLocation, password: String?, batchSize: Int = 1000) throws(StoreError) -> StoreCounts {
        let connections = try PostgresConnections(location: location, password: password, capacity: 1)
        defer { connections.close() }
        // Refused before anything is written to it, even a migration.
        try connections.read { sql in
            if try PostgresSchema.tables(sql, at: location).contains("subjects") { try Self.requireEmpty(sql, location) }
        }
        _ = try PostgresSchema.migrate(connections)
        let sourcePath = self.path
        return try read { db in
            try connections.transaction { sql in
                do {
                    return try Self.copy(db, into: sql, location: location, batchSize: batchSize, sourcePath: sourcePath)
                } catch let error as DatabaseError {
                    throw Self.storeError(error)
                }
            }
        }
    }

    /// The copy inside the source's snapshot `db` and the target's transaction `sql`.
    private static func copy(_ db: Database, into sql: PostgresSQL, location: PostgresLocation, batchSize: Int,
                             sourcePath: String) throws -> StoreCounts {
        // No NETRA writes the target meanwhile: writes take the audit lock, and the tables are locked.
        try sql.execute("SELECT pg_advisory_xact_lock(\(PostgresStore.auditLockKey))")
        try sql.execute("LOCK TABLE \(unescaped: CopiedTable.all.map(\.name).joined(separator: ", ")) IN EXCLUSIVE MODE")
        try requireEmpty(sql, location)
        for table in ["store_settings", "encryption_keys", "collections"] {
            try sql.execute(PostgresQuery(unsafeSQL: "DELETE FROM \(table)"))
        }
        for table in CopiedTable.all {
            let (read, inserted) = try table.copy(from: db, to: sql, batchSize: batchSize, sourcePath: sourcePath)
            guard read == inserted else { throw StoreError.database("\(table.name): \(read) rows read, \(inserted) stored") }
            try table.advanceSequence(from: db, to: sql)
        }
        let source = try StoreCounts(db), target = try StoreCounts(sql)
        guard source == target else { throw StoreError.database("the copy holds \(target), the source \(source); nothing was copied") }
        return source
    }

    /// Refuses a target that holds anything a store's use leaves behind.
    private static func requireEmpty(_ sql: PostgresSQL, _ location: PostgresLocation) throws {
        guard let row = try sql.rows("""
            SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM faces), (SELECT count(*) FROM api_keys),
                   (SELECT count(*) FROM collections WHERE id <> \(SubjectCollection.defaultID) OR name <> \(SubjectCollection.defaultName)),
                   (SELECT count(*) FROM audit_log)
            """).first else { return }
        let counts = try (0..<5).map { try row[$0].decode(Int64.self) }
        let held = zip(counts, ["subjects", "faces", "API keys", "collections besides default", "audit entries"])
            .filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        guard held.isEmpty else { throw StoreError.targetNotEmpty(location.description, holding: held.joined(separator: ", ")) }
    }
}
