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

        enum CodingKeys: String, CodingKey {
            case format, threshold, components
            case modelVersion = "model_version", thresholdSource = "threshold_source", createdAt = "created_at"
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

    static let magic = Array("NETRAMB1".utf8)

    /// A bundle of dlib's three models from `modelDirectory` (affine layers folded into the
    /// convolutions), with `head` and the threshold in force. int8 needs `calibrationImages`:
    /// face photos like those the service will see, to choose the activation scales.
    public static func exporting(modelDirectory: URL, head: EmbeddingHeadFile?, format: ExportFormat, baseModelVersion: String,
                                 threshold: Double, thresholdSource: String, calibrationImages: some Sequence<RGBImage> = [RGBImage](),
                                 threads: Int = 1) throws(VisionError) -> ModelBundle {
        let detector = try ModelFileReader.network(at: modelDirectory.appendingPathComponent(ModelCatalog.detector.fileName),
                                                   layout: MMODArchitecture.layers)
        let embedder = try ModelFileReader.network(at: modelDirectory.appendingPathComponent(ModelCatalog.embedder.fileName),
                                                   layout: ResNetArchitecture.layers)
        let landmarks = try ModelFileReader.bytes(at: modelDirectory.appendingPathComponent(ModelCatalog.landmarks.fileName))
        let header = Header(format: format, modelVersion: baseModelVersion + (format == .f32 ? "" : "-\(format.rawValue)"),
                            threshold: threshold, thresholdSource: thresholdSource,
                            createdAt: ISO8601DateFormatter().string(from: Date()), components: [])
        guard format == .int8 else {
            return ModelBundle(header: header, detector: detector.foldingAffineLayers(), embedder: embedder.foldingAffineLayers(),
                               landmarks: landmarks, head: head)
        }
        let quantized = try Int8Quantization.quantize(detector: detector.foldingAffineLayers(), embedder: embedder.foldingAffineLayers(),
                                                      landmarks: landmarks, calibrationImages: calibrationImages, threads: threads)
        return ModelBundle(header: header, detector: quantized.detector, embedder: quantized.embedder, landmarks: landmarks, head: head)
    }

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
