import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

/// The store's contract, on each backend (`StoreBackend`): SQLite-file matters are in
/// SQLiteStoreTests, PostgreSQL-server matters in PostgresStoreTests.
@Suite("The encrypted identity store", .tags(.unit))
struct IdentityStoreTests {
    @Test("subjects and faces persist across reopening; the index is rebuilt from the sealed rows", .offCooperativePool, arguments: StoreBackend.allCases)
    func persistence(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 1)
        let descriptor = generator.descriptor()
        do {
            let store = try temporary.open()
            let subject = try store.createSubject(name: "Ada Lovelace", metadata: #"{"badge": 17}"#)
            let face = try store.addFace(subjectID: subject.id, descriptor: descriptor, quality: quality)
            #expect(face.keyID == TemporaryStore.keyID)
        }
        let reopened = try temporary.open()
        #expect(reopened.loadReport.loaded == 1 && reopened.loadReport.tamperedFaceIDs.isEmpty)
        let subject = try #require(try reopened.subjects(named: "Ada Lovelace", in: SubjectCollection.defaultID).first)
        #expect(subject.faceCount == 1 && subject.metadata == #"{"badge": 17}"#)
        let hit = try #require(reopened.index.search(descriptor.values, in: SubjectCollection.defaultID, topK: 1).first)
        #expect(hit.subjectID == subject.id && hit.distance < 1e-3)
        #expect(try reopened.auditLog().map(\.action) == ["enroll", "create_subject"])
    }

