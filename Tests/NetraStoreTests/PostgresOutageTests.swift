import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

/// A replica while its PostgreSQL is away (docs/operations.md, "Several replicas on PostgreSQL"), on a
/// cluster of the test's own that it stops, freezes and starts again: identify and verify go
/// on from memory (subject names, the collection and API key last read, the audit of reads
/// held), changes are refused at once as unreachable, `unavailabilityReason` says the store is
/// down, and once the server is back the replica catches up and writes the held audit entries.
@Suite("A PostgreSQL replica while its database is away", .serialized, .tags(.endToEnd))
struct PostgresOutageTests {
    /// How long a replica may take to notice the server gone or back: its feed probes every
    /// second (3 s probe timeout, 15 s for a statement caught mid-flight), with room for a
    /// loaded CI machine.
    static let notice: TimeInterval = 30

    @Test("PostgreSQL shut down and started again: identify's reads answered from memory, changes refused, all caught up after",
          .offCooperativePool)
    func serverRestart() throws {
        let cluster = try PostgresCluster.dedicated()
        defer { cluster.remove() }
        let replica = try Replica(cluster)
        defer { replica.close() }

        try cluster.stopServer()
        try replica.answersFromMemory()
        try cluster.startServer()
        try replica.catchesUp()
    }

    @Test("PostgreSQL frozen (connections open, nothing answered): found out within seconds, reads go on, all caught up after",
          .offCooperativePool)
    func frozenServer() throws {
        let cluster = try PostgresCluster.dedicated()
        defer { cluster.remove() }
        let replica = try Replica(cluster)
        defer { replica.close() }

        cluster.freeze(true)
        try replica.answersFromMemory()
        cluster.freeze(false)
        try replica.catchesUp()
    }

    /// A following store (`a`, as `netra serve` runs it) and a second one (`b`, another
    /// replica) on one database, with a collection, two people and an API key `a` has read.
    final class Replica {
        let a: PostgresStore, b: PostgresStore
        let lobby: SubjectCollection
        let ada: (subject: Subject, descriptor: FaceDescriptor), grace: (subject: Subject, descriptor: FaceDescriptor)
        let apiKey: String
        var generator = VectorGenerator(state: 77)

        init(_ cluster: PostgresCluster) throws {
            let (location, password) = try cluster.makeDatabase()
            a = try PostgresStore(location: location, password: password, key: TemporaryStore.key, modelVersion: TemporaryStore.modelVersion)
            b = try PostgresStore(location: location, password: password, key: TemporaryStore.key, modelVersion: TemporaryStore.modelVersion)
            a.followChanges()
            let follower = a
            #expect(try within(10) { follower.unavailabilityReason == nil }, "the feed subscribes")
            lobby = try a.createCollection(name: "lobby")
            let adaDescriptor = generator.descriptor(), graceDescriptor = generator.descriptor()
            ada = (try a.addFace(toSubjectNamed: "Ada", in: lobby.id, descriptor: adaDescriptor, quality: quality).subject, adaDescriptor)
            // Enrolled and renamed through the other replica: `a` learns both from the change log.
            let graceSubject = try b.addFace(toSubjectNamed: "Grace", in: lobby.id, descriptor: graceDescriptor, quality: quality).subject
            grace = (try b.updateSubject(id: graceSubject.id, name: "Grace Hopper"), graceDescriptor)
            apiKey = try a.createAPIKey(name: "door", scopes: [.recognize]).key
            _ = try a.authenticateAPIKey(apiKey)
            _ = try a.collection(named: "lobby", counted: false)
            #expect(try within(PostgresChangeFeedTests.propagation) {
                try a.subjectNames(ids: [grace.subject.id]) == [grace.subject.id: "Grace Hopper"]
            }, "the enrollment and the rename through b reach a")
        }

        func close() {
            a.close()
            b.close()
        }

        /// What identify and verify need, answered without the database; changes refused.
        func answersFromMemory() throws {
            #expect(try within(PostgresOutageTests.notice) { a.degradationReason?.contains("unreachable") == true },
                    "the store reports itself degraded: \(a.degradationReason ?? "nil")")
            #expect(a.unavailabilityReason == nil, "a replica that has followed stays usable for reads")
            let started = Date()
            #expect(a.index.search(ada.descriptor.values, in: lobby.id, topK: 1).first?.subjectID == ada.subject.id)
            #expect(try a.subjectNames(ids: [ada.subject.id, grace.subject.id]) == [ada.subject.id: "Ada", grace.subject.id: "Grace Hopper"])
            #expect(try a.collection(named: "lobby", counted: false)?.id == lobby.id)
            #expect(try a.authenticateAPIKey(apiKey)?.name == "door")
            let wrongSecret = String(apiKey.dropLast()) + (apiKey.last == "0" ? "1" : "0")
            #expect(try a.authenticateAPIKey(wrongSecret) == nil, "a wrong secret is refused from memory too")
            try AuditActor.$current.withValue("api key:door") {
                try a.recordEvent(action: "identify", subjectID: ada.subject.id, result: "1 faces, 1 identified", detail: "during the outage")
            }
            #expect(Date().timeIntervalSince(started) < 2, "answered at once, not after a timeout")
            do {
                _ = try a.addFace(toSubjectNamed: "Refused", in: lobby.id, descriptor: generator.descriptor(), quality: quality)
                Issue.record("a change was accepted while the database was away")
            } catch .unreachable {
            } catch {
                Issue.record("a change while away: \(error), not unreachable")
            }
            #expect(Date().timeIntervalSince(started) < 4, "a change is refused at once")
        }

        /// Back: the feed subscribes again, the held audit entry is written as it was made, a
        /// change through the other replica arrives, and the store checks clean.
        func catchesUp() throws {
            #expect(try within(PostgresOutageTests.notice) { a.degradationReason == nil }, "back: \(a.degradationReason ?? "nil")")
            #expect(try within(PostgresOutageTests.notice) {
                (try? a.auditLog(limit: 20))?.contains { $0.detail == "during the outage" && $0.actor == "api key:door" } == true
            }, "the read audited while away is written once the database is back")
            let late = generator.descriptor()
            let subject = try within(PostgresOutageTests.notice, value: {
                try? b.addFace(toSubjectNamed: "Late", in: lobby.id, descriptor: late, quality: quality).subject
            })
            let lateSubject = try #require(subject, "the other replica writes again")
            #expect(try within(PostgresChangeFeedTests.propagation) {
                a.index.search(late.values, in: lobby.id, topK: 1).first?.subjectID == lateSubject.id
            })
            #expect(try a.subjectNames(ids: [lateSubject.id]) == [lateSubject.id: "Late"])
            _ = try a.addFace(toSubjectNamed: "Ada", in: lobby.id, descriptor: generator.descriptor(), quality: quality)
            let (report, integrity) = try a.check()
            #expect(report.problems.isEmpty && integrity == ["ok"], "\(report.problems) \(integrity)")
            #expect(try a.faceCount() == 4, "Ada twice, Grace, Late: nothing refused was stored")
        }
    }
}

/// Whether `condition` holds within `seconds` (checked every 10 ms).
private func within(_ seconds: TimeInterval, _ condition: () throws -> Bool) rethrows -> Bool {
    try PostgresChangeFeedTests.within(seconds, condition)
}

/// The first non-nil `value` within `seconds` (tried every 100 ms).
private func within<T>(_ seconds: TimeInterval, value: () throws -> T?) rethrows -> T? {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if let found = try value() { return found }
        Thread.sleep(forTimeInterval: 0.1)
    } while Date() < deadline
    return try value()
}
