import Foundation
import NetraImaging
import NetraTestSupport
import NetraVision

/// The backbone descriptor of the largest face in each public photo, computed once per test
/// process and shared by the suites that need them.
enum PublicFaceDescriptors {
    struct Face {
        let file: String
        let identity: String
        let descriptor: FaceDescriptor
    }

    static let faces = Result { () throws -> [Face] in
        let analyzer = try FaceAnalyzer(modelDirectory: SharedData.models, threads: 2)
        return try FaceDataSet.manifest().compactMap { file, identity in
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
            return try analyzer.analyzeLargestFace(in: image).map { Face(file: file, identity: identity, descriptor: $0.descriptor) }
        }
    }

    static func byFile() throws -> [String: FaceDescriptor] {
        Dictionary(uniqueKeysWithValues: try faces.get().map { ($0.file, $0.descriptor) })
    }
}
