import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

/// On each backend (`StoreBackend`); the SQLite upgrade from schema 3 is in SQLiteStoreTests.
@Suite("Collections in the identity store", .tags(.unit))
struct CollectionStoreTests {
    @Test("a search, a name lookup and a listing see only their collection; the same face in two collections is two subjects", .offCooperativePool, arguments: StoreBackend.allCases)
    func searchesStayInTheirCollection(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        let reception = try store.createCollection(name: "reception")
        var generator = VectorGenerator(state: 7)
        let face = generator.descriptor()
        let inDefault = try store.addFace(toSubjectNamed: "Ada", in: SubjectCollection.defaultID, descriptor: face, quality: quality)
        let inReception = try store.addFace(toSubjectNamed: "Ada", in: reception.id, descriptor: face, quality: quality)
        #expect(inDefault.subject.id != inReception.subject.id && inReception.subject.collectionID == reception.id)

        for reopened in [store, try temporary.open()] {
            #expect(reopened.index.search(face.values, in: reception.id, topK: 5).map(\.subjectID) == [inReception.subject.id])
            #expect(reopened.index.search(face.values, in: SubjectCollection.defaultID, topK: 5).map(\.subjectID) == [inDefault.subject.id])
            #expect(reopened.index.count(in: reception.id) == 1 && reopened.index.count == 2)
            #expect(try reopened.subjects(named: "Ada", in: reception.id).map(\.id) == [inReception.subject.id])
            #expect(try reopened.subjects(in: SubjectPage(collectionID: reception.id)).map(\.id) == [inReception.subject.id])
            #expect(try reopened.subjectCount(in: reception.id) == 1 && reopened.subjectCount() == 2)
            #expect(try reopened.faceCount(in: reception.id) == 1)
            let page = try reopened.faces(in: FacePage(collectionID: reception.id))
            #expect(page.total == 1 && page.faces.map(\.face.id) == [inReception.face.id] && page.faces.map(\.subjectName) == ["Ada"])
        }
        #expect(try store.collections().map(\.name) == ["default", "reception"])
        let counted = try #require(try store.collection(named: "reception", counted: true))
        #expect(counted.subjectCount == 1 && counted.faceCount == 1)
        #expect(try store.collection(id: reception.id, counted: true) == counted)
        // The lookup every request makes: the same collection, nothing counted.
        var uncounted = counted
        (uncounted.subjectCount, uncounted.faceCount) = (0, 0)
        #expect(try store.collection(named: "reception", counted: false) == uncounted)
        #expect(try store.collection(id: reception.id, counted: false) == uncounted)
    }

