import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

/// `SQLiteStore.copy(to:password:)`, what `netra db copy` runs: a SQLite store moved, row for
/// row, into an empty PostgreSQL database of the process's test cluster.
@Suite("Copying a SQLite store to PostgreSQL", .tags(.endToEnd))
struct StoreCopyTests {
    /// A SQLite store with what a store's use leaves: several collections (one deleted), subjects
    /// with metadata, faces, a merge and deletions (gaps in every id sequence, the newest subject
    /// and face deleted too), API keys (one revoked) and an audit log.
    final class Source {
        let temporary: TemporaryStore
        let store: SQLiteStore
        /// One descriptor per face kept, with the collection it is searched in.
        var descriptors: [(values: [Float], collectionID: Int64)] = []
        var apiKeyText = ""

        init() throws {
            temporary = try TemporaryStore(backend: .sqlite)
            store = try temporary.openSQLite()
            var generator = VectorGenerator(state: 41)
            let staff = try store.createCollection(name: "staff", strictUnknown: true)
            let deleted = try store.createCollection(name: "temporary")
            let visitors = try store.createCollection(name: "visitors")
            try store.deleteCollection(id: deleted.id)
            let ada = try store.createSubject(name: "Ada", metadata: #"{"badge":7,"team":"ops"}"#)
            let bob = try store.createSubject(name: "Bob")
            let carol = try store.createSubject(name: "Carol", metadata: #"{"floor":3}"#, in: staff.id)
            let dave = try store.createSubject(name: "Dave", metadata: "{}", in: staff.id)
            let eve = try store.createSubject(name: "Eve", metadata: "{}", in: visitors.id)
            var added: [(StoredFace, [Float], Int64)] = []
            for (subject, collection, count) in [(ada, SubjectCollection.defaultID, 3), (bob, SubjectCollection.defaultID, 1),
                                                 (carol, staff.id, 2), (dave, staff.id, 2), (eve, visitors.id, 1)] {
                for _ in 0..<count {
                    let descriptor = generator.descriptor()
                    added.append((try store.addFace(subjectID: subject.id, descriptor: descriptor, quality: quality), descriptor.values, collection))
                }
            }
            _ = try store.mergeSubject(id: dave.id, into: carol.id)
            try store.deleteSubject(id: bob.id)
            try store.deleteFace(id: added[1].0.id)
            let zed = try store.createSubject(name: "Zed")
            let zedFace = try store.addFace(subjectID: zed.id, descriptor: generator.descriptor(), quality: quality)
            try store.deleteSubject(id: zed.id)
            #expect(zedFace.id > added.last!.0.id)
            descriptors = added.filter { $0.0.subjectID != bob.id && $0.0.id != added[1].0.id }.map { ($0.1, $0.2) }
            apiKeyText = try store.createAPIKey(name: "door", scopes: [.recognize], collectionID: staff.id).key
            let revoked = try store.createAPIKey(name: "old", scopes: [.admin]).record
            try store.revokeAPIKey(id: revoked.id)
            try store.recordEvent(action: "identify", subjectID: ada.id, result: "match")
        }
    }

    /// Everything a caller of the store can read, for comparing two stores.
    struct Contents: Equatable {
        var collections: [SubjectCollection]
        var subjects: [Subject]
        var faces: [StoredFace]
        var apiKeys: [APIKeyRecord]
        var audit: [AuditEntry]

        init(_ store: any IdentityStore) throws {
            collections = try store.collections()
            subjects = try collections.flatMap { try store.subjects(in: SubjectPage(collectionID: $0.id, limit: 1000)) }
            faces = try subjects.flatMap { try store.faces(ofSubject: $0.id) }
            apiKeys = try store.apiKeys()
            audit = try store.auditLog(limit: 10_000)
        }
    }

    @Test("the copy opens on PostgreSQL with the same key holding the same rows, checks clean, and continues the ids", .offCooperativePool)
    func copy() throws {
        let source = try Source()
        let target = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(target.postgres)
        let counts = try source.store.copy(to: location, password: password, batchSize: 2)
        #expect(counts == StoreCounts(subjects: 3, faces: 7, collections: 3, apiKeys: 2, auditEntries: try source.store.auditLog(limit: 1000).count))
        #expect(counts == (try source.store.rowCounts()))

        let copy = try target.openPostgres()
        defer { copy.close() }
        #expect(try copy.rowCounts() == counts)
        #expect(try Contents(copy) == Contents(source.store))
        #expect(try target.faceRows(limit: 100).map(\.binding) == source.temporary.faceRows(limit: 100).map(\.binding))
        #expect(try target.faceRows(limit: 100).map(\.sealed) == source.temporary.faceRows(limit: 100).map(\.sealed))
        #expect(copy.loadReport == (try source.temporary.openSQLite().loadReport))
        #expect(copy.loadReport.loaded == 7)
        for (values, collectionID) in source.descriptors {
            let found = copy.index.search(values, in: collectionID, topK: 1)
            #expect(found.first.map { $0.distance < 1e-3 } == true && found == source.store.index.search(values, in: collectionID, topK: 1))
        }
        let (report, integrity) = try copy.check()
        #expect(report.problems.isEmpty && report.loaded == 7 && integrity == ["ok"], "\(report) \(integrity)")
        #expect(try copy.authenticateAPIKey(source.apiKeyText)?.name == "door")
        #expect(try target.strings("SELECT count(*)::text FROM changes") == ["0"])

        // New rows get ids after every id the source ever handed out, and chain after its audit log.
        let maxima = try ["subjects", "faces", "audit_log", "collections"].map { table in
            Int64(try source.temporary.strings("SELECT CAST(seq AS TEXT) FROM sqlite_sequence WHERE name = ?", table).first ?? "0") ?? 0
        }
        var generator = VectorGenerator(state: 99)
        let newcomer = try copy.createSubject(name: "Newcomer")
        let face = try copy.addFace(subjectID: newcomer.id, descriptor: generator.descriptor(), quality: quality)
        let gallery = try copy.createCollection(name: "contractors")
        #expect(newcomer.id == maxima[0] + 1 && face.id == maxima[1] + 1 && gallery.id == maxima[3] + 1)
        #expect(try copy.auditLog(limit: 1).first.map(\.id) ?? 0 > maxima[2])
        let reopened = try target.openPostgres()
        defer { reopened.close() }
        let (after, afterIntegrity) = try reopened.check()
        #expect(after.problems.isEmpty && after.loaded == 8 && afterIntegrity == ["ok"], "\(after) \(afterIntegrity)")
    }

    @Test("a target holding a store's rows is refused and left as it was; one only opened before is filled", .offCooperativePool)
    func nonEmptyTarget() throws {
        let source = try Source()
        let filled = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(filled.postgres)
        _ = try source.store.copy(to: location, password: password)
        let before = try filled.dump()
        let entries = try source.store.auditLog(limit: 1000).count
        #expect(throws: StoreError.targetNotEmpty(location.description,
                                                  holding: "3 subjects, 7 faces, 2 API keys, 2 collections besides default, \(entries) audit entries")) {
            _ = try source.store.copy(to: location, password: password)
        }
        #expect(try filled.dump() == before)

