import Foundation
import GRDB
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

/// What only the SQLite backend has: its file, and the upgrades of stores made by earlier
/// NETRAs (a PostgreSQL store starts at the current schema).
@Suite("The SQLite identity store's file and upgrades", .tags(.unit))
struct SQLiteStoreTests {
    @Test("a file that is not a database is a clear error", .offCooperativePool)
    func notADatabase() throws {
        let temporary = try TemporaryStore()
        try Data("this is not sqlite".utf8).write(to: URL(fileURLWithPath: temporary.path))
        let error = #expect(throws: StoreError.self) { try temporary.openSQLite() }
        guard case .unusableDatabase = error else {
            Issue.record("expected unusableDatabase, got \(String(describing: error))")
            return
        }
    }

    @Test("a store from before subject MACs and the audit chain has its rows authenticated as they are at first opening", .offCooperativePool)
    func upgradeAuthenticatesExistingRows() throws {
        let temporary = try TemporaryStore()
        do {
            let store = try temporary.openSQLite()
            for name in ["Ada", "Grace"] { _ = try store.createSubject(name: name) }
            // Back to schema 2: no integrity columns, settings or migration record.
            try store.databasePool.write { db in
                try db.execute(sql: "ALTER TABLE subjects DROP COLUMN mac")
                try db.execute(sql: "ALTER TABLE audit_log DROP COLUMN chain")
                try db.execute(sql: "DELETE FROM store_settings WHERE name IN ('integrity_key', 'integrity_key_id', 'audit_head')")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '0003_integrity'")
            }
        }
        let upgraded = try temporary.openSQLite()
        #expect(upgraded.loadReport.problems.isEmpty)
        #expect(try upgraded.check().report.auditProblems.isEmpty)
        #expect(try upgraded.subjects(named: "Ada", in: SubjectCollection.defaultID).count == 1)
    }

    @Test("a store from before collections opens with everything in default, its MACs and seals still valid", .offCooperativePool)
    func upgradeFromSchema3() throws {
        let temporary = try TemporaryStore()
        var generator = VectorGenerator(state: 5)
        let face = generator.descriptor()
        do {
            let store = try temporary.openSQLite()
            _ = try store.addFace(toSubjectNamed: "Ada", in: SubjectCollection.defaultID, descriptor: face, quality: quality)
            _ = try store.createAPIKey(name: "old", scopes: [.recognize])
            // Back to schema 3: no collections table, columns or migration record.
            try store.databasePool.write { db in
                try db.execute(sql: "DROP INDEX subjects_by_collection_and_name")
                try db.execute(sql: "ALTER TABLE subjects DROP COLUMN collection_id")
                try db.execute(sql: "ALTER TABLE api_keys DROP COLUMN collection_id")
                try db.execute(sql: "DROP TABLE collections")
                try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = '0004_collections'")
            }
        }
        let upgraded = try temporary.openSQLite()
        #expect(upgraded.loadReport.problems.isEmpty && upgraded.loadReport.loaded == 1)
        #expect(try upgraded.subjects(named: "Ada", in: SubjectCollection.defaultID).first?.collectionID == SubjectCollection.defaultID)
        #expect(upgraded.index.search(face.values, in: SubjectCollection.defaultID, topK: 1).count == 1)
        #expect(try upgraded.apiKeys().first?.collectionID == nil)
        #expect(try upgraded.check().report.problems.isEmpty)
    }
}
