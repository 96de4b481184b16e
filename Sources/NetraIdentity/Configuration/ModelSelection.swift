import Foundation
import NetraVision

/// The models a command runs with, as the configuration names them: an exported bundle
/// (`model.path`), or dlib's three files from `model.dir` plus the trained head of
/// `model.head` if one is set. It also names the model version stored with each enrolled
/// face, and the match threshold that goes with the model.
public struct ModelSelection: Sendable {
    public let directory: URL
    public let headFile: EmbeddingHeadFile?
    public let bundle: ModelBundle?
    /// The version recorded with each face; faces of other versions are never searched.
    public let modelVersion: String
    /// The calibration file's threshold when `model.calibration` is set, else the bundle's or
    /// the trained head's (chosen on its validation people), else `model.threshold`.
    public let matchThreshold: Float
    /// Where `matchThreshold` comes from, in words.
    public let thresholdSource: String

    public init(_ configuration: NetraConfiguration) throws(ConfigurationError) {
        let model = configuration.model
        directory = configuration.modelDirectory
        if !model.path.isEmpty {
            guard model.head.isEmpty else {
                throw ConfigurationError("set model.path or model.head, not both: a bundle carries its own head")
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
            throw ConfigurationError("the embedding head was trained on another backbone (\(card.backboneSHA256.prefix(12)))")
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
    public static func version(of head: EmbeddingHeadFile?) -> String {
        modelVersion(embedderSHA256: ModelCatalog.embedder.sha256, headSHA256: head?.headSHA256)
    }

    /// The embedder version string recorded with each face: the backbone file's hash prefix,
    /// and the trained head's when there is one. Faces of other versions are never searched.
    public static func modelVersion(embedderSHA256: String, headSHA256: String? = nil) -> String {
        "dlib-resnet-v1-" + embedderSHA256.prefix(12) + (headSHA256.map { "-head-" + $0.prefix(12) } ?? "")
    }

    public func makeAnalyzer(threads: Int, flipAveraged: Bool = false, jitterCount: Int = 0) throws(ConfigurationError) -> FaceAnalyzer {
        do {
            if let bundle {
                return try FaceAnalyzer(bundle: bundle, threads: threads, flipAveraged: flipAveraged, jitterCount: jitterCount)
            }
            return try FaceAnalyzer(modelDirectory: directory, head: headFile?.head, threads: threads, flipAveraged: flipAveraged,
                                    jitterCount: jitterCount)
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    private static func load<Value>(_ key: String, _ body: () throws(VisionError) -> Value) throws(ConfigurationError) -> Value {
        do {
            return try body()
        } catch {
            throw ConfigurationError("\(error) (\(key))")
        }
    }

    /// The threshold of a calibration file from `netra evaluate --calibrate-far`, which must
    /// have been measured with this model version.
    private static func calibratedThreshold(_ path: String, modelVersion: String) throws(ConfigurationError) -> Float {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let threshold = (object["threshold"] as? NSNumber)?.floatValue, (0...1).contains(threshold)
        else {
            throw ConfigurationError(source: path, problem: "is not a NETRA calibration file (model.calibration)")
        }
        if let measuredWith = object["model_version"] as? String, measuredWith != modelVersion {
            throw ConfigurationError("calibration \(path) was measured with model version \(measuredWith), not \(modelVersion); calibrate again")
        }
        return threshold
    }
}
