import Foundation
import GRDB
@testable import NetraStore
import PostgresNIO
import Testing

/// The identity store backends the store's contract is tested on.
public enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    public var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }
}

/// A store of its own for one test: a temporary folder with a SQLite path, or a fresh
/// database on the process's test PostgreSQL (`PostgresCluster`); removed at the end of the
/// test. Opening it again opens the same database, as a restarted NETRA would.
public final class TemporaryStore {
    public let backend: StoreBackend
    public let folder: URL
    public var path: String { folder.appendingPathComponent("netra.db").path }
    public static let modelVersion = "test-model-v1"

    /// The database and password of the PostgreSQL backend (`nil` for SQLite).
    public let postgres: (location: PostgresLocation, password: String)?
    private var rawConnections: PostgresConnections?

    public init(backend: StoreBackend = .sqlite) throws {
        self.backend = backend
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if backend == .postgres {
            postgres = try PostgresCluster.shared.makeDatabase()
        } else {
            postgres = nil
        }
    }

    deinit {
        rawConnections?.close()
        if let postgres, let cluster = try? PostgresCluster.shared { cluster.dropDatabase(postgres.location.database) }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Opens the store on this test's backend.
    public func open(key: KeySource = TemporaryStore.key, additionalKeys: [KeySource] = []) throws -> any IdentityStore {
        switch backend {
        case .sqlite: return try openSQLite(key: key, additionalKeys: additionalKeys)
        case .postgres: return try openPostgres(key: key, additionalKeys: additionalKeys)
        }
    }

    /// The SQLite store (only for a `.sqlite` TemporaryStore).
    public func openSQLite(key: KeySource = TemporaryStore.key, additionalKeys: [KeySource] = []) throws -> SQLiteStore {
        precondition(backend == .sqlite, "openSQLite on a \(backend) store")
        return try SQLiteStore(path: path, key: key, additionalKeys: additionalKeys, modelVersion: Self.modelVersion)
    }

    /// The PostgreSQL store (only for a `.postgres` TemporaryStore), optionally with another
    /// password than the database's.
    public func openPostgres(key: KeySource = TemporaryStore.key, additionalKeys: [KeySource] = [],
                             password: String? = nil) throws -> PostgresStore {
        guard let postgres else { preconditionFailure("openPostgres on a \(backend) store") }
        return try PostgresStore(location: postgres.location, password: password ?? postgres.password, key: key,
                                 additionalKeys: additionalKeys, modelVersion: Self.modelVersion)
    }

    // MARK: The database behind the store's back

    /// Runs one statement on the database directly (tampering, simulating another process),
    /// with `?` placeholders bound to `arguments` on either backend.
    public func execute(_ sql: String, _ arguments: any RawSQLValue...) throws {
        switch backend {
        case .sqlite:
            try sqlitePool().write { db in try db.execute(sql: sql, arguments: Self.sqliteArguments(arguments)) }
        case .postgres:
            let query = try Self.postgresQuery(sql, arguments)
            try raw().transaction { sql in _ = try sql.execute(query) }
        }
    }

    /// The first column of every row `sql` returns, as text.
    public func strings(_ sql: String, _ arguments: any RawSQLValue...) throws -> [String] {
        switch backend {
        case .sqlite:
            return try sqlitePool().read { db in try String.fetchAll(db, sql: sql, arguments: Self.sqliteArguments(arguments)) }
        case .postgres:
            let query = try Self.postgresQuery(sql, arguments)
            return try raw().read { sql in try sql.rows(query).map { try $0[0].decode(String.self) } }
        }
    }

    /// The first column of the first row `sql` returns, as bytes.
    public func blob(_ sql: String, _ arguments: any RawSQLValue...) throws -> Data? {
        switch backend {
        case .sqlite:
            return try sqlitePool().read { db in try Data.fetchOne(db, sql: sql, arguments: Self.sqliteArguments(arguments)) }
        case .postgres:
            let query = try Self.postgresQuery(sql, arguments)
            return try raw().read { sql in try sql.rows(query).first.map { try $0[0].decode(Data.self) } }
        }
    }

    /// A face row as stored: what its seal is bound to, and the sealed embedding.
    public struct RawFace: Sendable {
        public var binding: EmbeddingSealer.Binding
        public var sealed: SealedEmbedding
        public var id: Int64 { binding.faceID }
    }

    /// The first `limit` face rows in id order.
    public func faceRows(limit: Int) throws -> [RawFace] {
        switch backend {
        case .sqlite:
            return try sqlitePool().read { db in
                try FaceRow.order(FaceRow.Columns.id).limit(limit).fetchAll(db).map { RawFace(binding: $0.binding, sealed: $0.sealed) }
            }
        case .postgres:
            return try raw().read { sql in
                try sql.rows("SELECT id, subject_id, model_version, key_id, nonce, ciphertext, tag FROM faces ORDER BY id LIMIT \(limit)").map { row in
                    let id = try row["id"].decode(Int64.self), subjectID = try row["subject_id"].decode(Int64.self)
                    let version = try row["model_version"].decode(String.self), keyID = try row["key_id"].decode(String.self)
                    let nonce = try row["nonce"].decode(Data.self), ciphertext = try row["ciphertext"].decode(Data.self)
                    let tag = try row["tag"].decode(Data.self)
                    return RawFace(binding: .init(faceID: id, subjectID: subjectID, modelVersion: version, keyID: keyID),
                                   sealed: SealedEmbedding(nonce: [UInt8](nonce), ciphertext: [UInt8](ciphertext), tag: [UInt8](tag)))
                }
            }
        }
    }

    /// Writes a face sealed under `sealer` directly, as a writer that does not look at the
    /// store's active key would (a NETRA from before that check).
    public func insertFace(subjectID: Int64, values: [Float], quality: FaceQuality, sealedWith sealer: EmbeddingSealer) throws {
        switch backend {
        case .sqlite:
            try sqlitePool().write { db in
                var row = FaceRow(subjectID: subjectID, modelVersion: Self.modelVersion, keyID: sealer.key.id, sealed: .empty,
                                  quality: quality, createdAt: "now")
                try row.insert(db)
                row.sealed = try sealer.seal(values, binding: row.binding)
                try row.update(db)
            }
        case .postgres:
            try raw().transaction { sql in
                let empty = Data()
                let id = try sql.value("""
                    INSERT INTO faces (subject_id, model_version, key_id, nonce, ciphertext, tag, face_width, face_height, detector_confidence, created_at)
                    VALUES (\(subjectID), \(Self.modelVersion), \(sealer.key.id), \(empty), \(empty), \(empty),
                            \(quality.width), \(quality.height), \(quality.detectorConfidence), 'now') RETURNING id
                    """, as: Int64.self) ?? 0
                let binding = EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: Self.modelVersion, keyID: sealer.key.id)
                let sealed = try sealer.seal(values, binding: binding)
                try sql.execute("UPDATE faces SET nonce = \(Data(sealed.nonce)), ciphertext = \(Data(sealed.ciphertext)), tag = \(Data(sealed.tag)) WHERE id = \(id)")
            }
        }
    }

