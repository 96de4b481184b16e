import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("The Siamese embedder against dlib's golden descriptors")
struct FaceEmbedderTests {
    static let embedder = Result { try FaceEmbedder(modelFile: SharedData.models.appendingPathComponent(ModelCatalog.embedder.fileName)) }

    @Test("each golden chip gives dlib's descriptor within 1e-4", arguments: 0..<5)
    func goldenChipDescriptor(index: Int) throws {
        let (_, face) = try GoldenImage.allFaces()[index]
        let chip = try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent(face.chipPNG))
        let descriptor = try Self.embedder.get().descriptor(ofChip: chip)
        let maxDifference = zip(descriptor.values, face.descriptor).map { abs($0 - $1) }.max() ?? .infinity
        #expect(maxDifference <= 1e-4, "max abs difference \(maxDifference) for \(face.chipPNG)")
    }
}
