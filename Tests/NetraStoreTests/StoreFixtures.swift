import Foundation
import GRDB
@testable import NetraStore
import NetraVision

/// A temporary folder with a store path, removed at the end of the test.
final class TemporaryStore {
    let folder: URL
    var path: String { folder.appendingPathComponent("netra.db").path }
    static let modelVersion = "test-model-v1"

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func open(key: KeySource = TemporaryStore.key, additionalKeys: [KeySource] = []) throws -> FaceStore {
        try FaceStore(path: path, key: key, additionalKeys: additionalKeys, modelVersion: Self.modelVersion)
    }

    /// Every row of every table, as text: to check that nothing changed.
    func dump() throws -> [String] {
        var configuration = Configuration()
        configuration.readonly = true
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        return try queue.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").flatMap { table in
                try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY rowid").map { "\(table): \($0)" }
            }
        }
    }

    static let key = try! KeySource.parse("base64:" + Data(repeating: 7, count: 32).base64EncodedString())
    static let otherKey = try! KeySource.parse("base64:" + Data(repeating: 9, count: 32).base64EncodedString())
}

/// Deterministic pseudo-random unit-ish vectors.
struct VectorGenerator {
    var state: UInt64

    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state >> 11) % 2_000_000) / 1_000_000 - 1
    }

    mutating func descriptor() -> FaceDescriptor {
        let values = (0..<128).map { _ in next() * 0.15 }
        return FaceDescriptor(values: values)
    }
}

let quality = FaceQuality(width: 120, height: 120, detectorConfidence: 0.9)
