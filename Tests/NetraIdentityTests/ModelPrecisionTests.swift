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

    /// dlib's f32 version, and an int8 one as `netra models fetch` names its bundle (the scales'
    /// identity is NetraTools', checked by `Int8BundleTests`).
    static let f32 = ModelSelection.version(of: nil), int8 = f32 + "-int8-0123456789ab"

    func resolve(_ precision: ModelSelection.Precision, _ store: ModelSelection.StoreFaces?, bundle: Bool = true) throws -> ModelSelection.Precision {
        let directory = try Self.directory(withBundle: bundle)
        defer { try? FileManager.default.removeItem(at: directory) }
        return try ModelSelection.resolve(precision, store: store, directory: directory, modelDirectory: "models").0
    }

    @Test("the store's faces are counted by model version without its key, and a missing store is not created", .offCooperativePool)
    func countsFaces() throws {
        let (temporary, faces) = try Self.store([Self.f32: 2, "other": 1])
        #expect(faces.countsByModelVersion == [Self.f32: 2, "other": 1])
        let missing = temporary.folder.appendingPathComponent("none.db").path
        #expect(try ModelSelection.StoreFaces.read(path: missing).countsByModelVersion.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    @Test("auto: a fresh or int8 store runs int8, an f32 store stays f32, no store or (for a fresh store) no bundle runs f32", .offCooperativePool)
    func auto() throws {
        let (_, fresh) = try Self.store([:])
        #expect(try resolve(.auto, fresh) == .int8)
        let (_, int8Store) = try Self.store([Self.int8: 1, "other": 3])
        #expect(try resolve(.auto, int8Store) == .int8)
        let (_, f32Store) = try Self.store([Self.f32: 2, Self.int8: 1])
        #expect(try resolve(.auto, f32Store) == .f32)
        #expect(try resolve(.auto, nil) == .f32)
        #expect(try resolve(.auto, fresh, bundle: false) == .f32)
        let (_, older) = try Self.store([Self.f32 + "-int8-fedcba987654": 2, Self.f32: 1])
        #expect(try resolve(.auto, older) == .int8, "faces of any int8 build count as int8")
    }

    @Test("auto on a store of int8 faces without the bundle is refused: f32 would leave them unsearched", .offCooperativePool)
    func autoWithoutBundle() throws {
        let (temporary, int8Store) = try Self.store([Self.int8: 2, Self.f32: 2])
        let refused = #expect(throws: ConfigurationError.self) { try resolve(.auto, int8Store, bundle: false) }
        #expect(refused?.message.hasPrefix("the store \(temporary.path) holds 2 face(s) enrolled with int8, which f32 never searches, "
            + "but ") == true)
        #expect(refused?.message.hasSuffix("dlib-int8.netra is missing: run netra models fetch") == true)
    }

    @Test("auto on a store of int8 faces with a bundle of other scales is refused: run netra models fetch", .offCooperativePool, .tags(.model))
    func autoWithStaleBundle() throws {
        var configuration = NetraConfiguration()
        configuration.model.dir = SharedData.models.path
        try #require(FileManager.default.fileExists(atPath: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName).path),
                     "run netra models fetch first")
        let (_, int8Store) = try Self.store([Self.int8: 1])
        let refused = #expect(throws: ConfigurationError.self) { try ModelSelection(configuration, store: int8Store, int8Version: Self.int8) }
        #expect(refused?.message.hasSuffix("; run netra models fetch to rebuild it") == true, "\(refused?.message ?? "")")
        let unknown = #expect(throws: ConfigurationError.self) { try ModelSelection(configuration, store: int8Store) }
        #expect(unknown?.message.contains("not known to this command") == true)
    }

    @Test("int8 on a store with f32 faces, and f32 on a store holding more int8 faces than f32, are refused in one line naming the fix", .offCooperativePool)
    func forced() throws {
        let (temporary, f32Store) = try Self.store([Self.f32: 1])
        #expect(try resolve(.f32, f32Store) == .f32)
        #expect(try resolve(.f32, nil) == .f32)
        let (_, even) = try Self.store([Self.f32: 1, Self.int8: 1])
        #expect(try resolve(.f32, even) == .f32)
        let (int8Temporary, int8Store) = try Self.store([Self.f32: 1, Self.int8: 2])
        let f32Refused = #expect(throws: ConfigurationError.self) { try resolve(.f32, int8Store) }
        #expect(f32Refused?.message.hasPrefix("model.precision is f32, but the store \(int8Temporary.path) holds 2 face(s) enrolled with the "
            + "int8 model (and 1 with f32), which f32 never searches: keep int8 (model.precision auto or int8; run netra models fetch if ")
            == true, "\(f32Refused?.message ?? "")")
        #expect(f32Refused?.message.hasSuffix("is missing), or re-enroll them") == true)
        let refused = #expect(throws: ConfigurationError.self) { try resolve(.int8, f32Store) }
        #expect(refused?.message == "model.precision is int8, but the store \(temporary.path) holds 1 face(s) enrolled with the f32 model "
            + "(\(Self.f32)), which int8 never searches: re-enroll them, or keep f32 (model.precision auto or f32)")
        let (_, fresh) = try Self.store([:])
        #expect(try resolve(.int8, fresh) == .int8)
        let missing = #expect(throws: ConfigurationError.self) { try resolve(.int8, fresh, bundle: false) }
        #expect(missing?.message.hasSuffix("is missing: run netra models fetch") == true)
    }

    @Test("model.precision is read from NETRA_MODEL_PRECISION and cannot be combined with model.path or model.head", .offCooperativePool)
    func configuration() throws {
        #expect(try NetraConfiguration.load(path: nil, environment: ["NETRA_MODEL_PRECISION": "f32"]).model.precision == .f32)
        #expect(throws: ConfigurationError.self) { try NetraConfiguration.load(path: nil, environment: ["NETRA_MODEL_PRECISION": "int4"]) }
        var configuration = NetraConfiguration()
        configuration.model.path = "/tmp/some.netra"
        configuration.model.precision = .int8
        let error = #expect(throws: ConfigurationError.self) { try ModelSelection(configuration) }
        #expect(error?.message.contains("leave it auto") == true)

        configuration.model.path = ""
        configuration.model.head = "/tmp/never-read.head"
        let head = #expect(throws: ConfigurationError.self) { try ModelSelection(configuration) }
        #expect(head?.message.contains("with model.head set, leave it auto") == true)
        let export = #expect(throws: ConfigurationError.self) { try ModelSelection(configuration, precision: .f32) }
        #expect(export?.message.hasSuffix("(model.head)") == true, "export's f32 override with model.head set gets past the check to the head file")
    }

    @Test("the int8 bundle models fetch built is chosen for a fresh store, with model.threshold; an f32 store keeps dlib's files", .offCooperativePool,
          .tags(.model))
    func realBundle() throws {
        var configuration = NetraConfiguration()
        configuration.model.dir = SharedData.models.path
        configuration.model.threshold = 0.72
        try #require(FileManager.default.fileExists(atPath: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName).path),
                     "run netra models fetch first")
        let fetched = try ModelBundle.read(from: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName)).header.modelVersion
        let (_, fresh) = try Self.store([:])
        let int8 = try ModelSelection(configuration, store: fresh, int8Version: fetched)
        #expect(int8.precision == .int8 && int8.bundle?.header.format == .int8)
        #expect(int8.modelVersion == fetched && int8.modelVersion.hasPrefix(Self.f32 + "-int8-"))
        #expect(int8.matchThreshold == 0.72 && int8.thresholdSource == "model.threshold")
        #expect(int8.choice.hasPrefix("int8, "))

        let (_, f32Store) = try Self.store([Self.f32: 1])
        let f32 = try ModelSelection(configuration, store: f32Store, int8Version: fetched)
        #expect(f32.precision == .f32 && f32.bundle == nil && f32.modelVersion == Self.f32)
        #expect(f32.choice.contains("holds 1 face(s) enrolled with f32"))
    }
}
