import Foundation
import NetraDescriptor
@testable import NetraIdentity
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

/// `model.precision`: int8 for a fresh store, and a store keeps the model its faces were enrolled with.
@Suite("Choosing int8 or f32 for a store", .tags(.unit))
struct ModelPrecisionTests {
    /// A store at a temporary path holding `count` faces of each model version given.
    static func store(_ faces: [String: Int]) throws -> (TemporaryStore, ModelSelection.StoreFaces) {
        let temporary = try TemporaryStore()
        for (version, count) in faces.sorted(by: { $0.key < $1.key }) {
            let store = try SQLiteStore(path: temporary.path, key: TemporaryStore.key, modelVersion: version)
            for index in 0..<count {
                _ = try store.addFace(toSubjectNamed: "person \(version) \(index)", in: SubjectCollection.defaultID,
                                      descriptor: FaceDescriptor(values: [Float](repeating: 0.05, count: 128)),
                                      quality: FaceQuality(width: 100, height: 100, detectorConfidence: 0.9))
            }
        }
        return (temporary, try ModelSelection.StoreFaces.read(path: temporary.path))
    }

    /// A model directory that has (or lacks) the int8 bundle file; only its presence is read here.
    static func directory(withBundle: Bool) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-models-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if withBundle { try Data("bundle".utf8).write(to: folder.appendingPathComponent(ModelCatalog.int8BundleName)) }
        return folder
    }

    static let f32 = ModelSelection.version(of: nil), int8 = ModelSelection.int8Version

    func resolve(_ precision: ModelSelection.Precision, _ store: ModelSelection.StoreFaces?, bundle: Bool = true) throws -> ModelSelection.Precision {
        let directory = try Self.directory(withBundle: bundle)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try ModelSelection.resolve(precision, store: store, directory: directory, modelDirectory: "models").0
    }

    @Test("the store's faces are counted by model version without its key, and a missing store is not created")
    func countsFaces() throws {
        let (temporary, faces) = try Self.store([Self.f32: 2, "other": 1])
        #expect(faces.countsByModelVersion == [Self.f32: 2, "other": 1])
        let missing = temporary.folder.appendingPathComponent("none.db").path
        #expect(try ModelSelection.StoreFaces.read(path: missing).countsByModelVersion.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("auto: a fresh or int8 store runs int8, an f32 store stays f32, no store or no bundle runs f32")
    func auto() throws {
        let (_, fresh) = try Self.store([:])
        #expect(try resolve(.auto, fresh) == .int8)
        let (_, int8Store) = try Self.store([Self.int8: 1, "other": 3])
        #expect(try resolve(.auto, int8Store) == .int8)
        let (_, f32Store) = try Self.store([Self.f32: 2, Self.int8: 1])
        #expect(try resolve(.auto, f32Store) == .f32)
        #expect(try resolve(.auto, nil) == .f32)
        #expect(try resolve(.auto, fresh, bundle: false) == .f32)
    }

    @Test("int8 on a store with f32 faces is refused in one line naming the fix; f32 is always allowed")
    func forced() throws {
        let (temporary, f32Store) = try Self.store([Self.f32: 1])
        #expect(try resolve(.f32, f32Store) == .f32)
        let refused = #expect(throws: ConfigurationError.self) { try resolve(.int8, f32Store) }
        #expect(refused?.message == "model.precision is int8, but the store \(temporary.path) holds 1 face(s) enrolled with the f32 model "
            + "(\(Self.f32)), which int8 never searches: re-enroll them, or keep f32 (model.precision auto or f32)")
        let (_, fresh) = try Self.store([:])
        #expect(try resolve(.int8, fresh) == .int8)
        let missing = #expect(throws: ConfigurationError.self) { try resolve(.int8, fresh, bundle: false) }
        #expect(missing?.message.hasSuffix("is missing: run netra models fetch") == true)
    }

    @Test("model.precision is read from NETRA_MODEL_PRECISION and cannot be combined with model.path or model.head")
    func configuration() throws {
        #expect(try NetraConfiguration.load(path: nil, environment: ["NETRA_MODEL_PRECISION": "f32"]).model.precision == .f32)
        #expect(throws: ConfigurationError.self) { try NetraConfiguration.load(path: nil, environment: ["NETRA_MODEL_PRECISION": "int4"]) }
        var configuration = NetraConfiguration()
        configuration.model.path = "/tmp/some.netra"
        configuration.model.precision = .int8
        let error = #expect(throws: ConfigurationError.self) { try ModelSelection(configuration) }
        #expect(error?.message.contains("leave it auto") == true)
    }

    @Test("the int8 bundle models fetch built is chosen for a fresh store, with model.threshold; an f32 store keeps dlib's files",
          .tags(.model))
    func realBundle() throws {
        var configuration = NetraConfiguration()
        configuration.model.dir = SharedData.models.path
        configuration.model.threshold = 0.72
        try #require(FileManager.default.fileExists(atPath: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName).path),
                     "run netra models fetch first")
        let (_, fresh) = try Self.store([:])
        let int8 = try ModelSelection(configuration, store: fresh)
        #expect(int8.precision == .int8 && int8.bundle?.header.format == .int8)
        #expect(int8.modelVersion == Self.int8 && int8.modelVersion.hasSuffix("-int8"))
        #expect(int8.matchThreshold == 0.72 && int8.thresholdSource == "model.threshold")
        #expect(int8.choice.hasPrefix("int8, "))

        let (_, f32Store) = try Self.store([Self.f32: 1])
        let f32 = try ModelSelection(configuration, store: f32Store)
        #expect(f32.precision == .f32 && f32.bundle == nil && f32.modelVersion == Self.f32)
        #expect(f32.choice.contains("holds 1 face(s) enrolled with f32"))
    }
}