    @Test("the wrong key is one clear error at open, and changes nothing", .offCooperativePool, arguments: StoreBackend.allCases)
    func wrongKey(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let keyID: String
        do {
            let store = try temporary.open()
            keyID = TemporaryStore.keyID
            let subject = try store.createSubject(name: "A")
            var generator = VectorGenerator(state: 2)
            _ = try store.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality)
        }
        let before = try temporary.dump()
        #expect(throws: StoreError.wrongKey(expectedKeyID: keyID)) { try temporary.open(key: TemporaryStore.otherKey) }
        let error = #expect(throws: StoreError.self) { try temporary.open(key: .passphrase("not the key")) }
        #expect(error?.description.hasPrefix("the key does not match key id \(keyID)") == true)
        #expect(try temporary.dump() == before)
        #expect(try temporary.open().loadReport.loaded == 1)
    }

    @Test("tampered, swapped and truncated rows are reported by id, left out, and the rest still load", .offCooperativePool, arguments: StoreBackend.allCases)
    func tampering(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 3)
        var faces: [StoredFace] = []
        do {
            let store = try temporary.open()
            let first = try store.createSubject(name: "First"), second = try store.createSubject(name: "Second")
            for subject in [first, first, second, second, second] {
                faces.append(try store.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality))
            }
            // Flip one bit of face 0's ciphertext.
            var ciphertext = try #require(try temporary.blob("SELECT ciphertext FROM faces WHERE id = ?", faces[0].id))
            ciphertext[10] ^= 0x01
            try temporary.execute("UPDATE faces SET ciphertext = ? WHERE id = ?", ciphertext, faces[0].id)
            // Swap the sealed payloads of faces 1 and 2 (another row's ciphertext).
            try temporary.execute("UPDATE faces SET (nonce, ciphertext, tag) = (SELECT nonce, ciphertext, tag FROM faces WHERE id = ?) WHERE id = ?",
                                  faces[2].id, faces[1].id)
            // Truncate face 3's ciphertext.
            try temporary.execute("UPDATE faces SET ciphertext = substr(ciphertext, 1, 100) WHERE id = ?", faces[3].id)
            // Move face 4 to the other subject.
            try temporary.execute("UPDATE faces SET subject_id = ? WHERE id = ?", first.id, faces[4].id)
        }
        let store = try temporary.open()
        let expected = [faces[0].id, faces[1].id, faces[3].id, faces[4].id]
        #expect(store.loadReport.tamperedFaceIDs.sorted() == expected)
        #expect(store.loadReport.loaded == 1)
        #expect(store.index.count == 1)
        #expect(try store.check().report.tamperedFaceIDs.sorted() == expected)
    }

    @Test("a database from a newer schema is refused without being changed", .offCooperativePool, arguments: StoreBackend.allCases)
    func newerSchema(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        _ = try temporary.open()
        switch backend {
        case .sqlite: try temporary.execute("INSERT INTO grdb_migrations (identifier) VALUES ('9999_from_the_future')")
        case .postgres: try temporary.execute("INSERT INTO netra_migrations (name, applied_at) VALUES ('9999_from_the_future', 'later')")
        }
        let before = try temporary.dump()
        #expect(throws: StoreError.newerSchema(unknownMigrations: ["9999_from_the_future"])) { try temporary.open() }
        #expect(try temporary.dump() == before)
    }

    @Test("deleting a subject deletes its faces from the database and the index", .offCooperativePool, arguments: StoreBackend.allCases)
    func deletion(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        var generator = VectorGenerator(state: 4)
        let keep = try store.createSubject(name: "Keep"), drop = try store.createSubject(name: "Drop")
        let kept = try store.addFace(subjectID: keep.id, descriptor: generator.descriptor(), quality: quality)
        let dropped = generator.descriptor()
        _ = try store.addFace(subjectID: drop.id, descriptor: dropped, quality: quality)
        try store.deleteSubject(id: drop.id)
        #expect(try store.faceCount() == 1)
        #expect(store.index.search(dropped.values, in: SubjectCollection.defaultID, topK: 5).map(\.subjectID) == [keep.id])
        #expect(throws: StoreError.subjectNotFound(drop.id)) { try store.deleteSubject(id: drop.id) }
        try store.deleteFace(id: kept.id)
        #expect(store.index.count == 0)
        #expect(throws: StoreError.faceNotFound(kept.id)) { try store.deleteFace(id: kept.id) }
        #expect(throws: StoreError.subjectNotFound(999)) {
            try store.addFace(subjectID: 999, descriptor: generator.descriptor(), quality: quality)
        }
        #expect(throws: StoreError.invalidMetadata) { try store.createSubject(name: "X", metadata: "[1]") }
        #expect(throws: StoreError.self) { try store.createSubject(name: "  ") }
    }

    @Test("key rotation re-seals every row; afterwards only the new key opens the store", .offCooperativePool, arguments: StoreBackend.allCases)
    func rotation(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 5)
        let descriptors = (0..<23).map { _ in generator.descriptor() }
        let oldKeyID: String
        do {
            let store = try temporary.open()
            oldKeyID = TemporaryStore.keyID
            let subject = try store.createSubject(name: "Many")
            for descriptor in descriptors { _ = try store.addFace(subjectID: subject.id, descriptor: descriptor, quality: quality) }
            var updates: [Int] = []
            let report = try store.rotateKey(to: TemporaryStore.otherKey, batchSize: 5) { done, _ in updates.append(done) }
            #expect(report.resealed == 23 && report.unreadableFaceIDs.isEmpty && report.retiredKeyIDs == [oldKeyID])
            #expect(updates.last == 23 && updates.count == 5)
        }
        #expect(throws: StoreError.self) { try temporary.open() }
        let rotated = try temporary.open(key: TemporaryStore.otherKey)
        #expect(rotated.loadReport.loaded == 23 && rotated.loadReport.unavailableKeys.isEmpty)
        #expect(rotated.index.search(descriptors[7].values, in: SubjectCollection.defaultID, topK: 1).first?.distance ?? 1 < 1e-3)
    }

    @Test("an interrupted rotation resumes when run again with both keys", .offCooperativePool, arguments: StoreBackend.allCases)
    func interruptedRotation(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 6)
        do {
            let store = try temporary.open()
            let subject = try store.createSubject(name: "S")
            for _ in 0..<10 { _ = try store.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality) }
            // Simulate a crash after the new key became active and 4 rows were re-sealed.
            let newKey = try TemporaryStore.otherKey.key(salt: [])
            try temporary.activate(newKey)
            let oldSealer = EmbeddingSealer(key: try TemporaryStore.key.key(salt: []))
            for row in try temporary.faceRows(limit: 4) {
                let values = try oldSealer.open(row.sealed, binding: row.binding)
                var binding = row.binding
                binding.keyID = newKey.id
                let sealed = try EmbeddingSealer(key: newKey).seal(values, binding: binding)
                try temporary.execute("UPDATE faces SET key_id = ?, nonce = ?, ciphertext = ?, tag = ? WHERE id = ?",
                                      newKey.id, Data(sealed.nonce), Data(sealed.ciphertext), Data(sealed.tag), row.id)
            }
        }
        let halfway = try temporary.open(key: TemporaryStore.otherKey)
        #expect(halfway.loadReport.loaded == 4 && halfway.loadReport.unavailableKeys.values.reduce(0, +) == 6)
        let resumed = try temporary.open(key: TemporaryStore.otherKey, additionalKeys: [TemporaryStore.key])
        #expect(resumed.loadReport.loaded == 10)
        let report = try resumed.rotateKey(to: TemporaryStore.otherKey)
        #expect(report.resealed == 6)
        #expect(try temporary.open(key: TemporaryStore.otherKey).loadReport.loaded == 10)
    }

    @Test("a store open while a rotation runs seals new faces under the new key when it holds it, refuses them when not, and keeps searching", .offCooperativePool, arguments: StoreBackend.allCases)
    func rotationWhileServing(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 8)
        let withBothKeys = try temporary.open(additionalKeys: [TemporaryStore.otherKey])
        let subject = try withBothKeys.createSubject(name: "S")
        let first = generator.descriptor()
        for descriptor in [first] + (0..<5).map({ _ in generator.descriptor() }) {
            _ = try withBothKeys.addFace(subjectID: subject.id, descriptor: descriptor, quality: quality)
        }
        let withOldKeyOnly = try temporary.open()
        let rotator = try temporary.open(additionalKeys: [TemporaryStore.otherKey])
        var enrolledDuringRotation = 0
        var refusals: [StoreError] = []
        _ = try rotator.rotateKey(to: TemporaryStore.otherKey, batchSize: 2) { _, _ in
            _ = try? withBothKeys.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality)
            enrolledDuringRotation += 1
            do {
                _ = try withOldKeyOnly.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality)
            } catch let error as StoreError {
                refusals.append(error)
            } catch {
                Issue.record(error)
            }
        }
        let newKeyID = try TemporaryStore.otherKey.key(salt: []).id
        #expect(refusals.count == enrolledDuringRotation && refusals.allSatisfy { $0 == .activeKeyUnavailable(keyID: newKeyID) })
        #expect(withOldKeyOnly.index.search(first.values, in: SubjectCollection.defaultID, topK: 1).first?.distance ?? 1 < 1e-3, "searches go on from memory")
        let keyIDs = try temporary.strings("SELECT DISTINCT key_id FROM faces")
        #expect(keyIDs == [newKeyID])
        let restarted = try temporary.open(key: TemporaryStore.otherKey)
        #expect(restarted.loadReport.loaded == 6 + enrolledDuringRotation && restarted.loadReport.unavailableKeys.isEmpty)
    }

    @Test("a rotation retires the old key only when no row is left under it, even one written after its last batch", .offCooperativePool, arguments: StoreBackend.allCases)
    func rotationFinishesOnlyWhenNothingIsLeft(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 9)
        let store = try temporary.open(additionalKeys: [TemporaryStore.otherKey])
        let subject = try store.createSubject(name: "S")
        for _ in 0..<3 { _ = try store.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality) }
        let oldSealer = EmbeddingSealer(key: try TemporaryStore.key.key(salt: []))
        var written = false
        let report = try store.rotateKey(to: TemporaryStore.otherKey, batchSize: 10) { _, _ in
            guard !written else { return }
            written = true
            // A writer that does not look at the active key (a NETRA before this check).
            let values = generator.descriptor().values
            #expect(throws: Never.self) { try temporary.insertFace(subjectID: subject.id, values: values, quality: quality, sealedWith: oldSealer) }
        }
        #expect(report.resealed == 4 && report.retiredKeyIDs == [oldSealer.key.id])
        #expect(try temporary.open(key: TemporaryStore.otherKey).loadReport.loaded == 4)
    }

    @Test("subjects whose names are swapped in the database are refused on read and reported at opening and by check", .offCooperativePool, arguments: StoreBackend.allCases)
    func swappedNames(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        let alice = try store.createSubject(name: "Alice"), bob = try store.createSubject(name: "Bob")
        try temporary.execute("UPDATE subjects SET name = CASE id WHEN ? THEN 'Bob' ELSE 'Alice' END", alice.id)
        #expect(throws: StoreError.tamperedSubject(alice.id)) { try store.subject(id: alice.id) }
        #expect(throws: StoreError.self) { try store.subjects(named: "Bob", in: SubjectCollection.defaultID) }
        let reopened = try temporary.open()
        #expect(reopened.loadReport.tamperedSubjectIDs == [alice.id, bob.id])
        #expect(reopened.loadReport.problems.contains { $0.contains("subjects' names or metadata fail authentication") })
        #expect(try reopened.check().report.tamperedSubjectIDs == [alice.id, bob.id])
        #expect(throws: StoreError.tamperedSubject(alice.id), "an update would authenticate what was forged") {
            try reopened.updateSubject(id: alice.id, name: "Alice")
        }
        try reopened.deleteSubject(id: alice.id)
        #expect(try reopened.subject(id: alice.id) == nil)
    }

    @Test("a face whose model_version is edited is reported as tampered, not silently left out", .offCooperativePool, arguments: StoreBackend.allCases)
    func editedModelVersion(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 10)
        let store = try temporary.open()
        let subject = try store.createSubject(name: "S")
        let face = try store.addFace(subjectID: subject.id, descriptor: generator.descriptor(), quality: quality)
        try temporary.execute("UPDATE faces SET model_version = 'other-model'")
        let reopened = try temporary.open()
        #expect(reopened.loadReport.tamperedFaceIDs == [face.id] && reopened.loadReport.otherModelVersion == 0)
    }

    @Test("the audit log is a chain: an entry edited, removed from the middle or from the end is reported by check", .offCooperativePool,
          arguments: StoreBackend.allCases)
    func auditChain(backend: StoreBackend) throws {
        func store(with entries: Int) throws -> (TemporaryStore, any IdentityStore) {
            let temporary = try TemporaryStore(backend: backend)
            let store = try temporary.open()
            for index in 0..<entries { _ = try store.createSubject(name: "Person \(index)") }
            #expect(try store.check().report.auditProblems.isEmpty)
            return (temporary, store)
        }
        let cases: [(String, String)] = [
            ("UPDATE audit_log SET result = 'fine' WHERE id = 3", "from entry 3 on"),
            ("DELETE FROM audit_log WHERE id = 2", "from entry 3 on"),
            ("DELETE FROM audit_log WHERE id = 5", "newest entries were removed"),
        ]
        for (tampering, finding) in cases {
            let (temporary, _) = try store(with: 5)
            try temporary.execute(tampering)
            let problems = try temporary.open().check().report.auditProblems
            #expect(problems.count == 1 && problems[0].contains(finding), "\(tampering): \(problems)")
        }
    }

    @Test("a store whose integrity key was deleted from its settings is refused, not re-keyed (which would authenticate forged rows)", .offCooperativePool, arguments: StoreBackend.allCases)
    func deletedIntegrityKey(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        do {
            let store = try temporary.open()
            _ = try store.createSubject(name: "Ada")
            try temporary.execute("UPDATE subjects SET name = 'Eve', mac = NULL")
            try temporary.execute("DELETE FROM store_settings WHERE name IN ('integrity_key', 'integrity_key_id')")
        }
        #expect(throws: StoreError.integrityKeyMissing) { try temporary.open() }
    }

    @Test("entries removed from the end of the audit log stay reported after the next write", .offCooperativePool, arguments: StoreBackend.allCases)
    func auditGapSurvivesNextWrite(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        for index in 0..<4 { _ = try store.createSubject(name: "P\(index)") }
        try temporary.execute("DELETE FROM audit_log WHERE id >= 3")
        _ = try store.createSubject(name: "After")
        let problems = try store.check().report.auditProblems
        #expect(problems.count == 1 && problems[0].contains("from entry 5 on"), "\(problems)")
    }

    @Test("an API key's last use is recorded when it authenticates, at most once a minute; a wrong secret records nothing", .offCooperativePool, arguments: StoreBackend.allCases)
    func apiKeyLastUse(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        let (key, record) = try store.createAPIKey(name: "door", scopes: [.recognize])
        #expect(record.lastUsedAt == nil)
        #expect(try store.authenticateAPIKey(String(key.dropLast()) + (key.last == "x" ? "y" : "x")) == nil)
        #expect(try store.apiKeys().first?.lastUsedAt == nil)
        let used = try #require(try store.authenticateAPIKey(key))
        let stored = try #require(try store.apiKeys().first?.lastUsedAt)
        #expect(used.lastUsedAt == stored)
        #expect(try store.authenticateAPIKey(key)?.lastUsedAt == stored, "a second use within the minute writes nothing")
        #expect(APIKeyText.isStale(nil) && APIKeyText.isStale("2020-01-01T00:00:00.000Z") && !APIKeyText.isStale(stored))
    }

    @Test("a key is found by its id, revoked or not; an unknown id finds none", .offCooperativePool, arguments: StoreBackend.allCases)
    func apiKeyByID(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        let (_, door) = try store.createAPIKey(name: "door", scopes: [.recognize])
        let (_, gate) = try store.createAPIKey(name: "gate", scopes: [.manage])
        #expect(try store.apiKey(id: door.id) == door)
        #expect(try store.apiKey(id: gate.id)?.name == "gate")
        #expect(try store.apiKey(id: "000000000000") == nil)
        try store.revokeAPIKey(id: door.id)
        #expect(try store.apiKey(id: door.id)?.revokedAt != nil)
    }
}