        // A store whose only subject was deleted still has its audit log: refused too.
        let used = try TemporaryStore(backend: .postgres)
        let usedStore = try used.openPostgres()
        try usedStore.deleteSubject(id: try usedStore.createSubject(name: "Gone").id)
        usedStore.close()
        let usedBefore = try used.dump()
        let usedLocation = try #require(used.postgres).location
        #expect(throws: StoreError.targetNotEmpty(usedLocation.description, holding: "2 audit entries")) {
            _ = try source.store.copy(to: usedLocation, password: password)
        }
        #expect(try used.dump() == usedBefore)

        // Opened once with another key and left empty: its salt, key id and integrity key give way to the source's.
        let opened = try TemporaryStore(backend: .postgres)
        try opened.openPostgres(key: TemporaryStore.otherKey).close()
        _ = try source.store.copy(to: try #require(opened.postgres).location, password: password)
        let copy = try opened.openPostgres()
        defer { copy.close() }
        #expect(try copy.check().report.problems.isEmpty)
        #expect(try opened.strings("SELECT id FROM encryption_keys") == [TemporaryStore.keyID])
        #expect(throws: StoreError.wrongKey(expectedKeyID: TemporaryStore.keyID)) { try opened.openPostgres(key: TemporaryStore.otherKey) }
    }

    @Test("a source row PostgreSQL cannot take stops the copy and leaves the target as it was", .offCooperativePool)
    func failedCopy() throws {
        let cases: [(what: String, tamper: String, message: String)] = [
            ("a value of the wrong type", "UPDATE faces SET face_width = 'wide' WHERE id = (SELECT max(id) FROM faces)", "face_width holds"),
            ("a subject in a collection that does not exist", "UPDATE subjects SET collection_id = 99 WHERE name = 'Eve'",
             "a row of the source's subjects breaks a constraint"),
        ]
        for (what, tamper, message) in cases {
            let source = try Source()
            try source.temporary.execute(tamper)
            let target = try TemporaryStore(backend: .postgres)
            let (location, password) = try #require(target.postgres)
            try target.openPostgres().close()
            let before = try target.dump()
            let error = #expect(throws: StoreError.self, "\(what)") {
                _ = try source.store.copy(to: location, password: password)
            }
            #expect(error.map { "\($0)".contains(message) } == true, "\(what): \(String(describing: error))")
            #expect(try target.dump() == before, "\(what)")
        }
    }
}
