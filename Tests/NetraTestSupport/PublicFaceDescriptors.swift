import Foundation
import NetraDescriptor
import NetraImaging
import NetraVision

/// The face of each public photo (`FaceChoice.largest`) with its descriptor, computed once per test process and shared
/// by every suite that needs them (the public set is the most expensive input of the tests).
public enum PublicFaceDescriptors {
    public struct Face: Sendable {
        public let file: String
        public let identity: String
        /// The face as the f32 models found and described it (box, landmarks, chip, descriptor).
        public let analyzed: AnalyzedFace
        public var descriptor: FaceDescriptor { analyzed.descriptor }
    }

    public static let faces = Result { () throws -> [Face] in
        let analyzer = try TestModels.analyzer()
        return try FaceDataSet.manifest().compactMap { file, identity in
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
            return try TestModels.face(of: image, analyzer: analyzer).map { Face(file: file, identity: identity, analyzed: $0) }
        }
    }

    public static func byFile() throws -> [String: FaceDescriptor] {
        Dictionary(uniqueKeysWithValues: try faces.get().map { ($0.file, $0.descriptor) })
    }
}
