import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("The Siamese embedder against dlib's golden descriptors", .tags(.model))
struct FaceEmbedderTests {
    static let embedder = Result { try FaceEmbedder(modelFile: SharedData.models.appendingPathComponent(ModelCatalog.embedder.fileName)) }

    @Test("each golden chip gives dlib's descriptor within 1e-4", .offCooperativePool, arguments: 0..<5)
    func goldenChipDescriptor(index: Int) throws {
        let (_, face) = try GoldenImage.allFaces()[index]
        let chip = try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent(face.chipPNG))
        let descriptor = try Self.embedder.get().descriptor(ofChip: chip)
        let maxDifference = zip(descriptor.values, face.descriptor).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDifference <= 1e-4, "max abs difference \(maxDifference) for \(face.chipPNG)")
    }
}

@Suite("The flip-averaged descriptor lever", .tags(.model))
struct FlipAveragedDescriptorTests {
    @Test("mirroring twice is the identity, and flip averaging is the mean of the two descriptors", .offCooperativePool)
    func flipAveraging() throws {
        let face = try GoldenImage.load("obama").faces[0]
        let chip = try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent(face.chipPNG))
        #expect(chip.mirrored() != chip)
        #expect(chip.mirrored().mirrored() == chip)
        #expect(chip.mirrored()[0, 0] == chip[chip.width - 1, 0])
        let embedder = try FaceEmbedderTests.embedder.get()
        let plain = try embedder.descriptor(ofChip: chip), mirrored = try embedder.descriptor(ofChip: chip.mirrored())
        let averaged = try embedder.descriptor(ofChip: chip, flipAveraged: true)
        for index in averaged.values.indices {
            #expect(abs(averaged.values[index] - (plain.values[index] + mirrored.values[index]) / 2) < 1e-6)
        }
        // The same person, mirrored: close, but not identical.
        #expect(plain.distance(to: mirrored) > 0 && plain.distance(to: mirrored) < 0.4)
    }

    @Test("jittered descriptors: the same crops every time, close to the plain descriptor, nearer the same person", .offCooperativePool)
    func jittering() throws {
        let jittered = try FaceAnalyzer(modelDirectory: SharedData.models, threads: 2, jitterCount: 4)
        let plain = try TestModels.analyzer()
        let golden = try GoldenImage.load("obama")
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(golden.file))
        let first = try #require(try TestModels.face(of: image, analyzer: jittered)), again = try #require(try TestModels.face(of: image, analyzer: jittered))
        let reference = try #require(try TestModels.face(of: image, analyzer: plain))
        #expect(first.descriptor == again.descriptor)
        #expect(first.descriptor != reference.descriptor)
        #expect(first.chip == reference.chip, "the reported chip is the aligned one, not a jittered crop")
        #expect(first.descriptor.distance(to: reference.descriptor) < 0.2)
    }
}
