import Dispatch
import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// What only the PostgreSQL backend has: a server shared by several NETRAs, reached over the
/// network with a password (on the process's `PostgresCluster`). The store's contract itself
/// is tested on both backends in IdentityStoreTests and CollectionStoreTests.
@Suite("The PostgreSQL identity store's server", .tags(.endToEnd))
struct PostgresStoreTests {
    @Test("stores opening a new database together apply its migrations once and share one salt, key and integrity key", .offCooperativePool)
    func concurrentFirstOpening() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(temporary.postgres)
        let opened = Opened()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            opened.add(Result { () throws(StoreError) in
                try PostgresStore(location: location, password: password, key: TemporaryStore.key, modelVersion: TemporaryStore.modelVersion)
            })
        }
        let stores = try opened.results.map { try $0.get() }
        #expect(stores.count == 4)
        let migrations = try PostgresSchema.migrationFiles().map { $0.deletingPathExtension().lastPathComponent }
        #expect(try temporary.strings("SELECT name FROM netra_migrations ORDER BY name") == migrations)
        #expect(try temporary.strings("SELECT id FROM encryption_keys") == [TemporaryStore.keyID])
        #expect(try temporary.strings("SELECT name FROM store_settings WHERE name = 'kdf_salt'").count == 1)
        // One integrity key: what one store writes, every other authenticates.
        let subject = try stores[0].createSubject(name: "Ada")
        for store in stores.dropFirst() { #expect(try store.subject(id: subject.id)?.name == "Ada") }
        var generator = VectorGenerator(state: 12)
        let descriptor = generator.descriptor()
        _ = try stores[1].addFace(subjectID: subject.id, descriptor: descriptor, quality: quality)
        #expect(try temporary.open().index.search(descriptor.values, in: SubjectCollection.defaultID, topK: 1).first?.subjectID == subject.id)
        #expect(try stores[3].check().report.auditProblems.isEmpty)
    }

    @Test("a database holding another application's tables is refused and left untouched", .offCooperativePool)
    func foreignDatabase() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let location = try #require(temporary.postgres).location
        try temporary.execute("CREATE TABLE orders (id BIGINT PRIMARY KEY, item TEXT NOT NULL)")
        try temporary.execute("INSERT INTO orders (id, item) VALUES (1, 'tea')")
        let before = try temporary.dump()
        #expect(throws: StoreError.foreignDatabase(location.description)) { try temporary.open() }
        #expect(try temporary.dump() == before)
        #expect(try temporary.strings("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()") == ["orders"])
    }

    @Test("a wrong or missing password, an unknown database, a closed port and a silent server are each one quick unreachable error",
          .offCooperativePool)
    func unreachable() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(temporary.postgres)
        var unknownDatabase = location
        unknownDatabase.database = "netra_no_such_database"
        var closedPort = location
        closedPort.port = PostgresCluster.freePort()
        let silent = try SilentServer()
        var silentServer = location
        silentServer.port = silent.port
        let cases: [(String, PostgresLocation, String?)] = [
            ("wrong password", location, "not-the-password"),
            ("no password", location, nil),
            ("unknown database", unknownDatabase, password),
            ("closed port", closedPort, password),
            ("silent server", silentServer, password),
        ]
        for (name, target, presented) in cases {
            let start = ContinuousClock.now
            let outcome = Self.open(target, password: presented, within: .seconds(60))
            let elapsed = ContinuousClock.now - start
            guard let outcome else {
                Issue.record("\(name): opening still hangs after 60 s")
                continue
            }
            guard case let .failure(.unreachable(message)) = outcome else {
                Issue.record("\(name): expected unreachable, got \(outcome)")
                continue
            }
            // The connect timeout is 5 s; the rest is room for a machine running every suite at once.
            #expect(elapsed < .seconds(30), "\(name) took \(elapsed)")
            #expect(!message.contains(password), "\(name): \(message)")
        }
        withExtendedLifetime(silent) {}
        #expect(try temporary.open().loadReport.loaded == 0, "the right password still opens it")
    }

    /// Opens a store on another thread and waits at most `limit` for it (`nil`: still waiting).
    private static func open(_ location: PostgresLocation, password: String?, within limit: DispatchTimeInterval)
        -> Result<PostgresStore, StoreError>? {
        let opened = Opened()
        let done = DispatchSemaphore(value: 0)
        startThread {
            opened.add(Result { () throws(StoreError) in
                try PostgresStore(location: location, password: password, key: TemporaryStore.key, modelVersion: TemporaryStore.modelVersion)
            })
            done.signal()
        }
        guard done.wait(timeout: .now() + limit) == .success else { return nil }
        return opened.results.first
    }
}

/// Stores opened on several threads at once.
private final class Opened: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [Result<PostgresStore, StoreError>] = []

    func add(_ result: Result<PostgresStore, StoreError>) { lock.withLock { stored.append(result) } }
    var results: [Result<PostgresStore, StoreError>] { lock.withLock { stored } }
}

/// A loopback port that accepts TCP connections (into the kernel's backlog) and never answers:
/// a server that hangs. Closed at the end of the test, which resets what waits on it.
private final class SilentServer {
    let port: Int
    private let socketFD: Int32

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard fd >= 0, listening else {
            if fd >= 0 { close(fd) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        socketFD = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(socketFD) }
}
