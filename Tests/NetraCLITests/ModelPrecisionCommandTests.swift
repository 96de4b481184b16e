import Foundation
import NetraIdentity
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

/// int8 by default for new stores, f32 kept by f32 stores, and `netra models fetch` building
/// the int8 bundle and installing YuNet's files: the commands as a user runs them.
@Suite("int8 by default and the model fetch", .serialized, .tags(.endToEnd))
struct ModelPrecisionCommandTests {
    static let f32Version = ModelSelection.version(of: nil)
    /// The model version of the bundle `netra models fetch` built in `models/`: `<f32>-int8-` and 12
    /// hex of the committed scales' identity (`Int8BundleTests` checks the identity itself).
    static var int8Version: String {
        get throws {
            let version = try ModelBundle.read(from: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName)).header.modelVersion
            #expect(version.hasPrefix(f32Version + "-int8-") && version.count == f32Version.count + 18, "\(version)")
            return version
        }
    }
    static let obama = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/test_obama.jpg").path
    static let biden = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/test_biden.jpg").path

    func netra(_ arguments: [String], _ folder: StoreCommandTests.Folder, _ environment: [String: String] = [:]) throws -> Netra.Result {
        try Netra.run(arguments + ["--db", folder.db], environment: ["NETRA_SECRET_KEY": StoreCommandTests.key].merging(environment) { $1 })
    }

    static func requireBundle() throws {
        try #require(FileManager.default.fileExists(atPath: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName).path),
                     "run netra models fetch first")
    }

    @Test("a fresh store enrolls and identifies with int8; serve reports the int8 model version", .offCooperativePool)
    func freshStoreIsInt8() throws {
        try Self.requireBundle()
        let folder = try StoreCommandTests.Folder()
        #expect(try netra(["enroll", "--subject", "Barack Obama", Self.obama], folder).exitCode == 0)
        let int8Version = try Self.int8Version
        #expect(try SQLiteStore.faceCountsByModelVersion(atPath: folder.db) == [int8Version: 1])
        let identified = try netra(["identify", Self.obama, "--json"], folder)
        #expect(identified.exitCode == 0)
        #expect(identified.output.contains("\"name\":\"Barack Obama\""), "\(identified.output)")

        let server = try LiveServerTests.Server()
        let info = try LiveServerTests.curl(["-s", server.url("/api/v1/info")])
        #expect(info.output.contains("\"model_version\":\"\(int8Version)\""), "\(info.output)")
    }

    @Test("an f32 store stays f32 and says so; model.precision int8 on it is refused in one line", .offCooperativePool)
    func f32StoreStaysF32() throws {
        try Self.requireBundle()
        let folder = try StoreCommandTests.Folder()
        #expect(try netra(["enroll", "--subject", "Barack Obama", Self.obama], folder, ["NETRA_MODEL_PRECISION": "f32"]).exitCode == 0)
        #expect(try netra(["enroll", "--subject", "Joe Biden", Self.biden], folder).exitCode == 0)
        #expect(try SQLiteStore.faceCountsByModelVersion(atPath: folder.db) == [Self.f32Version: 2])

        let status = try Netra.run(["models", "status"], environment: ["NETRA_DATA_DB": folder.db])
        #expect(status.output.contains("models for \(folder.db): f32, dlib's models of models/: the store \(folder.db) holds 2 face(s) "
            + "enrolled with f32, and a store keeps its model"), "\(status.output)")

        let refused = try netra(["identify", Self.obama], folder, ["NETRA_MODEL_PRECISION": "int8"])
        #expect(refused.exitCode == 1)
        #expect(refused.error == "netra: model.precision is int8, but the store \(folder.db) holds 2 face(s) enrolled with the f32 model "
            + "(\(Self.f32Version)), which int8 never searches: re-enroll them, or keep f32 (model.precision auto or f32)\n")
    }

    @Test("models fetch into an empty folder installs every file, builds the same int8 bundle byte for byte, and lists it", .offCooperativePool)
    func fetchBuildsBundle() throws {
        try Self.requireBundle()
        let folder = try StoreCommandTests.Folder()
        let models = folder.url.appendingPathComponent("models")
        let environment = ["NETRA_MODEL_DIR": models.path, "NETRA_MODEL_CACHE_DIR": folder.url.appendingPathComponent("cache").path,
                           "NETRA_DATA_DB": folder.db]
        let fetch = try Netra.run(["models", "fetch", "--from", SharedData.models.path], environment: environment)
        #expect(fetch.exitCode == 0, "\(fetch.error)")
        #expect(fetch.output.contains("int8 bundle \(models.path)/\(ModelCatalog.int8BundleName): built in"))
        #expect(try Data(contentsOf: models.appendingPathComponent(ModelCatalog.int8BundleName))
            == Data(contentsOf: SharedData.models.appendingPathComponent(ModelCatalog.int8BundleName)))
        for file in ModelCatalog.yunetFiles {
            #expect(try Data(contentsOf: models.appendingPathComponent(file.fileName)) == Data(contentsOf: SharedData.models.appendingPathComponent(file.fileName)))
        }
        let again = try Netra.run(["models", "fetch"], environment: environment)
        #expect(again.output.contains("int8 bundle \(models.path)/\(ModelCatalog.int8BundleName): current"), "\(again.output)")

        let list = try Netra.run(["models", "list"], environment: environment)
        #expect(list.exitCode == 0)
        #expect(list.output.contains("int8-bundle    dlib-int8.netra"))
        #expect(list.output.contains("yunet          yunet/libfacedetection.so                  323913    verified  BSD-3-Clause"), "\(list.output)")
        try Data("damaged".utf8).write(to: models.appendingPathComponent(ModelCatalog.int8BundleName))
        #expect(try Netra.run(["models", "list"], environment: environment).exitCode == 1, "a fresh store would run the bundle")
        #expect(try Netra.run(["models", "list"], environment: environment.merging(["NETRA_MODEL_PRECISION": "f32"]) { $1 }).exitCode == 0)
    }

    @Test("models list exits 1 only for files the configuration uses: an air-gapped folder of dlib's files alone serves f32 with MMOD", .offCooperativePool)
    func listCountsOnlyUsedFiles() throws {
        let folder = try StoreCommandTests.Folder()
        let models = folder.url.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        for file in ModelCatalog.files {
            try FileManager.default.copyItem(at: SharedData.models.appendingPathComponent(file.fileName), to: models.appendingPathComponent(file.fileName))
        }
        let environment = ["NETRA_MODEL_DIR": models.path, "NETRA_DATA_DB": folder.db]
        let list = try Netra.run(["models", "list"], environment: environment)
        #expect(list.exitCode == 0, "\(list.output)")
        #expect(list.output.contains("missing (netra models fetch builds it)") && list.output.contains("yunet/libfacedetection.so"))
        #expect(list.output.contains("models for \(folder.db): f32, dlib's models of \(models.path)/: "), "\(list.output)")
        #expect(try Netra.run(["models", "list"], environment: environment.merging(["NETRA_MODEL_DETECTOR": "yunet"]) { $1 }).exitCode == 1)
        #expect(try Netra.run(["models", "list"], environment: environment.merging(["NETRA_MODEL_PRECISION": "int8"]) { $1 }).exitCode == 1)
        try FileManager.default.removeItem(at: models.appendingPathComponent(ModelCatalog.files[0].fileName))
        #expect(try Netra.run(["models", "list"], environment: environment).exitCode == 1)
    }

    @Test("models fetch refuses two sources of dlib's files in one line", .offCooperativePool)
    func fetchRefusesTwoSources() throws {
        let fetch = try Netra.run(["models", "fetch", "--from", SharedData.models.path, "--from", SharedData.models.path + "/"])
        #expect(fetch.exitCode == 64)
        #expect(fetch.error.contains("--from names 2 sources of dlib's files (an archive or a folder of .dat files): "), "\(fetch.error)")
    }

    @Test("export --format int8 needs no calibration photos: it uses the committed scales", .offCooperativePool)
    func exportWithCommittedScales() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("netra-\(UUID().uuidString).netra")
        defer { try? FileManager.default.removeItem(at: out) }
        let export = try Netra.run(["export", "--format", "int8", "--out", out.path])
        #expect(export.exitCode == 0, "\(export.error)")
        #expect(export.output.contains("model version \(try Self.int8Version), threshold 0.700 (model.threshold)"), "\(export.output)")
        let bundle = try ModelBundle.read(from: out)
        #expect(bundle.header.builtFrom?["int8-activation-scales.json"]?.count == 64)
        let wrong = try Netra.run(["export", "--format", "int8", "--write-activation-scales", "/tmp/never-written.json"])
        #expect(wrong.exitCode == 64)
        #expect(wrong.error.contains("--write-activation-scales needs --format int8 and --calibration-images"))
    }
}
