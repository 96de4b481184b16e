import NetraImaging
import NetraVision

/// One face as the command line prints it (JSON keys in snake_case).
struct FaceReport: Encodable {
    let id: Int
    /// `[x1, y1, x2, y2]` in original-image pixels, clipped to the image, x2 and y2 exclusive.
    let bbox: [Int]
    let confidence: Double
    let detectorScore: Float
    let area: Int
    let landmarks: [[Int]]
    var embedding: [Float]?

    init(id: Int, detection: FaceDetection, landmarks: [PixelPoint], in image: RGBImage, embedding: [Float]? = nil) {
        self.id = id
        let rect = detection.rect
        bbox = [max(0, rect.left), max(0, rect.top), min(image.width, rect.right + 1), min(image.height, rect.bottom + 1)]
        area = max(0, bbox[2] - bbox[0]) * max(0, bbox[3] - bbox[1])
        confidence = detection.confidence
        detectorScore = detection.score
        self.landmarks = landmarks.map { [$0.x, $0.y] }
        self.embedding = embedding
    }
}

/// The faces of one image.
struct ImageReport: Encodable {
    let file: String
    let width: Int
    let height: Int
    let faceCount: Int
    let faces: [FaceReport]

    init(file: String, image: RGBImage, faces: [FaceReport]) {
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
