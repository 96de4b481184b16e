import Foundation

/// One face of a golden record: dlib's landmarks, chip and descriptor for one detection.
public struct GoldenFace: Decodable, Sendable {
    public struct Detection: Decodable, Sendable {
        public let left, top, right, bottom: Int
        public let confidence: Double
    }

    public struct ChipDetails: Decodable, Sendable {
        public let left, top, right, bottom, angle: Double
        public let rows, cols: Int
    }

    public let detection: Detection
    public let landmarks5: [[Int]]
    public let chipDetails: ChipDetails
    public let chipPNG: String
    public let descriptor: [Float]

    enum CodingKeys: String, CodingKey {
        case detection
        case landmarks5 = "landmarks_5"
        case chipDetails = "chip_details"
        case chipPNG = "chip_png"
        case descriptor
    }
}

/// The detections, faces and image facts of one golden image.
public struct GoldenImage: Decodable, Sendable {
    public let file: String
    public let width: Int
    public let height: Int
    public let detections: [String: [GoldenFace.Detection]]
    public let faces: [GoldenFace]

    /// All five golden faces with the image they come from.
    public static func allFaces() throws -> [(image: String, face: GoldenFace)] {
        try SharedData.goldenImageNames.flatMap { name in
            try load(name).faces.map { (name, $0) }
        }
    }

    public static func load(_ name: String) throws -> GoldenImage {
        let data = try Data(contentsOf: SharedData.golden.appendingPathComponent("\(name).json"))
        return try JSONDecoder().decode(GoldenImage.self, from: data)
    }
}
