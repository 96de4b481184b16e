import Foundation
import NetraDescriptor
import NetraImaging
import NetraVision

/// The descriptor of the face of each public photo, computed once per test process and shared
/// by every suite that needs them (the public set is the most expensive input of the tests).
public enum PublicFaceDescriptors {
    public struct Face: Sendable {
        public let file: String
        public let identity: String
        public let descriptor: FaceDescriptor
    }

    public static let faces = Result { () throws -> [Face] in
        let analyzer = try TestModels.analyzer()
        return try FaceDataSet.manifest().compactMap { file, identity in
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
            return try TestModels.face(of: image, analyzer: analyzer).map { Face(file: file, identity: identity, descriptor: $0.descriptor) }
        }
    }

    public static func byFile() throws -> [String: FaceDescriptor] {
        Dictionary(uniqueKeysWithValues: try faces.get().map { ($0.file, $0.descriptor) })
    }
}
