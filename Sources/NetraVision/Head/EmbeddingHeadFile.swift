import Foundation

/// What a saved head records about itself: where it came from and how well it did.
public struct ModelCard: Codable, Sendable, Equatable {
    /// SHA-256 of the backbone (`dlib_face_recognition_resnet_model_v1.dat`) the head was trained on.
    public var backboneSHA256: String
    public var createdAt: String
    public var trainingPeople: Int
    public var trainingImages: Int
    public var validationPeople: Int
    public var validationImages: Int
    public var epochs: Int
    public var bestEpoch: Int
    public var learningRate: Double
    public var margin: Double
    public var validationLoss: Double
    public var validationAccuracy: Double
    /// Validation pair accuracy of the untrained (identity) head, for comparison.
    public var untrainedValidationAccuracy: Double
    /// The similarity threshold with the best validation accuracy.
    public var threshold: Double

    enum CodingKeys: String, CodingKey {
        case backboneSHA256 = "backbone_sha256", createdAt = "created_at", trainingPeople = "training_people"
        case trainingImages = "training_images", validationPeople = "validation_people", validationImages = "validation_images"
        case epochs, bestEpoch = "best_epoch", learningRate = "learning_rate", margin, validationLoss = "validation_loss"
        case validationAccuracy = "validation_accuracy", untrainedValidationAccuracy = "untrained_validation_accuracy", threshold
    }

    public init(backboneSHA256: String, createdAt: String, trainingPeople: Int, trainingImages: Int, validationPeople: Int,
                validationImages: Int, epochs: Int, bestEpoch: Int, learningRate: Double, margin: Double, validationLoss: Double,
                validationAccuracy: Double, untrainedValidationAccuracy: Double, threshold: Double) {
        self.backboneSHA256 = backboneSHA256
        self.createdAt = createdAt
        self.trainingPeople = trainingPeople
        self.trainingImages = trainingImages
        self.validationPeople = validationPeople
        self.validationImages = validationImages
        self.epochs = epochs
        self.bestEpoch = bestEpoch
        self.learningRate = learningRate
        self.margin = margin
        self.validationLoss = validationLoss
        self.validationAccuracy = validationAccuracy
        self.untrainedValidationAccuracy = untrainedValidationAccuracy
        self.threshold = threshold
    }
}

/// The file `netra train` writes: a head, its model card and a checksum, so that a damaged
/// or foreign file is refused rather than used.
///
/// Layout: the magic `NETRAHD1`, the card's JSON length (UInt32, little-endian) and JSON, the
/// weights as little-endian Float32, then the SHA-256 of everything before it.
public struct EmbeddingHeadFile: Sendable, Equatable {
    public let head: EmbeddingHead
    public let card: ModelCard
    /// SHA-256 of the weights (not the card): with the backbone's hash it makes the model
    /// version that keeps this head's embeddings apart from other versions' in the store.
    public let headSHA256: String

    static let magic = Array("NETRAHD1".utf8)

    public init(head: EmbeddingHead, card: ModelCard) {
        self.head = head
        self.card = card
        headSHA256 = (try? SHA256Digest.hex(of: Self.littleEndianBytes(head.weights))) ?? ""
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = [UInt8](try encoder.encode(card))
        var bytes = Self.magic
        withUnsafeBytes(of: UInt32(json.count).littleEndian) { bytes += $0 }
        bytes += json
        bytes += Self.littleEndianBytes(head.weights)
        bytes += try SHA256Digest.bytes(of: bytes)
        return bytes
    }

    public func write(to url: URL) throws {
        try Data(encoded()).write(to: url, options: .atomic)
    }

    /// Reads and checks a head file; every failure names the file and what is wrong.
    public static func read(from url: URL) throws(VisionError) -> EmbeddingHeadFile {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw .invalidModel(file: url.path, reason: "it cannot be read")
        }
        return try decode([UInt8](data), name: url.path)
    }

    public static func decode(_ bytes: [UInt8], name: String) throws(VisionError) -> EmbeddingHeadFile {
        func fail(_ reason: String) -> VisionError { .invalidModel(file: name, reason: reason) }
        let weightBytes = 4 * EmbeddingHead.dimension * EmbeddingHead.dimension
        guard bytes.count >= magic.count + 4 + 32, Array(bytes.prefix(magic.count)) == magic else {
            throw fail("it is not a NETRA embedding head (no NETRAHD1 header)")
        }
        let body = Array(bytes.dropLast(32))
        guard let expected = try? SHA256Digest.bytes(of: body), expected == Array(bytes.suffix(32)) else {
            throw fail("its checksum does not match: the file is damaged or was altered")
        }
        let jsonLength = Int(UInt32(littleEndian: body[magic.count..<(magic.count + 4)].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }))
        let jsonStart = magic.count + 4
        guard body.count == jsonStart + jsonLength + weightBytes else { throw fail("it has the wrong size for a \(EmbeddingHead.dimension)-d head") }
        guard let card = try? JSONDecoder().decode(ModelCard.self, from: Data(body[jsonStart..<(jsonStart + jsonLength)])) else {
            throw fail("its model card is not valid JSON")
        }
        let weights = body[(jsonStart + jsonLength)...].withUnsafeBytes { raw in
            (0..<(weightBytes / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
        do {
            return EmbeddingHeadFile(head: try EmbeddingHead(weights: weights), card: card)
        } catch {
            throw fail("\(error)")
        }
    }

    static func littleEndianBytes(_ values: [Float]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(4 * values.count)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
        return bytes
    }
}
