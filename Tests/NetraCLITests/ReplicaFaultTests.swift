import Foundation
import NetraStore
import NetraTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults under two replicas of `netra serve` sharing one PostgreSQL store, as two pods behind
/// a load balancer: a replica killed with SIGKILL in the middle of a bulk
/// enrollment, PostgreSQL restarted while both serve, and a key rotation run while both serve.
///
/// Everything is real: the built `netra` binary, real photos of the public set through the real
/// models, a real PostgreSQL (`PostgresCluster`). The test that stops PostgreSQL has a cluster
/// of its own (`PostgresCluster.dedicated()`), so that the shared one goes on serving the other
/// suites. Times (propagation, recovery) are printed as measurements; their bounds are loose
/// (a debug build answers an identify in a few hundred milliseconds on two cores), since what
/// is checked is that the replicas get there at all, and lose nothing on the way.
@Suite("Faults under two replicas on one PostgreSQL store: kill -9, PostgreSQL restarted, key rotation", .serialized, .tags(.endToEnd))
struct ReplicaFaultTests {
    // MARK: Fixtures

    static let oldKey = StoreCommandTests.key
    static let newKey = "base64:" + Data((0..<32).map { UInt8(($0 * 11 + 5) % 256) }).base64EncodedString()
    static func photo(_ name: String) -> String { FaultTests.photo(name) }
    static func deepface(_ name: String) -> String { FaultTests.deepface(name) }

    /// A database of its own on `cluster`, dropped at the end (a dedicated cluster is removed
    /// whole by its test instead).
    final class Store {
        let cluster: PostgresCluster
        let location: PostgresLocation
        let password: String
        private let drop: Bool

        init(on cluster: PostgresCluster, dropAtEnd: Bool = true) throws {
            self.cluster = cluster
            (location, password) = try cluster.makeDatabase()
            drop = dropAtEnd
        }

        deinit { if drop { cluster.dropDatabase(location.database) } }

        /// The variables of a process on this store: `key` as the store key, `newKey` (if any)
        /// as NETRA_NEW_SECRET_KEY, and the rate limit out of the way of the test's clients.
        func environment(key: String = ReplicaFaultTests.oldKey, newKey: String? = nil) -> [String: String] {
            ["NETRA_DATA_URL": location.description, "NETRA_DATA_PASSWORD": password, "NETRA_SECRET_KEY": key,
             "NETRA_NEW_SECRET_KEY": newKey ?? "", "NETRA_NEW_KEY_FILE": "", "NETRA_KEY_FILE": "", "NETRA_DATA_KEY_FILE": "",
             "NETRA_DATA_PASSWORD_FILE": "", "NETRA_APP_RATE_LIMIT_PER_SECOND": "100000", "NETRA_APP_RATE_LIMIT_BURST": "100000"]
        }

        func netra(_ arguments: [String], key: String = ReplicaFaultTests.oldKey, newKey: String? = nil) throws -> Netra.Result {
            try Netra.run(arguments, environment: environment(key: key, newKey: newKey))
        }

