import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

/// Two stores on one PostgreSQL database, as two replicas are: each follows the other's changes
/// through the change log (`PostgresChangeFeed`), including after its listening connection is
/// cut.
@Suite("Replicas on one PostgreSQL store follow each other's changes", .tags(.endToEnd))
struct PostgresChangeFeedTests {
    /// How long a change may take to reach the other replica in these tests: the issue's 1 s
    /// (about 35 ms measured, printed below) with room for a CI machine running every suite at
    /// once; the latency itself is a benchmark figure, not a timed test.
    static let propagation: TimeInterval = 5

    @Test("an enrollment, a deletion, a merge and a collection deletion on one reach the other; a cut feed catches up",
          .offCooperativePool)
    func replicasFollowEachOther() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let a = try temporary.openPostgres(), b = try temporary.openPostgres()
        defer { a.close(); b.close() }
        a.followChanges()
        b.followChanges()
        #expect(try Self.within(5) { a.unavailabilityReason == nil && b.unavailabilityReason == nil }, "both feeds subscribe")
        var generator = VectorGenerator(state: 41)
        let ada = generator.descriptor(), grace = generator.descriptor()
        let `default` = SubjectCollection.defaultID

        // Enrolled through A: B identifies the person.
        let (adaSubject, adaFace) = try a.addFace(toSubjectNamed: "Ada", in: `default`, descriptor: ada, quality: quality)
        let enrolled = Date()
        #expect(try Self.within(Self.propagation) { b.index.search(ada.values, in: `default`, topK: 1).first?.subjectID == adaSubject.id })
        print("an enrollment through A reached B's index after \(String(format: "%.1f", Date().timeIntervalSince(enrolled) * 1000)) ms")

        // Deleted through B: gone from A.
        try b.deleteFace(id: adaFace.id)
        #expect(try Self.within(Self.propagation) { a.index.count == 0 })

        // Merged through A: B finds Grace's face under the target subject.
        let (graceSubject, _) = try a.addFace(toSubjectNamed: "Grace", in: `default`, descriptor: grace, quality: quality)
        let target = try a.createSubject(name: "Grace Hopper")
        _ = try a.mergeSubject(id: graceSubject.id, into: target.id)
        #expect(try Self.within(Self.propagation) { b.index.search(grace.values, in: `default`, topK: 1).first?.subjectID == target.id })

        // A collection deleted through B: its faces leave A's index.
        let lobby = try b.createCollection(name: "lobby")
        let visitor = generator.descriptor()
        _ = try b.addFace(toSubjectNamed: "Visitor", in: lobby.id, descriptor: visitor, quality: quality)
        #expect(try Self.within(Self.propagation) { a.index.count(in: lobby.id) == 1 })
        try b.deleteCollection(id: lobby.id)
        #expect(try Self.within(Self.propagation) { a.index.count(in: lobby.id) == 0 })

        // B's listening connection cut (as a network failure or a server restart would): the
        // change made meanwhile through A still reaches B once its feed reconnects.
        try temporary.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
        let late = generator.descriptor()
        let (lateSubject, _) = try a.addFace(toSubjectNamed: "Late", in: `default`, descriptor: late, quality: quality)
        #expect(try Self.within(Self.propagation + 5) { b.index.search(late.values, in: `default`, topK: 1).first?.subjectID == lateSubject.id })
        #expect(try Self.within(5) { b.unavailabilityReason == nil }, "the feed subscribes again")
        #expect(try Self.within(5) { a.appliedChangeSequence == b.appliedChangeSequence && a.index.count == b.index.count })
    }

    @Test("a store opened after changes starts from its load and applies only what follows", .offCooperativePool)
    func lateReplicaStartsFromItsLoad() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let a = try temporary.openPostgres()
        defer { a.close() }
        var generator = VectorGenerator(state: 42)
        for name in ["One", "Two", "Three"] {
            _ = try a.addFace(toSubjectNamed: name, in: SubjectCollection.defaultID, descriptor: generator.descriptor(), quality: quality)
        }
        let b = try temporary.openPostgres()
        defer { b.close() }
        #expect(b.index.count == 3)
        #expect(try temporary.strings("SELECT max(seq)::text FROM changes") == [String(b.appliedChangeSequence)])
        b.followChanges()
        let fourth = generator.descriptor()
        let (subject, _) = try a.addFace(toSubjectNamed: "Four", in: SubjectCollection.defaultID, descriptor: fourth, quality: quality)
        #expect(try Self.within(Self.propagation) { b.index.search(fourth.values, in: SubjectCollection.defaultID, topK: 1).first?.subjectID == subject.id })
        #expect(b.index.count == 4)
    }

    @Test("a face another replica sealed under a key this one was not given is reported, not silently left out",
          .offCooperativePool)
    func unreadableChangeIsReported() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let rotating = try temporary.openPostgres(key: TemporaryStore.key, additionalKeys: [TemporaryStore.otherKey])
        let left = try temporary.openPostgres()
        defer { rotating.close(); left.close() }
        left.followChanges()
        #expect(try Self.within(5) { left.unavailabilityReason == nil })
        _ = try rotating.rotateKey(to: TemporaryStore.otherKey)
        let face = generatorFace()
        let (subject, _) = try rotating.addFace(toSubjectNamed: "Sealed anew", in: SubjectCollection.defaultID, descriptor: face, quality: quality)
        let newKeyID = try TemporaryStore.otherKey.key(salt: []).id
        #expect(try Self.within(Self.propagation) { left.loadReport.unavailableKeys == [newKeyID: 1] },
                "the replica without the new key reports the face it cannot open: \(left.loadReport.problems)")
        #expect(left.index.search(face.values, in: SubjectCollection.defaultID, topK: 1).first?.subjectID != subject.id)
        try rotating.deleteSubject(id: subject.id)
        #expect(try Self.within(Self.propagation) { left.loadReport.unavailableKeys.isEmpty }, "a deleted face is no longer reported")
    }

    private func generatorFace() -> FaceDescriptor {
        var generator = VectorGenerator(state: 43)
        return generator.descriptor()
    }

    /// Whether `condition` holds within `seconds` (checked every 10 ms).
    static func within(_ seconds: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        } while Date() < deadline
        return try condition()
    }
}
