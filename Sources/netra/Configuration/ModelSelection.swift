import Foundation
import NetraStore
import NetraVision

/// The models a command runs with, as the configuration names them: dlib's three files from
/// `model.dir`, plus the trained head of `model.head` if one is set. It also names the model
/// version stored with each enrolled face, and the match threshold that goes with the model.
struct ModelSelection {
    let directory: URL
    let headFile: EmbeddingHeadFile?
    /// The calibration file's threshold when `model.calibration` is set, else the trained
    /// head's (chosen on its validation people), else `model.threshold`.
    let matchThreshold: Float

    init(_ configuration: NetraConfiguration) throws {
        directory = configuration.modelDirectory
        let head = configuration.model.head
        if head.isEmpty {
            headFile = nil
        } else {
            do {
                headFile = try EmbeddingHeadFile.read(from: URL(fileURLWithPath: head))
            } catch {
                throw CommandFailure(message: "\(error) (model.head)", exitCode: .failure)
            }
            if let card = headFile?.card, card.backboneSHA256 != ModelCatalog.embedder.sha256 {
                throw CommandFailure(message: "\(head) was trained on another backbone (\(card.backboneSHA256.prefix(12)))", exitCode: .failure)
            }
        }
        let version = Self.version(of: headFile)
        if configuration.model.calibration.isEmpty {
            matchThreshold = headFile.map { Float($0.card.threshold) } ?? Float(configuration.model.threshold)
        } else {
            matchThreshold = try Self.calibratedThreshold(configuration.model.calibration, modelVersion: version)
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

    /// The version recorded with each face; faces of other versions are never searched.
    var modelVersion: String { Self.version(of: headFile) }

    /// The model version of dlib's backbone with `head` (or without one).
    static func version(of head: EmbeddingHeadFile?) -> String {
        FaceStore.modelVersion(embedderSHA256: ModelCatalog.embedder.sha256, headSHA256: head?.headSHA256)
    }

    func makeAnalyzer(threads: Int, flipAveraged: Bool = false) throws -> FaceAnalyzer {
        do {
            return try FaceAnalyzer(modelDirectory: directory, head: headFile?.head, threads: threads, flipAveraged: flipAveraged)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
    }
}
