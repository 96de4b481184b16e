import Foundation
import NetraDescriptor
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

/// Several chips per forward pass against one chip per pass, on real faces: the five golden
/// chips and the faces of three public group photos, in f32 and int8.
@Suite("Batched embedding", .serialized, .tags(.model))
struct BatchedEmbeddingTests {
    /// Golden chips first, then the group photos' faces, then the golden chips mirrored.
    static let chips = Result { () throws -> [RGBImage] in
        let golden = try GoldenImage.allFaces().map { _, face in
            try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent(face.chipPNG))
        }
        let analyzer = try TestModels.analyzer()
        var chips = golden
        for file in ["images/dlib_2007_007763.jpg", "images/dlib_2008_002079.jpg", "images/dlib_2008_001322.jpg"] {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.multiFolder.appendingPathComponent(file))
            chips += try analyzer.detectFaces(in: image, options: DetectionOptions(upsample: 1)).map { analyzer.align($0, in: image).chip }
        }
        return chips + golden.map { $0.mirrored() }
    }

    static let embedder = Result { try FaceEmbedder(modelFile: SharedData.models.appendingPathComponent(ModelCatalog.embedder.fileName)) }

    /// An int8 embedder calibrated on the real chips, as `netra export --format int8` makes one.
    static let int8Embedder = Result { () throws -> FaceEmbedder in
        let file = try ModelFileReader.network(at: SharedData.models.appendingPathComponent(ModelCatalog.embedder.fileName),
                                               layout: ResNetArchitecture.layers).foldingAffineLayers()
        let recorder = ActivationRecorder()
        let calibrating = try FaceEmbedder(network: file, threads: 1, recorder: recorder)
        for chip in try chips.get() { _ = try calibrating.backboneDescriptor(ofChip: chip) }
        return try FaceEmbedder(network: file.quantized(ranges: recorder.recorded), threads: 1)
    }

    static func maxDifference(_ a: [FaceDescriptor], _ b: [FaceDescriptor]) -> Float {
        zip(a, b).flatMap { zip($0.values, $1.values).map { abs($0 - $1) } }.max() ?? 0
    }

    @Test("the test material: at least 24 real chips", .offCooperativePool)
    func material() throws {
        #expect(try Self.chips.get().count >= 24)
    }

    @Test("f32: every chip of a batch of each size gets its batch-1 descriptor within 1e-5", .offCooperativePool,
          arguments: [2, 3, 5, 7, 8, 13, 24])
    func float32(count: Int) throws {
        let chips = Array(try Self.chips.get().prefix(count))
        let embedder = try Self.embedder.get()
        let single = try chips.map { chip throws(VisionError) in try embedder.descriptor(ofChip: chip) }
        let batched = try embedder.descriptors(ofChips: chips)
        #expect(batched.count == count)
        let difference = Self.maxDifference(single, batched)
        #expect(difference <= 1e-5, "max abs difference \(difference) for \(count) chips")
        print("[batched embedding] f32, \(count) chips: max abs difference \(difference)")
        #expect(Set(batched.map(\.values)).count == count, "each chip keeps its own descriptor")
    }

    @Test("int8: a batch of 11 chips gets the batch-1 descriptors within 1e-5", .offCooperativePool)
    func int8() throws {
        let chips = Array(try Self.chips.get().suffix(11))
        let embedder = try Self.int8Embedder.get()
        let single = try chips.map { chip throws(VisionError) in try embedder.descriptor(ofChip: chip) }
        let batched = try embedder.descriptors(ofChips: chips)
        let difference = Self.maxDifference(single, batched)
        #expect(difference <= 1e-5, "max abs difference \(difference)")
        print("[batched embedding] int8, 11 chips: max abs difference \(difference)")
        let float = try Self.embedder.get().descriptors(ofChips: chips)
        #expect(Self.maxDifference(float, batched) > 0, "the int8 embedder really is another network")
    }

    @Test("averaging groups of 2, 1 and 3 chips in one call gives each group's mean of batch-1 descriptors", .offCooperativePool)
    func averagingGroups() throws {
        let chips = try Self.chips.get()
        let groups = [[chips[0], chips[0].mirrored()], [chips[7]], [chips[8], chips[9], chips[10]]]
        let embedder = try Self.embedder.get()
        let averaged = try embedder.descriptors(averaging: groups)
        #expect(averaged.count == 3)
        for (group, descriptor) in zip(groups, averaged) {
            let singles = try group.map { chip throws(VisionError) in try embedder.backboneDescriptor(ofChip: chip) }
            let mean = FaceDescriptor(values: (0..<128).map { index in singles.map { $0.values[index] }.reduce(0, +) / Float(group.count) })
            #expect(Self.maxDifference([mean], [descriptor]) <= 1e-5)
            #expect(Self.maxDifference([try embedder.descriptor(averaging: group)], [descriptor]) <= 1e-5)
        }
    }

    @Test("an empty batch gives no descriptor and runs nothing; a wrong-sized chip anywhere in a batch is refused", .offCooperativePool)
    func emptyAndInvalid() throws {
        let embedder = try Self.embedder.get()
        #expect(try embedder.descriptors(ofChips: []).isEmpty)
        #expect(try embedder.descriptors(averaging: []).isEmpty)
        let chips = Array(try Self.chips.get().prefix(3))
        #expect(throws: VisionError.self) {
            try embedder.descriptors(ofChips: chips + [RGBImage(width: 2, height: 2, pixels: [UInt8](repeating: 0, count: 12))])
        }
    }

    @Test("FaceAnalyzer: the faces of a group photo described together, and faces of several photos, equal describing each alone", .offCooperativePool,
          arguments: [false, true])
    func analyzerDescribesTogether(flipAveraged: Bool) throws {
        let analyzer = flipAveraged ? try FaceAnalyzer(modelDirectory: SharedData.models, threads: 2, flipAveraged: true) : try TestModels.analyzer()
        let group = try ImageDecoder().decode(contentsOf: FaceDataSet.multiFolder.appendingPathComponent("images/dlib_2007_007763.jpg"))
        let portrait = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/test_obama.jpg"))
        let detections = try analyzer.detectFaces(in: group, options: DetectionOptions(upsample: 1))
        let portraitFace = try #require(try analyzer.detectFaces(in: portrait).first)
        #expect(detections.count >= 5)
        let alone = try detections.map { detection throws(VisionError) in try analyzer.describe(detection, in: group) }
        let together = try analyzer.describe(detections, in: group)
        #expect(together.map(\.detection) == detections)
        #expect(together.map(\.chip) == alone.map(\.chip))
        #expect(together.map(\.landmarks) == alone.map(\.landmarks))
        #expect(Self.maxDifference(together.map(\.descriptor), alone.map(\.descriptor)) <= 1e-5)
        let mixed = try analyzer.describe([(portraitFace, portrait)] + detections.prefix(3).map { ($0, group) })
        let portraitAlone = try analyzer.describe(portraitFace, in: portrait)
        #expect(mixed.map(\.chip) == [portraitAlone.chip] + alone.prefix(3).map(\.chip))
        #expect(Self.maxDifference(mixed.map(\.descriptor), [portraitAlone.descriptor] + alone.prefix(3).map(\.descriptor)) <= 1e-5)
        #expect(try analyzer.describe([], in: group).isEmpty)
    }

    @Test("chips are split into passes of the largest powers of two up to maxBatch", .offCooperativePool)
    func batchSizes() {
        #expect(FaceEmbedder.batchSizes(for: 0) == [])
        #expect(FaceEmbedder.batchSizes(for: 1) == [1])
        #expect(FaceEmbedder.batchSizes(for: 13) == [8, 4, 1])
        #expect(FaceEmbedder.batchSizes(for: 2 * FaceEmbedder.maxBatch + 3) == [FaceEmbedder.maxBatch, FaceEmbedder.maxBatch, 2, 1])
    }
}