    @Test("names are checked, unique, and default cannot be deleted nor one an active key is bound to", .offCooperativePool, arguments: StoreBackend.allCases)
    func collectionRules(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        #expect(throws: StoreError.collectionExists("default")) { try store.createCollection(name: "default") }
        for bad in ["", "has space", "semi;colon", String(repeating: "x", count: 65), "naïve"] {
            #expect(throws: StoreError.self, "\(bad)") { try store.createCollection(name: bad) }
        }
        #expect(throws: StoreError.collectionInUse("default", reason: "it is the default collection")) {
            try store.deleteCollection(id: SubjectCollection.defaultID)
        }
        let lobby = try store.createCollection(name: "lobby")
        let (_, key) = try store.createAPIKey(name: "door", scopes: [.recognize], collectionID: lobby.id)
        let listed = try store.apiKeys().first?.collectionID
        #expect(key.collectionID == lobby.id && listed == lobby.id)
        #expect(throws: StoreError.self) { try store.deleteCollection(id: lobby.id) }
        #expect(throws: StoreError.collectionNotFound("99")) { try store.createAPIKey(name: "x", scopes: [.recognize], collectionID: 99) }
        #expect(throws: StoreError.collectionNotFound("99")) { try store.createSubject(name: "x", metadata: "{}", in: 99) }
        #expect(try store.updateCollection(id: lobby.id, strictUnknown: false).strictUnknown == false)
        #expect(try store.collection(named: "lobby", counted: false)?.strictUnknown == false)
        #expect(try store.updateCollection(id: lobby.id, strictUnknown: nil).strictUnknown == nil)
        #expect(throws: StoreError.collectionNotFound("99")) { try store.updateCollection(id: 99, strictUnknown: true) }
        try store.revokeAPIKey(id: key.id)
        try store.deleteCollection(id: lobby.id)
        #expect(try store.collection(named: "lobby", counted: false) == nil)
    }

    @Test("deleting a collection deletes its subjects, faces and index, and nothing of the others", .offCooperativePool, arguments: StoreBackend.allCases)
    func deletingACollection(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        let lobby = try store.createCollection(name: "lobby")
        var generator = VectorGenerator(state: 3)
        let kept = try store.addFace(toSubjectNamed: "Kept", in: SubjectCollection.defaultID, descriptor: generator.descriptor(), quality: quality)
        let gone = try store.addFace(toSubjectNamed: "Gone", in: lobby.id, descriptor: generator.descriptor(), quality: quality)
        try store.deleteCollection(id: lobby.id)
        #expect(try store.subject(id: gone.subject.id) == nil && store.face(id: gone.face.id) == nil)
        #expect(store.index.descriptor(faceID: gone.face.id) == nil && store.index.descriptor(faceID: kept.face.id) != nil)
        #expect(try temporary.open().loadReport.loaded == 1)
        #expect(try store.auditLog(limit: 1).first?.action == "delete_collection")
    }

    @Test("many subjects are deleted in one transaction, each audited, their faces gone from the index; missing ones skipped", .offCooperativePool, arguments: StoreBackend.allCases)
    func bulkDelete(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let store = try temporary.open()
        var generator = VectorGenerator(state: 9)
        let enrolled = try (0..<3).map { index in
            try store.addFace(toSubjectNamed: "P\(index)", in: SubjectCollection.defaultID, descriptor: generator.descriptor(), quality: quality)
        }
        #expect(try store.deleteSubjects(ids: [enrolled[0].subject.id, enrolled[2].subject.id, 999]) == 2)
        #expect(try store.subjects(in: SubjectPage(collectionID: SubjectCollection.defaultID)).map(\.name) == ["P1"])
        #expect(store.index.count == 1 && store.index.descriptor(faceID: enrolled[1].face.id) != nil)
        #expect(try store.auditLog(limit: 2).map(\.action) == ["delete_subject", "delete_subject"])
    }

    @Test("a subject moved into another collection by editing the database fails its MAC and is never answered", .offCooperativePool, arguments: StoreBackend.allCases)
    func movedSubjectIsTampered(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        let subjectID: Int64
        do {
            let store = try temporary.open()
            _ = try store.createCollection(name: "vault")
            subjectID = try store.createSubject(name: "Ada").id
            try temporary.execute("UPDATE subjects SET collection_id = 2")
        }
        let reopened = try temporary.open()
        #expect(reopened.loadReport.tamperedSubjectIDs == [subjectID])
        #expect(throws: StoreError.tamperedSubject(subjectID)) { try reopened.subject(id: subjectID) }
    }

    @Test("merging moves every face to the target, re-sealed and bound to it, and deletes the source", .offCooperativePool, arguments: StoreBackend.allCases)
    func merge(backend: StoreBackend) throws {
        let temporary = try TemporaryStore(backend: backend)
        var generator = VectorGenerator(state: 11)
        let faces = (0..<3).map { _ in generator.descriptor() }
        let (source, target): (Subject, Subject)
        do {
            let store = try temporary.open()
            source = try store.createSubject(name: "Jen")
            target = try store.createSubject(name: "Jennifer")
            for face in faces.prefix(2) { _ = try store.addFace(subjectID: source.id, descriptor: face, quality: quality) }
            _ = try store.addFace(subjectID: target.id, descriptor: faces[2], quality: quality)
            let merged = try store.mergeSubject(id: source.id, into: target.id)
            #expect(merged.id == target.id && merged.faceCount == 3)
            #expect(try store.subject(id: source.id) == nil)
            #expect(store.index.search(faces[0].values, in: SubjectCollection.defaultID, topK: 5).first?.subjectID == target.id)
            let other = try store.createCollection(name: "other")
            let stranger = try store.createSubject(name: "Stranger", metadata: "{}", in: other.id)
            #expect(throws: StoreError.subjectsInDifferentCollections) { try store.mergeSubject(id: stranger.id, into: target.id) }
            #expect(throws: StoreError.self) { try store.mergeSubject(id: target.id, into: target.id) }
            #expect(try store.faces(ofSubject: target.id).count == 3, "a merge into itself changes nothing")
        }
        let reopened = try temporary.open()
        #expect(reopened.loadReport.loaded == 3 && reopened.loadReport.tamperedFaceIDs.isEmpty)
        #expect(try reopened.faces(ofSubject: target.id).count == 3)
        #expect(reopened.index.search(faces[1].values, in: SubjectCollection.defaultID, topK: 1).first?.subjectID == target.id)
    }
}
