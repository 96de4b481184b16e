import Foundation
import NetraStore
import NetraVision

/// The models a command runs with, as the configuration names them: an exported bundle
/// (`model.path`), or dlib's three files from `model.dir` plus the trained head of
/// `model.head` if one is set. It also names the model version stored with each enrolled
/// face, and the match threshold that goes with the model.
struct ModelSelection {
    let directory: URL
    let headFile: EmbeddingHeadFile?
    let bundle: ModelBundle?
    /// The version recorded with each face; faces of other versions are never searched.
    let modelVersion: String
    /// The calibration file's threshold when `model.calibration` is set, else the bundle's or
    /// the trained head's (chosen on its validation people), else `model.threshold`.
    let matchThreshold: Float
    /// Where `matchThreshold` comes from, in words.
    let thresholdSource: String

    init(_ configuration: NetraConfiguration) throws {
        let model = configuration.model
        directory = configuration.modelDirectory
        if !model.path.isEmpty {
            guard model.head.isEmpty else {
                throw CommandFailure(message: "set model.path or model.head, not both: a bundle carries its own head", exitCode: .failure)
            }
            bundle = try Self.load("model.path") { () throws(VisionError) in try ModelBundle.read(from: URL(fileURLWithPath: model.path)) }
            headFile = bundle?.head
        } else {
            bundle = nil
            headFile = model.head.isEmpty ? nil : try Self.load("model.head") { () throws(VisionError) in
                try EmbeddingHeadFile.read(from: URL(fileURLWithPath: model.head))
            }
        }
        if let card = headFile?.card, card.backboneSHA256 != ModelCatalog.embedder.sha256 {
            throw CommandFailure(message: "the embedding head was trained on another backbone (\(card.backboneSHA256.prefix(12)))", exitCode: .failure)
        }
        modelVersion = bundle?.header.modelVersion ?? Self.version(of: headFile)
        if !model.calibration.isEmpty {
            matchThreshold = try Self.calibratedThreshold(model.calibration, modelVersion: modelVersion)
            thresholdSource = "calibration \(model.calibration)"
        } else if let bundle {
            matchThreshold = Float(bundle.header.threshold)
            thresholdSource = bundle.header.thresholdSource
        } else if let headFile {
            matchThreshold = Float(headFile.card.threshold)
            thresholdSource = "head \(model.head) (best validation threshold)"
        } else {
            matchThreshold = Float(model.threshold)
            thresholdSource = "model.threshold"
        }
    }

    /// The model version of dlib's backbone with `head` (or without one).
    static func version(of head: EmbeddingHeadFile?) -> String {
        FaceStore.modelVersion(embedderSHA256: ModelCatalog.embedder.sha256, headSHA256: head?.headSHA256)
    }

    func makeAnalyzer(threads: Int, flipAveraged: Bool = false, jitterCount: Int = 0) throws -> FaceAnalyzer {
        do {
            if let bundle {
                return try FaceAnalyzer(bundle: bundle, threads: threads, flipAveraged: flipAveraged, jitterCount: jitterCount)
            }
            return try FaceAnalyzer(modelDirectory: directory, head: headFile?.head, threads: threads, flipAveraged: flipAveraged,
                                    jitterCount: jitterCount)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
    }

    private static func load<Value>(_ key: String, _ body: () throws(VisionError) -> Value) throws -> Value {
        do {
            return try body()
        } catch {
            throw CommandFailure(message: "\(error) (\(key))", exitCode: .failure)
        }
    }

    /// The threshold of a calibration file from `netra evaluate --calibrate-far`, which must
    /// have been measured with this model version.
    private static func calibratedThreshold(_ path: String, modelVersion: String) throws -> Float {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let threshold = (object["threshold"] as? NSNumber)?.floatValue, (0...1).contains(threshold)
        else {
            throw CommandFailure(message: "configuration \(path) is not a NETRA calibration file (model.calibration)", exitCode: .failure)
        }
        if let measuredWith = object["model_version"] as? String, measuredWith != modelVersion {
            throw CommandFailure(message: "calibration \(path) was measured with model version \(measuredWith), not \(modelVersion); calibrate again",
                                 exitCode: .failure)
        }
        return threshold
    }
}