    /// Every row of every table, as text: to check that nothing changed.
    public func dump() throws -> [String] {
        switch backend {
        case .sqlite:
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").flatMap { table in
                    try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map { "\(table): \($0)" }
                }
            }
        case .postgres:
            return try raw().read { sql in
                try sql.rows("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename").flatMap { row in
                    let table = try row[0].decode(String.self)
                    return try sql.rows(PostgresQuery(unsafeSQL: "SELECT t::text FROM \"\(table)\" t ORDER BY t::text"))
                        .map { "\(table): \(try $0[0].decode(String.self))" }
                }
            }
        }
    }

    /// Makes `key` the store's active key without re-sealing any face, as a rotation run by
    /// another process does in its first transaction (or leaves behind when killed after it).
    public func activate(_ key: EncryptionKey, oldKey: KeySource = TemporaryStore.key) throws {
        switch backend {
        case .sqlite:
            let store = try openSQLite(key: oldKey)
            try store.databasePool.write { db in
                try db.execute(sql: "UPDATE encryption_keys SET state = 'retiring' WHERE state = 'active'")
                try db.execute(sql: "INSERT INTO encryption_keys (id, created_at, state) VALUES (?, 'now', 'active')", arguments: [key.id])
                try SQLiteStore.storeSealed(store.integrity, with: EmbeddingSealer(key: key), db)
            }
        case .postgres:
            let store = try openPostgres(key: oldKey)
            defer { store.close() }
            try store.write { sql in
                try sql.execute("UPDATE encryption_keys SET state = 'retiring' WHERE state = 'active'")
                try sql.execute("INSERT INTO encryption_keys (id, created_at, state) VALUES (\(key.id), 'now', 'active')")
                try PostgresStore.storeSealed(store.integrity, with: EmbeddingSealer(key: key), sql)
            }
        }
    }

    private func sqlitePool() throws -> DatabasePool {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// A connection of the tests' own to the PostgreSQL database (kept until the end of the test).
    private func raw() throws -> PostgresConnections {
        if let rawConnections { return rawConnections }
        guard let postgres else { preconditionFailure("a PostgreSQL operation on a \(backend) store") }
        let connections = try PostgresConnections(location: postgres.location, password: postgres.password, capacity: 1)
        rawConnections = connections
        return connections
    }

    private static func sqliteArguments(_ arguments: [any RawSQLValue]) -> StatementArguments {
        StatementArguments(arguments.map { $0.databaseValue as (any DatabaseValueConvertible)? })
    }

    /// `sql` with its `?` placeholders (outside quotes) numbered as PostgreSQL's `$1`, `$2`…
    private static func postgresQuery(_ sql: String, _ arguments: [any RawSQLValue]) throws -> PostgresQuery {
        var text = "", number = 0, quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?" && !quoted {
                number += 1
                text += "$\(number)"
            } else {
                text.append(character)
            }
        }
        var bindings = PostgresBindings()
        for argument in arguments { try argument.bind(into: &bindings) }
        return PostgresQuery(unsafeSQL: text, binds: bindings)
    }

    public static let key = try! KeySource.parse("base64:" + Data(repeating: 7, count: 32).base64EncodedString())
    /// The id of `key` (a raw key: no salt).
    public static var keyID: String { try! key.key(salt: []).id }
    public static var otherEncryptionKey: EncryptionKey {
        guard case let .raw(key) = otherKey else { preconditionFailure("otherKey is a raw key") }
        return key
    }
    public static let otherKey = try! KeySource.parse("base64:" + Data(repeating: 9, count: 32).base64EncodedString())
}

/// A value a test binds into a raw statement of `TemporaryStore.execute`, on either backend.
public protocol RawSQLValue {
    var databaseValue: DatabaseValue { get }
    func bind(into bindings: inout PostgresBindings) throws
}

extension Int64: RawSQLValue {
    public func bind(into bindings: inout PostgresBindings) throws { bindings.append(self) }
}

extension String: RawSQLValue {
    public func bind(into bindings: inout PostgresBindings) throws { bindings.append(self) }
}

extension Data: RawSQLValue {
    public func bind(into bindings: inout PostgresBindings) throws { try bindings.append(self) }
}
