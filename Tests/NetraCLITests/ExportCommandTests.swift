import Foundation
import NetraTestSupport
import NetraVision
import Testing

@Suite("netra export", .tags(.endToEnd))
struct ExportCommandTests {
    @Test("an f16 bundle is served through model.path, under its own model version", .offCooperativePool)
    func f16Bundle() throws {
        let bundle = FileManager.default.temporaryDirectory.appendingPathComponent("netra-\(UUID().uuidString).bundle")
        defer { try? FileManager.default.removeItem(at: bundle) }
        let export = try Netra.run(["export", "--format", "f16", "--out", bundle.path])
        #expect(export.exitCode == 0, "\(export.error)")
        #expect(export.output.contains("model version dlib-resnet-v1-55533b28a958-f16, threshold 0.700 (model.threshold)"), "\(export.output)")

        let chip = SharedData.golden.appendingPathComponent("chips/obama_face0_chip.png").path
        let plain = try TrainCommandTests.embedding(try Netra.run(["embed", "--chip", "--json", chip]))
        let served = try TrainCommandTests.embedding(try Netra.run(["embed", "--chip", "--json", chip], environment: ["NETRA_MODEL_PATH": bundle.path]))
        let dot = zip(plain, served).reduce(0) { $0 + $1.0 * $1.1 }
        let norms = (plain.reduce(0) { $0 + $1 * $1 } * served.reduce(0) { $0 + $1 * $1 }).squareRoot()
        #expect(dot / norms >= 0.9999)
    }

    @Test("int8 calibrated on other photos is its own model version, not that of the committed scales", .offCooperativePool)
    func calibratedInt8Version() throws {
        let photos = FileManager.default.temporaryDirectory.appendingPathComponent("netra-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: photos, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: photos) }
        try FileManager.default.copyItem(at: FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/test_obama.jpg"),
                                         to: photos.appendingPathComponent("obama.jpg"))
        func version(_ arguments: [String]) throws -> String {
            let out = photos.appendingPathComponent("\(UUID().uuidString).netra")
            let export = try Netra.run(["export", "--format", "int8", "--out", out.path] + arguments)
            #expect(export.exitCode == 0, "\(export.error)")
            return try ModelBundle.read(from: out).header.modelVersion
        }
        let committed = try version([]), calibrated = try version(["--calibration-images", photos.path])
        #expect(committed.hasPrefix("dlib-resnet-v1-55533b28a958-int8-") && calibrated.hasPrefix("dlib-resnet-v1-55533b28a958-int8-"))
        #expect(committed.count == calibrated.count && committed != calibrated, "\(committed) \(calibrated)")
    }

    @Test("export reads the f32 files whatever model.precision says, also with model.head set", .offCooperativePool)
    func headWithPrecision() throws {
        let result = try Netra.run(["export", "--out", "/tmp/never-written.netra"],
                                   environment: ["NETRA_MODEL_HEAD": "/tmp/netra-no-such.head", "NETRA_MODEL_PRECISION": "int8"])
        #expect(result.exitCode == 1)
        #expect(!result.error.contains("leave it auto") && result.error.hasSuffix("(model.head)\n"), "\(result.error)")
    }

    @Test("calibration photos for f32, a bundle with a head, and a damaged bundle are one-line errors", .offCooperativePool)
    func badInput() throws {
        let f32 = try Netra.run(["export", "--calibration-images", "/tmp", "--out", "/tmp/never-written.bundle"])
        #expect(f32.exitCode == 64)
        #expect(f32.error.contains("--calibration-images applies to --format int8 only"))
        let both = try Netra.run(["embed", "--chip", "x.png"], environment: ["NETRA_MODEL_PATH": "/tmp/a.bundle", "NETRA_MODEL_HEAD": "/tmp/h"])
        #expect(both.exitCode == 1)
        #expect(both.error == "netra: set model.path or model.head, not both: a bundle carries its own head\n")
        let damaged = FileManager.default.temporaryDirectory.appendingPathComponent("netra-\(UUID().uuidString).bundle")
        defer { try? FileManager.default.removeItem(at: damaged) }
        try Data(repeating: 1, count: 200).write(to: damaged)
        let result = try Netra.run(["embed", "--chip", "x.png"], environment: ["NETRA_MODEL_PATH": damaged.path])
        #expect(result.exitCode == 1)
        #expect(result.error == "netra: model file \(damaged.path) cannot be used: it is not a NETRA model bundle (no NETRAMB1 header) (model.path)\n")
    }
}
