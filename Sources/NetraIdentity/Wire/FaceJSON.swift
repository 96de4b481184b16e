import NetraImaging
import NetraVision

/// One detected face as NETRA prints it, in the API and on the command line alike.
public struct FaceJSON: Encodable, Sendable {
    public let id: Int
    /// `[x1, y1, x2, y2]` in original-image pixels, clipped to the image, x2 and y2 exclusive.
    public let bbox: [Int]
    public let confidence: Double
    public let detectorScore: Float
    public let area: Int
    public let landmarks: [[Int]]
    public var embedding: [Float]?

    enum CodingKeys: String, CodingKey {
        case id, bbox, confidence, area, landmarks, embedding
        case detectorScore = "detector_score"
    }

    public init(id: Int, detection: FaceDetection, landmarks: [PixelPoint], in image: RGBImage, embedding: [Float]? = nil) {
        self.id = id
        bbox = ImageBox(detection.rect, in: image).corners
        area = max(0, bbox[2] - bbox[0]) * max(0, bbox[3] - bbox[1])
        confidence = detection.confidence
        detectorScore = detection.score
        self.landmarks = landmarks.map { [$0.x, $0.y] }
        self.embedding = embedding
    }
}
