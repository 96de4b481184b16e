import Foundation
import NetraImaging

/// The weight format of an exported model bundle.
public enum ExportFormat: String, Sendable, CaseIterable, Codable {
    /// float32 weights: exactly the computation of dlib's files.
    case f32
    /// float16 weights: half the file size, widened to float32 when loaded.
    case f16
    /// int8 convolutions (u8 activations x s8 weights, per-channel weight scales, activation
    /// scales calibrated on face images) wherever a convolution's input is non-negative.
    case int8
}

/// One file holding everything `serve` needs: detector, landmark predictor, backbone, the
/// trained head if any, the match threshold and the model version (`netra export`).
///
/// Layout: the magic `NETRAMB1`, the header's JSON length (UInt32, little-endian) and JSON,
/// the components' bytes in the header's order, then the SHA-256 of everything before it.
public struct ModelBundle: Sendable {
    /// What the header records; the components are described by name and size.
    public struct Header: Codable, Sendable, Equatable {
        public var format: ExportFormat
        public var modelVersion: String
        /// Similarity at or above which two faces match, and where it came from.
        public var threshold: Double
        public var thresholdSource: String
        public var createdAt: String
        public var components: [Component]
        /// The SHA-256 of each file the bundle was made from, by file name (the model files, the
        /// activation scales), so that a build from other files can be told apart; absent in
        /// bundles written before it was recorded.
        public var builtFrom: [String: String]?

        package init(format: ExportFormat, modelVersion: String, threshold: Double, thresholdSource: String, createdAt: String,
                     components: [Component], builtFrom: [String: String]? = nil) {
            self.format = format
            self.modelVersion = modelVersion
            self.threshold = threshold
            self.thresholdSource = thresholdSource
            self.createdAt = createdAt
            self.components = components
            self.builtFrom = builtFrom
        }

        enum CodingKeys: String, CodingKey {
            case format, threshold, components
            case modelVersion = "model_version", thresholdSource = "threshold_source", createdAt = "created_at", builtFrom = "built_from"
        }
    }

    public struct Component: Codable, Sendable, Equatable {
        public var name: String
        public var byteCount: Int

        enum CodingKeys: String, CodingKey {
            case name
            case byteCount = "byte_count"
        }
    }

    public let header: Header
    let detector: DlibNetworkFile
    let embedder: DlibNetworkFile
    let landmarks: [UInt8]
    public let head: EmbeddingHeadFile?

    /// A bundle of these parts (`netra export` assembles one).
    package init(header: Header, detector: DlibNetworkFile, embedder: DlibNetworkFile, landmarks: [UInt8], head: EmbeddingHeadFile?) {
        self.header = header
        self.detector = detector
        self.embedder = embedder
        self.landmarks = landmarks
        self.head = head
    }

    static let magic = Array("NETRAMB1".utf8)

    /// The bundle's bytes, checksum included.
    public func encoded() throws -> [UInt8] {
        let precision: WeightPrecision = header.format == .f16 ? .float16 : .float32
        var parts: [(String, [UInt8])] = [
            ("detector", NetworkCodec.encode(detector, precision: precision)),
            ("embedder", NetworkCodec.encode(embedder, precision: precision)),
            ("landmarks", landmarks),
        ]
        if let head { parts.append(("head", try head.encoded())) }
        var described = header
        described.components = parts.map { Component(name: $0.0, byteCount: $0.1.count) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = [UInt8](try encoder.encode(described))
        var writer = BinaryWriter()
        writer.append(Self.magic)
        writer.append(json.count)
        writer.append(json)
        for (_, bytes) in parts { writer.append(bytes) }
        return writer.bytes + (try SHA256Digest.bytes(of: writer.bytes))
    }

    public func write(to url: URL) throws {
        try Data(encoded()).write(to: url, options: .atomic)
    }

    /// Reads and checks a bundle; every failure names the file and what is wrong.
    public static func read(from url: URL) throws(VisionError) -> ModelBundle {
        let bytes = try ModelFileReader.bytes(at: url)
        func fail(_ reason: String) -> VisionError { .invalidModel(file: url.path, reason: reason) }
        guard bytes.count > magic.count + 36, Array(bytes.prefix(magic.count)) == magic else {
            throw fail("it is not a NETRA model bundle (no NETRAMB1 header)")
        }
        let body = Array(bytes.dropLast(32))
        guard let digest = try? SHA256Digest.bytes(of: body), digest == Array(bytes.suffix(32)) else {
            throw fail("its checksum does not match: the file is damaged or was altered")
        }
        do {
            var reader = BinaryReader(body)
            _ = try reader.take(magic.count)
            let json = try reader.take(try reader.int())
            guard let header = try? JSONDecoder().decode(Header.self, from: Data(json)) else { throw reader.failure("the header is not valid") }
            var parts: [String: [UInt8]] = [:]
            for component in header.components { parts[component.name] = Array(try reader.take(component.byteCount)) }
            guard reader.isAtEnd else { throw reader.failure("unexpected data after the last component") }
            guard let detector = parts["detector"], let embedder = parts["embedder"], let landmarks = parts["landmarks"] else {
                throw reader.failure("a detector, embedder or landmark component is missing")
            }
            let head = try parts["head"].map { bytes throws(VisionError) in try EmbeddingHeadFile.decode(bytes, name: "\(url.path) (head)") }
            func network(_ name: String, _ bytes: [UInt8]) throws(VisionError) -> DlibNetworkFile {
                do {
                    return try NetworkCodec.decode(bytes)
                } catch {
                    throw fail("its \(name): \(error)")
                }
            }
            return ModelBundle(header: header, detector: try network("detector", detector), embedder: try network("embedder", embedder),
                               landmarks: landmarks, head: head)
        } catch let failure as BinaryReader.Failure {
            throw fail("\(failure)")
        } catch let error as VisionError {
            throw error
        } catch {
            throw fail("\(error)")
        }
    }
}
