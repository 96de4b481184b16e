import NetraIdentity
import NetraImaging
import NetraVision

/// The faces of one image.
struct ImageReport: Encodable {
    let file: String
    let width: Int
    let height: Int
    let faceCount: Int
    let faces: [FaceJSON]

    init(file: String, image: RGBImage, faces: [FaceJSON]) {
        self.file = file
        width = image.width
        height = image.height
        faceCount = faces.count
        self.faces = faces
    }

    /// Human-readable lines for the default (non-JSON) output.
    var text: String {
        var lines = ["\(file): \(width) x \(height), \(faceCount) face\(faceCount == 1 ? "" : "s")"]
        for face in faces {
            let confidence = String(format: "%.3f", face.confidence)
            lines.append("  #\(face.id) bbox=\(face.bbox) confidence=\(confidence) landmarks=\(face.landmarks)")
        }
        return lines.joined(separator: "\n")
    }
}