        /// `netra db check --json` with only `key`: its exit status, report and standard error.
        func check(key: String = ReplicaFaultTests.oldKey) throws -> (exitCode: Int32, report: [String: Any], error: String) {
            let result = try netra(["db", "check", "--json"], key: key)
            let report = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]) ?? [:]
            return (result.exitCode, report, result.error)
        }
    }

    /// One `netra serve` replica on a free loopback port: `FaultTests.Server` on the store its
    /// environment names.
    typealias Replica = FaultTests.Server

    static func replica(_ name: String, environment: [String: String]) throws -> Replica {
        try FaultTests.Server(db: nil, name: name, environment: environment)
    }

    static func call(_ replica: Replica, _ method: String, _ path: String, form: [(String, String)] = [],
                     timeout: Int = 120) throws -> FaultTests.Reply {
        try FaultTests.call(replica, method, path, form: form, timeout: timeout)
    }

    static func enroll(_ replica: Replica, name: String, photo: String) throws -> FaultTests.Reply {
        try call(replica, "POST", "/api/v1/enroll", form: [("name", name), ("largest", "true"), ("image", "@" + photo)])
    }

    static func identify(_ replica: Replica, _ photo: String, topK: Int = 1) throws -> FaultTests.Reply {
        try call(replica, "POST", "/api/v1/identify", form: [("image", "@" + photo), ("top_k", "\(topK)")])
    }

    /// The subject ids of every candidate of every face of an identify reply.
    static func candidateIDs(_ reply: FaultTests.Reply) -> Set<Int> {
        Set((reply.json["faces"] as? [[String: Any]] ?? []).flatMap { face in
            (face["candidates"] as? [[String: Any]] ?? []).compactMap { $0["subject_id"] as? Int }
        })
    }

    /// The times of the `identify` entries among the newest 500 of the shared audit log, as
    /// `replica` answers it (`nil` when it does not).
    static func identifyAuditTimes(_ replica: Replica) throws -> [Date]? {
        let reply = try call(replica, "GET", "/api/v1/audit?limit=500")
        guard reply.status == 200 else { return nil }
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return (reply.json["events"] as? [[String: Any]] ?? []).filter { $0["action"] as? String == "identify" }
            .compactMap { ($0["at"] as? String).flatMap(format.date(from:)) }
    }

    /// Polls `condition` until it holds or `timeout` passes; the seconds it took, or `nil`.
    static func secondsUntil(timeout: TimeInterval, interval: TimeInterval = 0.05, _ condition: () throws -> Bool) rethrows -> TimeInterval? {
        let start = Date()
        repeat {
            if try condition() { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: interval)
        } while Date().timeIntervalSince(start) < timeout
        return nil
    }

    static func milliseconds(_ seconds: TimeInterval?) -> String {
        seconds.map { String(format: "%.0f ms", $0 * 1000) } ?? "never"
    }

    /// Runs `body` on `count` threads of their own (blocking calls, off every shared pool) and
    /// returns a function that waits for them all.
    static func spawn(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) -> () -> Void {
        let group = DispatchGroup()
        for index in 0..<count {
            group.enter()
            Thread {
                body(index)
                group.leave()
            }.start()
        }
        return { group.wait() }
    }

    /// What the concurrent clients of a test saw, under a lock.
    final class Ledger<Entry>: @unchecked Sendable {
        private let lock = NSLock()
        private var entries: [Entry] = []
        private var taken = 0
        private var stopped = false
        private var busy = 0

        /// The next index below `limit` to work on, or `nil` when all are taken or `stop` was called.
        func take(below limit: Int) -> Int? {
            lock.withLock {
                guard !stopped, taken < limit else { return nil }
                defer { taken += 1 }
                return taken
            }
        }

        func stop() { lock.withLock { stopped = true } }
        /// Calls under way now (`begin` and `end` around each).
        var inFlight: Int { lock.withLock { busy } }
        func begin() { lock.withLock { busy += 1 } }
        func end() { lock.withLock { busy -= 1 } }
        var isStopped: Bool { lock.withLock { stopped } }
        var attempted: Int { lock.withLock { taken } }
        func record(_ entry: Entry) { lock.withLock { entries.append(entry) } }
        var all: [Entry] { lock.withLock { entries } }
    }

    // MARK: 1. kill -9 of a replica during a bulk enrollment

    /// An acknowledged enrollment (201) is durable in the shared store, whatever happens to the
    /// replica that acknowledged it: four clients enroll real photos through A as fast as it
    /// takes them, A is killed with SIGKILL once 20 are acknowledged, and then every acknowledged
    /// face is on B, both in its answers about the subject (read from PostgreSQL) and in its
    /// in-memory index (identify on B finds every subject enrolled with that photo); `netra db
    /// check` (every row authenticated, the audit chain verified) exits 0, and no subject was
    /// left without a face by an enrollment cut in half.
    @Test("kill -9 of replica A during a bulk enrollment: every enrollment A acknowledged is on B, db check is clean", .offCooperativePool)
    func killDuringBulkEnrollment() throws {
        let store = try Store(on: PostgresCluster.shared)
        let a = try Self.replica("A", environment: store.environment()), b = try Self.replica("B", environment: store.environment())
        for replica in [a, b] {
            try #require(replica.secondsUntilReady(timeout: 90) != nil, "\(replica.name) not ready: \(replica.logTail)")
        }
        let photos = ["obama-480p.jpg", "test_biden.jpg", "knn_train_kit_harington_john2.jpeg", "alex-lacamoire.png",
                      "lin-manuel-miranda.png", "knn_train_rose_leslie_img2.jpg"].map(Self.photo)
        let planned = 60, clients = 4, killAfter = 20

        struct Enrollment { let index: Int; let reply: FaultTests.Reply; let photo: String }
        let ledger = Ledger<Enrollment>()
        let started = Date()
        let join = Self.spawn(clients) { _ in
            while let index = ledger.take(below: planned) {
                ledger.begin()
                defer { ledger.end() }
                let photo = photos[index % photos.count]
                var reply = (try? Self.enroll(a, name: "bulk-\(index)", photo: photo)) ?? FaultTests.Reply(status: 0, text: "", headers: [:])
                // All vision workers busy is back-pressure, not a failure: that request again.
                while reply.status == 503, reply.errorCode == "overloaded" {
                    Thread.sleep(forTimeInterval: 0.1)
                    reply = (try? Self.enroll(a, name: "bulk-\(index)", photo: photo)) ?? FaultTests.Reply(status: 0, text: "", headers: [:])
                }
                ledger.record(Enrollment(index: index, reply: reply, photo: photo))
                if reply.status == 0 { ledger.stop() }
            }
        }
        let acknowledgedBeforeKill = Self.secondsUntil(timeout: 120) {
            ledger.all.filter { $0.reply.status == 201 }.count >= killAfter
        }
        let inFlightAtKill = ledger.inFlight
        a.kill(SIGKILL)
        let killedAt = Date()
        join()
        try #require(acknowledgedBeforeKill != nil, "A acknowledged fewer than \(killAfter) enrollments in 120 s: \(ledger.all.map(\.reply.status)) \(a.logTail)")

        let results = ledger.all
        let acknowledged = results.filter { $0.reply.status == 201 }
        let refused = results.filter { $0.reply.status != 201 && $0.reply.status != 0 }
        print("""
            kill -9 during bulk enrollment: \(acknowledged.count) acknowledged, \(inFlightAtKill) in flight at the kill, \
            \(ledger.attempted) of \(planned) sent, A killed after \(String(format: "%.1f", killedAt.timeIntervalSince(started))) s \
            (\(String(format: "%.0f", killedAt.timeIntervalSince(started) * 1000 / Double(max(acknowledged.count, 1)))) ms per acknowledged enrollment with \(clients) clients)
            """)
        #expect(refused.isEmpty, "enrollments refused before the kill: \(refused.map { "\($0.index): \($0.reply.status) \($0.reply.text)" })")
        try #require(ledger.attempted < planned, "the bulk enrollment ended before the kill")
        try #require(inFlightAtKill > 0, "no enrollment was in flight when A was killed")

        var expected: [(subject: Int, face: Int, photo: String)] = []
        for enrollment in acknowledged {
            let subject = (enrollment.reply.json["subject"] as? [String: Any])?["id"] as? Int
            let face = enrollment.reply.faceID
            #expect(subject != nil && face != nil, "a 201 without subject and face ids: \(enrollment.reply.text)")
            if let subject, let face { expected.append((subject, face, enrollment.photo)) }
        }

        // B reads every acknowledged face from the store...
        var missing: [String] = []
        let stored = try Self.secondsUntil(timeout: 15, interval: 0.2) {
            missing = []
            for (subject, face, _) in expected {
                let reply = try Self.call(b, "GET", "/api/v1/subjects/\(subject)")
                let faces = (reply.json["faces"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
                if reply.status != 200 || !faces.contains(face) { missing.append("subject \(subject) face \(face): \(reply.status) \(reply.text)") }
            }
            return missing.isEmpty
        }
        #expect(stored != nil, "acknowledged by A, not on B: \(missing)")
        // ...and its index holds them: identify with each photo finds every subject enrolled with it.
        var unfound: [String: Set<Int>] = [:]
        let indexed = try Self.secondsUntil(timeout: 15, interval: 0.2) {
            unfound = [:]
            for photo in photos {
                let wanted = Set(expected.filter { $0.photo == photo }.map(\.subject))
                let reply = try Self.identify(b, photo, topK: 20)
                let left = wanted.subtracting(Self.candidateIDs(reply))
                if reply.status != 200 || !left.isEmpty { unfound[URL(fileURLWithPath: photo).lastPathComponent] = left }
            }
            return unfound.isEmpty
        }
        #expect(indexed != nil, "acknowledged by A, not in B's index (subject ids per photo): \(unfound)")
        print("acknowledged enrollments on B: read from the store after \(Self.milliseconds(stored)), all in its index after \(Self.milliseconds(indexed))")

        let listed = try Self.call(b, "GET", "/api/v1/subjects?limit=1000")
        let subjects = listed.json["subjects"] as? [[String: Any]] ?? []
        #expect(listed.status == 200 && subjects.count >= expected.count, "\(listed.status) \(listed.text)")
        let empty = subjects.filter { ($0["face_count"] as? Int ?? 0) < 1 }.compactMap { $0["name"] as? String }
        #expect(empty.isEmpty, "subjects left without a face by the kill: \(empty)")

        let checked = try store.check()
        #expect(checked.exitCode == 0 && checked.report["ok"] as? Bool == true, "db check after the kill: \(checked.report) \(checked.error)")
        let faces = checked.report["faces"] as? Int ?? -1
        #expect(faces >= expected.count && faces <= ledger.attempted, "\(faces) faces stored for \(expected.count) acknowledged, \(ledger.attempted) sent")
        #expect(checked.report["verified"] as? Int == faces, "\(checked.report)")
        #expect(checked.report["audit_log"] as? [String] == ["ok"], "the audit chain after the kill: \(checked.report)")
        print("db check after the kill: \(faces) faces (\(faces - expected.count) committed but never acknowledged), ok \(checked.report["ok"] as? Bool == true)")
    }

    // MARK: 2. PostgreSQL restarted while both replicas serve

    /// A PostgreSQL restart (or failover) is an outage both replicas ride out (docs/operations.md,
    /// "PostgreSQL lost"): while the server is down, identify goes on answering from memory on
    /// both, with the names they hold; an enrollment is refused with 503 `store_unreachable` and
    /// Retry-After (never a 500, never acknowledged); `/ready` stays 200 with status `degraded`
    /// and store `unreachable`, so a load balancer keeps sending them reads. Once PostgreSQL is
    /// back, both are `ready` again within 30 s and then take writes at once, a face enrolled
    /// through B reaches A's index, the reads answered during the outage are in the audit log,
    /// nothing enrolled before the outage is lost, and `netra db check` is clean.
    @Test("PostgreSQL restarted while two replicas serve: reads go on from memory, writes get 503, both recover and catch up", .offCooperativePool)
    func postgresRestarted() throws {
        let cluster = try PostgresCluster.dedicated()
        defer { cluster.remove() }
        let store = try Store(on: cluster, dropAtEnd: false)
        let a = try Self.replica("A", environment: store.environment()), b = try Self.replica("B", environment: store.environment())
        for replica in [a, b] {
            try #require(replica.secondsUntilReady(timeout: 90) != nil, "\(replica.name) not ready: \(replica.logTail)")
        }
        let before = try Self.enroll(a, name: "obama", photo: Self.photo("test_obama.jpg"))
        try #require(before.status == 201, "enroll obama through A: \(before.status) \(before.text)")
        let other = try Self.enroll(b, name: "kit", photo: Self.photo("knn_train_kit_harington_john1.jpeg"))
        try #require(other.status == 201, "enroll kit through B: \(other.status) \(other.text)")
        for (replica, photo, name) in [(b, "test_obama2.jpg", "obama"), (a, "knn_test_johnsnow_test1.jpg", "kit")] {
            let seen = try Self.secondsUntil(timeout: 15) { try Self.identify(replica, Self.photo(photo)).candidates == [name] }
            try #require(seen != nil, "\(name) never identified on \(replica.name) before the outage: \(replica.logTail)")
        }
        let stopping = Date()
        try cluster.stopServer()
        let stopped = Date().timeIntervalSince(stopping)
        for replica in [a, b] {
            // Measured from the stop, for each replica.
            let noticed = replica.secondsUntilReady(is: "degraded", timeout: 15).map { _ in Date().timeIntervalSince(stopping) }
            #expect(noticed != nil, "/ready of \(replica.name) not degraded 15 s into the outage: \(replica.readiness)")
            print("PostgreSQL down (pg_ctl stop took \(Self.milliseconds(stopped))): /ready of \(replica.name) degraded \(Self.milliseconds(noticed)) after the stop began")
        }
        var outageReads = 0
        for replica in [a, b] {
            for (photo, name) in [("test_obama2.jpg", "obama"), ("knn_test_johnsnow_test1.jpg", "kit")] {
                let identified = try Self.identify(replica, Self.photo(photo))
                #expect(identified.status == 200 && identified.candidates == [name],
                        "identify \(name) on \(replica.name) during the outage: \(identified.status) \(identified.text)")
                if identified.status == 200 { outageReads += 1 }
            }
            let refused = try Self.enroll(replica, name: "biden", photo: Self.photo("test_biden.jpg"))
            #expect(refused.status == 503 && refused.errorCode == "store_unreachable",
                    "enroll through \(replica.name) during the outage: \(refused.status) \(refused.text)")
            #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 > 0, "no Retry-After on the 503: \(refused.headers)")
            FaultTests.expectClearRefusal(refused, "enroll through \(replica.name) during the outage")
            let readiness = replica.readiness
            #expect(readiness.http == 200 && readiness.status == "degraded" && readiness.store == "unreachable",
                    "/ready of \(replica.name) during the outage: \(readiness)")
        }

        let starting = Date()
        try cluster.startServer()
        let restarted = Date().timeIntervalSince(starting)
        for replica in [a, b] {
            let recovered = replica.secondsUntilReady(timeout: 30).map { _ in Date().timeIntervalSince(starting) }
            #expect(recovered != nil, "\(replica.name) not ready 30 s after PostgreSQL came back: \(replica.readiness) \(replica.logTail)")
            print("PostgreSQL back (pg_ctl start took \(Self.milliseconds(restarted))): /ready of \(replica.name) ready \(Self.milliseconds(recovered)) after the start began")
        }

        let after = try Self.enroll(b, name: "biden", photo: Self.photo("test_biden.jpg"))
        #expect(after.status == 201, "enroll biden through B after the outage: \(after.status) \(after.text) \(b.logTail)")
        let propagated = try Self.secondsUntil(timeout: 15) {
            try Self.identify(a, Self.photo("knn_train_biden_biden2.jpg")).candidates == ["biden"]
        }
        #expect(propagated != nil, "biden, enrolled through B after the outage, never identified on A: \(a.logTail)")
        print("after the outage: enrolled through B, identified on A after \(Self.milliseconds(propagated)) (includes identify requests)")

        // The reads both answered from memory are in the shared audit log, at their own time,
        // once PostgreSQL is back.
        var held: [Date] = []
        let written = try Self.secondsUntil(timeout: 15, interval: 0.2) {
            held = (try Self.identifyAuditTimes(a) ?? []).filter { $0 > stopping && $0 < starting }
            return held.count >= outageReads
        }
        #expect(written != nil && held.count == outageReads,
                "\(outageReads) identifies answered during the outage, \(held.count) audit entries of that time")
        for replica in [a, b] {
            let listed = try Self.call(replica, "GET", "/api/v1/subjects")
            #expect(listed.status == 200 && Set(listed.names) == ["obama", "kit", "biden"], "subjects on \(replica.name): \(listed.text)")
            #expect(try Self.identify(replica, Self.photo("test_obama3.jpg")).candidates == ["obama"], "obama on \(replica.name) after the outage")
        }
        let checked = try store.check()
        #expect(checked.exitCode == 0 && checked.report["faces"] as? Int == 3 && checked.report["verified"] as? Int == 3,
                "db check after the outage: \(checked.report) \(checked.error)")
        #expect(checked.report["audit_log"] as? [String] == ["ok"], "the audit chain after the outage: \(checked.report)")
    }

    // MARK: 3. Key rotation while both replicas serve

    /// The procedure for a store key rotation with several replicas (docs/operations.md): first
    /// every replica gets the new key beside the old (NETRA_SECRET_KEY=old,
    /// NETRA_NEW_SECRET_KEY=new, a rolling restart); then `netra keys rotate` runs once, with
    /// both keys, while they serve; then each replica is restarted with only the new key as
    /// NETRA_SECRET_KEY. Here: a gallery enrolled with `netra enroll --dir`, replicas A and B
    /// started with both keys, an identify loop on each replica and an enrollment loop through
    /// A running across `netra keys rotate --batch-size 1` (a batch per face, so the store is
    /// re-sealed in many transactions between the replicas' reads and writes). Every identify
    /// answers 200 with the right person, every enrollment is 201; after it, B restarted with
    /// only the new key is ready and identifies everyone, including the faces enrolled during the
    /// rotation, and `netra db check` with only the new key authenticates every face.
    @Test("key rotation while two replicas serve: no failed identify or enrollment; a replica with only the new key then serves everyone", .offCooperativePool)
    func rotationWhileServing() throws {
        let store = try Store(on: PostgresCluster.shared)
        // Every single-face photo of each person but one, which asks (the same photo for lin).
        let people: [(name: String, enrolled: [String], query: String)] = [
            ("obama", ["test_obama.jpg", "obama-480p.jpg", "test_32bit.png"].map(Self.photo), Self.photo("test_obama2.jpg")),
            ("biden", [Self.photo("test_biden.jpg")], Self.photo("knn_train_biden_biden2.jpg")),
            ("kit", ["knn_train_kit_harington_john1.jpeg", "knn_test_johnsnow_test1.jpg"].map(Self.photo),
             Self.photo("knn_train_kit_harington_john2.jpeg")),
            ("rose", [Self.photo("knn_train_rose_leslie_img1.jpg")], Self.photo("knn_train_rose_leslie_img2.jpg")),
            ("alex", ["alex-lacamoire.png", "knn_test_alex_lacamoire1.jpg"].map(Self.photo), Self.photo("knn_train_alex_lacamoire_img1.jpg")),
            ("lin", [Self.photo("lin-manuel-miranda.png")], Self.photo("lin-manuel-miranda.png")),
            ("angelina", ["img1.jpg", "img2.jpg", "img4.jpg", "img6.jpg", "img7.jpg", "img10.jpg", "img11.jpg"].map(Self.deepface),
             Self.deepface("img5.jpg")),
            ("scarlett", ["img8.jpg", "img9.jpg", "img47.jpg", "img48.jpg", "img49.jpg", "img51.jpg"].map(Self.deepface), Self.deepface("img50.jpg")),
            ("jennifer", ["img3.jpg", "img53.jpg", "img54.jpg", "img55.jpg", "img56.jpg"].map(Self.deepface), Self.deepface("img12.jpg")),
            ("mark", ["img13.jpg", "img15.jpg", "img57.jpg", "img58.jpg"].map(Self.deepface), Self.deepface("img14.jpg")),
            ("jack", ["img16.jpg", "img59.jpg", "img61.jpg", "img62.jpg"].map(Self.deepface), Self.deepface("img17.jpg")),
            ("elon", ["img18.jpg", "img67.jpg"].map(Self.deepface), Self.deepface("img19.jpg")),
            ("jeff", ["img20.jpg"].map(Self.deepface), Self.deepface("img21.jpg")),
            ("marissa", ["img22.jpg"].map(Self.deepface), Self.deepface("img23.jpg")),
            ("sundar", ["img24.jpg"].map(Self.deepface), Self.deepface("img25.jpg")),
        ]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-replica-people-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: folder) }
        for person in people {
            let subfolder = folder.appendingPathComponent(person.name)
            try FileManager.default.createDirectory(at: subfolder, withIntermediateDirectories: true)
            for file in person.enrolled {
                let link = subfolder.appendingPathComponent(URL(fileURLWithPath: file).lastPathComponent)
                try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: file)
            }
        }
        let gallery = people.map(\.enrolled.count).reduce(0, +)
        let seeding = Date()
        let seeded = try store.netra(["enroll", "--dir", folder.path, "--largest"])
        try #require(seeded.exitCode == 0, "netra enroll --dir: \(seeded.output) \(seeded.error)")
        print("netra enroll --dir of \(gallery) photos into PostgreSQL: \(Self.milliseconds(Date().timeIntervalSince(seeding)))")

        let both = store.environment(key: Self.oldKey, newKey: Self.newKey)
        let a = try Self.replica("A", environment: both)
        let b = try Self.replica("B", environment: both)
        for replica in [a, b] {
            try #require(replica.secondsUntilReady(timeout: 90) != nil, "\(replica.name) not ready: \(replica.logTail)")
        }

        struct Call { let replica: String; let start: Date; let end: Date; let expected: String; let reply: FaultTests.Reply }
        let identifies = Ledger<Call>(), enrollments = Ledger<Call>()
        let obamaPhotos = ["test_obama3.jpg", "knn_test_obama1.jpg", "obama-720p.jpg", "obama-1080p.jpg"].map(Self.photo)
        let join = Self.spawn(3) { thread in
            var round = 0
            while !identifies.isStopped {
                let start = Date()
                if thread == 2 {
                    // Enrollments through A, into an existing subject, so that the answers stay the same.
                    let reply = (try? Self.enroll(a, name: "obama", photo: obamaPhotos[round % obamaPhotos.count]))
                        ?? FaultTests.Reply(status: 0, text: "", headers: [:])
                    enrollments.record(Call(replica: "A", start: start, end: Date(), expected: "obama", reply: reply))
                } else {
                    let replica = thread == 0 ? a : b
                    let person = people[(round + thread * 5) % people.count]
                    let reply = (try? Self.identify(replica, person.query)) ?? FaultTests.Reply(status: 0, text: "", headers: [:])
                    identifies.record(Call(replica: replica.name, start: start, end: Date(), expected: person.name, reply: reply))
                }
                round += 1
            }
        }
        // Let each loop run before the rotation, so that calls straddle its start.
        _ = Self.secondsUntil(timeout: 30) { Set(identifies.all.map(\.replica)).count == 2 && !enrollments.all.isEmpty }
        let rotationStart = Date()
        let rotated = try store.netra(["keys", "rotate", "--batch-size", "1"], key: Self.oldKey, newKey: Self.newKey)
        let rotationEnd = Date()
        // And after it, until an enrollment started after the rotation ended has been answered.
        _ = Self.secondsUntil(timeout: 30) { enrollments.all.contains { $0.start > rotationEnd } }
        identifies.stop()
        join()

        #expect(rotated.exitCode == 0, "netra keys rotate: \(rotated.output) \(rotated.error)")
        #expect(rotated.output.contains("re-sealed ") && rotated.output.contains("retired "), "\(rotated.output)")
        let during = { (call: Call) in call.start < rotationEnd && call.end > rotationStart }
        let failedIdentifies = identifies.all.filter { $0.reply.status != 200 || $0.reply.candidates != [$0.expected] }
        #expect(failedIdentifies.isEmpty, "identify across the rotation: \(failedIdentifies.map { "\($0.replica) \($0.expected): \($0.reply.status) \($0.reply.text)" })")
        let failedEnrollments = enrollments.all.filter { $0.reply.status != 201 }
        #expect(failedEnrollments.isEmpty, "enrollments through A across the rotation: \(failedEnrollments.map { "\($0.reply.status) \($0.reply.text)" }) \(a.logTail)")
        let overlapping = identifies.all.filter(during)
        for name in ["A", "B"] {
            #expect(overlapping.contains { $0.replica == name }, "no identify on \(name) overlapped the rotation")
        }
        #expect(enrollments.all.contains(where: during), "no enrollment through A overlapped the rotation")
        print("""
            key rotation of \(gallery) seeded faces (+\(enrollments.all.filter { $0.reply.status == 201 && $0.end < rotationStart }.count) enrolled before it) \
            with --batch-size 1: \(Self.milliseconds(rotationEnd.timeIntervalSince(rotationStart))) ("\(rotated.output.trimmingCharacters(in: .whitespacesAndNewlines))"); \
            \(identifies.all.count) identifies (\(overlapping.count) during the rotation: A \(overlapping.filter { $0.replica == "A" }.count), \
            B \(overlapping.filter { $0.replica == "B" }.count)), \(failedIdentifies.count) failed; \(enrollments.all.count) enrollments through A \
            (\(enrollments.all.filter(during).count) during), \(failedEnrollments.count) failed
            """)

        // After the rotation, both still enroll (the new key is active, and both hold it).
        let afterOnB = try Self.enroll(b, name: "biden", photo: Self.photo("knn_train_biden_biden2.jpg"))
        #expect(afterOnB.status == 201, "enroll through B after the rotation: \(afterOnB.status) \(afterOnB.text)")

        // Last step of the procedure: B restarted with only the new key serves everyone.
        b.kill(SIGTERM)
        let newB = try Self.replica("B", environment: store.environment(key: Self.newKey))
        let ready = newB.secondsUntilReady(timeout: 90)
        try #require(ready != nil, "B with only the new key not ready: \(newB.logTail)")
        print("B restarted with only the new key: ready after \(Self.milliseconds(ready))")
        for person in people {
            let identified = try Self.identify(newB, person.query)
            #expect(identified.status == 200 && identified.candidates == [person.name],
                    "\(person.name) on B with only the new key: \(identified.status) \(identified.text)")
        }
        let enrolledObama = enrollments.all.filter { $0.reply.status == 201 }.count
        let obama = try Self.call(newB, "GET", "/api/v1/subjects?name=obama")
        let obamaFaces = (obama.json["subjects"] as? [[String: Any]])?.first?["face_count"] as? Int
        #expect(obamaFaces == people[0].enrolled.count + enrolledObama, "obama's faces on B with only the new key: \(obama.text), \(enrolledObama) enrolled through A")
        let enrolledOnNewB = try Self.enroll(newB, name: "rose", photo: Self.photo("knn_train_rose_leslie_img2.jpg"))
        #expect(enrolledOnNewB.status == 201, "enroll through B with only the new key: \(enrolledOnNewB.status) \(enrolledOnNewB.text)")

        let total = gallery + enrolledObama + 2
        let checked = try store.check(key: Self.newKey)
        #expect(checked.exitCode == 0 && checked.report["faces"] as? Int == total && checked.report["verified"] as? Int == total,
                "db check with only the new key: \(checked.report) \(checked.error) (\(total) faces expected)")
        #expect(checked.report["audit_log"] as? [String] == ["ok"], "the audit chain after the rotation: \(checked.report)")
    }
}

extension FaultTests.Server {
    /// What `/ready` answers: the HTTP status (0 when nothing answers), its `status` and `store`.
    var readiness: (http: Int, status: String?, store: String?) {
        let reply = try? FaultTests.call(self, "GET", "/ready", timeout: 10)
        return (reply?.status ?? 0, reply?.json["status"] as? String, reply?.json["store"] as? String)
    }

    /// Seconds until `/ready` answers 200 with status `status` (polled every 100 ms), or `nil`
    /// after `timeout`.
    func secondsUntilReady(is status: String = "ready", timeout: TimeInterval) -> TimeInterval? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout, process.isRunning {
            let now = readiness
            if now.http == 200, now.status == status { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return nil
    }
}
