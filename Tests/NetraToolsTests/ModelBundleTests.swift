import Foundation
import NetraDescriptor
import NetraImaging
import NetraTestSupport
@testable import NetraTools
@testable import NetraVision
import Testing

@Suite("Exported model bundles", .serialized, .tags(.model))
struct ModelBundleTests {
    static func bundle(_ format: ExportFormat, head: EmbeddingHeadFile? = nil) throws -> ModelBundle {
        try ModelBundle.exporting(modelDirectory: SharedData.models, head: head, format: format, baseModelVersion: "test-version",
                                  threshold: 0.7, thresholdSource: "test")
    }

    /// Writes and reads back `bundle`, as `serve` would load it.
    static func reloaded(_ bundle: ModelBundle) throws -> ModelBundle {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString).netra")
        defer { try? FileManager.default.removeItem(at: url) }
        try bundle.write(to: url)
        return try ModelBundle.read(from: url)
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        let dot = zip(a, b).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let norms = (a.reduce(0.0) { $0 + Double($1 * $1) } * b.reduce(0.0) { $0 + Double($1 * $1) }).squareRoot()
        return dot / norms
    }

    @Test("the network encoding round-trips both networks exactly", .offCooperativePool)
    func codecRoundTrip() throws {
        let bundle = try Self.bundle(.f32)
        for network in [bundle.detector, bundle.embedder] {
            let bytes = NetworkCodec.encode(network, precision: .float32)
            #expect(NetworkCodec.encode(try NetworkCodec.decode(bytes), precision: .float32) == bytes)
        }
        #expect(!bundle.embedder.layers.contains { if case .affine = $0 { true } else { false } }, "affine layers are folded at export")
    }

    @Test("an f32 bundle with a head computes what the model files and the head compute", .offCooperativePool)
    func f32MatchesModelFiles() throws {
        let head = try EmbeddingHeadFileTests.trainedFile()
        let loaded = try Self.reloaded(try Self.bundle(.f32, head: head))
        #expect(loaded.header.modelVersion == "test-version" && loaded.header.threshold == 0.7)
        #expect(loaded.header.components.map(\.name) == ["detector", "embedder", "landmarks", "head"])
        #expect(loaded.head == head)
        let fromBundle = try FaceAnalyzer(bundle: loaded, threads: 2)
        let fromFiles = try TestModels.analyzer()
        let image = try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent("images/obama.jpg"))
        let a = try #require(try TestModels.face(of: image, analyzer: fromBundle)), b = try #require(try TestModels.face(of: image, analyzer: fromFiles))
        #expect(a.detection == b.detection)
        #expect(a.landmarks == b.landmarks)
        for (x, y) in zip(a.descriptor.values, head.head.apply(b.descriptor.values)) { #expect(abs(x - y) < 1e-5) }
    }

    /// The group photos of `multi/`: calibration data that is not the public set measured on.
    static func calibrationImages() throws -> [RGBImage] {
        let folder = FaceDataSet.multiFolder.appendingPathComponent("images")
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map {
            try ImageDecoder().decode(contentsOf: folder.appendingPathComponent($0))
        }
    }

    /// The descriptor bound of the export issue applies to the networks: the same aligned chip
    /// through f32 and through the exported embedder. End to end, a detector box can also move
    /// by one output step, which changes the chip; that is reported, and accuracy checked.
    @Test("f16 and int8 bundles agree with f32 on the public photos: descriptor cosine >= 0.999, accuracy within 0.1 point", .offCooperativePool,
          .offCooperativePool, arguments: [ExportFormat.f16, .int8])
    func agreement(format: ExportFormat) throws {
        let bundle = try ModelBundle.exporting(modelDirectory: SharedData.models, head: nil, format: format, baseModelVersion: "test-version",
                                               threshold: 0.7, thresholdSource: "test",
                                               calibrationImages: format == .int8 ? try Self.calibrationImages() : [], threads: 2)
        let loaded = try Self.reloaded(bundle)
        // An int8 version also names its activation scales (`-int8-<hash>`): other scales, another version.
        let version = loaded.header.modelVersion
        #expect(format == .int8 ? version.hasPrefix("test-version-int8-") && version.count == "test-version-int8-".count + 12
                                : version == "test-version-\(format.rawValue)", "\(version)")
        if format == .int8 {
            let quantized = loaded.embedder.layers.filter { if case .quantizedConvolution = $0 { true } else { false } }.count
            #expect(quantized == 28, "every embedder convolution but the first, on the image, runs in int8")
        }
        let exported = try FaceAnalyzer(bundle: loaded, threads: 2)
        let reference = try PublicFaceDescriptors.faces.get()
        #expect(reference.count == (try FaceDataSet.manifest().count), "a public photo without a face")
        var descriptors: [String: FaceDescriptor] = [:], references: [String: FaceDescriptor] = [:]
        var worstSameChip = 1.0, worstEndToEnd = 1.0, sameBoxes = 0
        for (file, expected) in reference.map({ ($0.file, $0.analyzed) }) {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
            let face = try #require(try TestModels.face(of: image, analyzer: exported), "no face in \(file)")
            let sameChip = try exported.embedder.descriptor(ofChip: expected.chip)
            worstSameChip = min(worstSameChip, Self.cosine(sameChip.values, expected.descriptor.values))
            worstEndToEnd = min(worstEndToEnd, Self.cosine(face.descriptor.values, expected.descriptor.values))
            if face.detection.rect == expected.detection.rect { sameBoxes += 1 }
            (descriptors[file], references[file]) = (face.descriptor, expected.descriptor)
        }
        let pairs = try FaceDataSet.pairs()
        func accuracy(_ table: [String: FaceDescriptor]) -> Double {
            Double(pairs.filter { FaceComparison(table[$0.a]!, table[$0.b]!).isMatch == $0.same }.count) / Double(pairs.count)
        }
        print(String(format: "%@ bundle: worst descriptor cosine to f32 %.6f (same chip), %.6f (end to end; same detector box on %d of %d photos); pair accuracy %.4f (f32 %.4f)",
                     format.rawValue, worstSameChip, worstEndToEnd, sameBoxes, references.count, accuracy(descriptors), accuracy(references)))
        #expect(worstSameChip >= 0.999)
        #expect(abs(accuracy(descriptors) - accuracy(references)) <= 0.001)
    }

    @Test("hostile layer values are refused when decoded or planned, never crash", .offCooperativePool)
    func hostileNetworks() throws {
        let embedder = try Self.bundle(.f32).embedder
        func replacing(_ index: Int, with layer: DlibLayer, means: [Float]? = nil) -> DlibNetworkFile {
            var layers = embedder.layers
            layers[index] = layer
            let input = DlibNetworkFile.Input(means: means ?? embedder.input.means, pyramidPadding: 0, pyramidOuterPadding: 0)
            return DlibNetworkFile(loss: embedder.loss, input: input, layers: layers)
        }
        guard case let .convolution(first) = embedder.layers[0] else { Issue.record("the embedder starts with a convolution"); return }
        var zeroStride = first
        zeroStride = ConvolutionWeights(filters: first.filters, channels: first.channels, kernelHeight: first.kernelHeight,
                                        kernelWidth: first.kernelWidth, stride: 0, padding: first.padding, weights: first.weights, bias: first.bias)
        let decodeFailures = [
            replacing(0, with: .convolution(zeroStride)),
            replacing(0, with: .convolution(first), means: [1, 2]),
            replacing(1, with: .affine(scale: [1, 2], shift: [0, 0])),
            replacing(3, with: .maxPool(kernel: 0, stride: 2, padding: 0)),
        ]
        for network in decodeFailures {
            #expect(throws: BinaryReader.Failure.self) { try NetworkCodec.decode(NetworkCodec.encode(network, precision: .float32)) }
        }
        let wrongChannels = ConvolutionWeights(filters: first.filters, channels: 5, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1,
                                               weights: [Float](repeating: 0.1, count: first.filters * 45), bias: first.bias)
        let planFailures = [
            replacing(0, with: .convolution(wrongChannels)),
            replacing(3, with: .maxPool(kernel: 64, stride: 2, padding: 0)),
        ]
        for network in planFailures {
            let decoded = try NetworkCodec.decode(NetworkCodec.encode(network, precision: .float32))
            #expect(throws: VisionError.self) { try FaceEmbedder(network: decoded, threads: 1) }
        }
    }

    @Test("a damaged, truncated or foreign bundle is a clear error", .offCooperativePool)
    func damaged() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bundle-\(UUID().uuidString).netra")
        defer { try? FileManager.default.removeItem(at: url) }
        var bytes = try Self.bundle(.f16).encoded()
        bytes[bytes.count / 3] ^= 0x01
        try Data(bytes).write(to: url)
        #expect(throws: VisionError.invalidModel(file: url.path, reason: "its checksum does not match: the file is damaged or was altered")) {
            try ModelBundle.read(from: url)
        }
        try Data(bytes.prefix(4096)).write(to: url)
        #expect(throws: VisionError.self) { try ModelBundle.read(from: url) }
        try Data(repeating: 7, count: 100).write(to: url)
        #expect(throws: VisionError.invalidModel(file: url.path, reason: "it is not a NETRA model bundle (no NETRAMB1 header)")) {
            try ModelBundle.read(from: url)
        }
    }
}
