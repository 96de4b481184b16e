import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("Exported model bundles", .serialized)
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

    @Test("the network encoding round-trips both networks exactly")
    func codecRoundTrip() throws {
        let bundle = try Self.bundle(.f32)
        for network in [bundle.detector, bundle.embedder] {
            let bytes = NetworkCodec.encode(network, precision: .float32)
            #expect(NetworkCodec.encode(try NetworkCodec.decode(bytes), precision: .float32) == bytes)
        }
        #expect(!bundle.embedder.layers.contains { if case .affine = $0 { true } else { false } }, "affine layers are folded at export")
    }

    @Test("an f32 bundle with a head computes what the model files and the head compute")
    func f32MatchesModelFiles() throws {
        let head = try EmbeddingHeadFileTests.trainedFile()
        let loaded = try Self.reloaded(try Self.bundle(.f32, head: head))
        #expect(loaded.header.modelVersion == "test-version" && loaded.header.threshold == 0.7)
        #expect(loaded.header.components.map(\.name) == ["detector", "embedder", "landmarks", "head"])
        #expect(loaded.head == head)
        let fromBundle = try FaceAnalyzer(bundle: loaded, threads: 2)
        let fromFiles = try FaceAnalyzer(modelDirectory: SharedData.models, threads: 2)
        let image = try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent("images/obama.jpg"))
        let a = try #require(try fromBundle.analyzeLargestFace(in: image)), b = try #require(try fromFiles.analyzeLargestFace(in: image))
        #expect(a.detection == b.detection)
        #expect(a.landmarks == b.landmarks)
        for (x, y) in zip(a.descriptor.values, head.head.apply(b.descriptor.values)) { #expect(abs(x - y) < 1e-5) }
    }

    @Test("an f16 bundle agrees with f32 on the public photos: cosine >= 0.999, accuracy within 0.1 point")
    func f16Agreement() throws {
        let loaded = try Self.reloaded(try Self.bundle(.f16))
        #expect(loaded.header.modelVersion == "test-version-f16")
        let analyzer = try FaceAnalyzer(bundle: loaded, threads: 2)
        let reference = try PublicFaceDescriptors.byFile()
        var descriptors: [String: FaceDescriptor] = [:]
        var worst = 1.0
        for (file, _) in try FaceDataSet.manifest() {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
            let face = try #require(try analyzer.analyzeLargestFace(in: image), "no face in \(file)")
            descriptors[file] = face.descriptor
            worst = min(worst, Self.cosine(face.descriptor.values, try #require(reference[file]).values))
        }
        let pairs = try FaceDataSet.pairs()
        func accuracy(_ table: [String: FaceDescriptor]) -> Double {
            Double(pairs.filter { FaceComparison(table[$0.a]!, table[$0.b]!).isMatch == $0.same }.count) / Double(pairs.count)
        }
        print(String(format: "f16 bundle: worst cosine to f32 %.6f, pair accuracy %.4f (f32 %.4f)", worst, accuracy(descriptors), accuracy(reference)))
        #expect(worst >= 0.999)
        #expect(abs(accuracy(descriptors) - accuracy(reference)) <= 0.001)
    }

    @Test("a damaged, truncated or foreign bundle is a clear error")
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
