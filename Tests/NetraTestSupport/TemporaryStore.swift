import Foundation
import GRDB
@testable import NetraStore

/// A temporary folder with a store path, removed at the end of the test.
public final class TemporaryStore {
    public let folder: URL
    public var path: String { folder.appendingPathComponent("netra.db").path }
    public static let modelVersion = "test-model-v1"

    public init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    public func open(key: KeySource = TemporaryStore.key, additionalKeys: [KeySource] = []) throws -> SQLiteStore {
        try SQLiteStore(path: path, key: key, additionalKeys: additionalKeys, modelVersion: Self.modelVersion)
    }

    /// Every row of every table, as text: to check that nothing changed.
    public func dump() throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map { "\(table): \($0)" }
            }
        }
    }

    /// Makes `key` the store's active key without re-sealing any face, as a rotation run by
    /// another process does in its first transaction (or leaves behind when killed after it).
    public func activate(_ key: EncryptionKey, oldKey: KeySource = TemporaryStore.key) throws {
        let store = try open(key: oldKey)
        try store.databasePool.write { db in
            try db.execute(sql: "UPDATE encryption_keys SET state = 'retiring' WHERE state = 'active'")
            try db.execute(sql: "INSERT INTO encryption_keys (id, created_at, state) VALUES (?, 'now', 'active')", arguments: [key.id])
            try SQLiteStore.storeSealed(store.integrity, with: EmbeddingSealer(key: key), db)
        }
    }

    public static let key = try! KeySource.parse("base64:" + Data(repeating: 7, count: 32).base64EncodedString())
    public static var otherEncryptionKey: EncryptionKey {
        guard case let .raw(key) = otherKey else { preconditionFailure("otherKey is a raw key") }
        return key
    }
    public static let otherKey = try! KeySource.parse("base64:" + Data(repeating: 9, count: 32).base64EncodedString())
}
