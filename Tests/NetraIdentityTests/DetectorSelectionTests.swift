import Foundation
@testable import NetraIdentity
import NetraTestSupport
import NetraVision
import Testing

/// `model.detector` and `model.yunet_min_score`: which detector the analyzer runs.
@Suite("Choosing the face detector", .tags(.model))
struct DetectorSelectionTests {
    /// dlib's f32 files of the test models, with the detector settings given.
    func selection(_ environment: [String: String]) throws -> ModelSelection {
        var configuration = try NetraConfiguration.load(path: nil, environment: environment)
        configuration.model.dir = SharedData.models.path
        configuration.model.precision = .f32
        return try ModelSelection(configuration)
    }

    @Test("MMOD by default; NETRA_MODEL_DETECTOR=yunet runs YuNet with model.yunet_min_score", .offCooperativePool)
    func choice() throws {
        let standard = try selection([:])
        #expect(standard.detector == .mmod)
        #expect(try standard.makeAnalyzer(threads: 1).detector is FaceDetector)
        let yunet = try selection(["NETRA_MODEL_DETECTOR": "yunet", "NETRA_MODEL_YUNET_MIN_SCORE": "0.6"])
        #expect(yunet.detector == .yunet)
        let detector = try #require(try yunet.makeAnalyzer(threads: 1).detector as? YuNetFaceDetector)
        #expect(detector.minimumScore == 0.6)
        #expect(try selection(["NETRA_MODEL_DETECTOR": "yunet"]).yunetMinimumScore == YuNetBoxMapping.fitted.scoreThreshold)
    }

    @Test("an unknown detector, a score outside 0.2 to 1 and missing YuNet files are refused with one clear line", .offCooperativePool)
    func refusals() throws {
        #expect(throws: (any Error).self) { try NetraConfiguration.load(path: nil, environment: ["NETRA_MODEL_DETECTOR": "hog"]) }
        for score in ["0.1", "1.5"] {
            let error = try #require(throws: ConfigurationError.self) { try selection(["NETRA_MODEL_YUNET_MIN_SCORE": score]) }
            #expect("\(error)".contains("model.yunet_min_score must be between 0.2 and 1"))
        }
        var configuration = try NetraConfiguration.load(path: nil, environment: ["NETRA_MODEL_DETECTOR": "yunet"])
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("netra-no-yunet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        for file in ModelCatalog.files {
            try FileManager.default.copyItem(at: SharedData.models.appendingPathComponent(file.fileName), to: empty.appendingPathComponent(file.fileName))
        }
        configuration.model.dir = empty.path
        configuration.model.precision = .f32
        let error = try #require(throws: ConfigurationError.self) { try ModelSelection(configuration).makeAnalyzer(threads: 1) }
        #expect("\(error)".contains("libfacedetection.so"))
        #expect("\(error)".contains("netra models fetch"))
    }
}
