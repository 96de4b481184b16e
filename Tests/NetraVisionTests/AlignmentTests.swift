import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("Landmarks and face chips against dlib's golden outputs", .tags(.model))
struct AlignmentTests {
    static let predictor = Result { try ShapePredictor(modelFile: SharedData.models.appendingPathComponent(ModelCatalog.landmarks.fileName)) }

    static func image(_ name: String) throws -> RGBImage {
        try ImageDecoder().decode(SharedData.goldenImageBytes(GoldenImage.load(name).file))
    }

    @Test("landmarks equal dlib's for each golden detection", .offCooperativePool, arguments: 0..<5)
    func landmarks(index: Int) throws {
        let (name, face) = try GoldenImage.allFaces()[index]
        let box = PixelRect(left: face.detection.left, top: face.detection.top, right: face.detection.right, bottom: face.detection.bottom)
        let points = try Self.predictor.get().landmarks(in: Self.image(name), box: box)
        #expect(points.map { [$0.x, $0.y] } == face.landmarks5)
    }

    @Test("chip details and pixels equal dlib's", .offCooperativePool, arguments: 0..<5)
    func chip(index: Int) throws {
        let (name, face) = try GoldenImage.allFaces()[index]
        let landmarks = face.landmarks5.map { PixelPoint(x: $0[0], y: $0[1]) }
        let details = FaceAligner.chipDetails(for: landmarks)
        #expect(abs(details.left - face.chipDetails.left) < 1e-6)
        #expect(abs(details.top - face.chipDetails.top) < 1e-6)
        #expect(abs(details.right - face.chipDetails.right) < 1e-6)
        #expect(abs(details.angle - face.chipDetails.angle) < 1e-9)
        let chip = FaceAligner.extractChip(from: try Self.image(name), details: details)
        let golden = try ImageDecoder().decode(contentsOf: SharedData.golden.appendingPathComponent(face.chipPNG))
        let differences = zip(chip.pixels, golden.pixels).map { abs(Int($0) - Int($1)) }
        let differing = differences.filter { $0 > 0 }.count
        #expect(differences.max() ?? 0 <= 1)
        #expect(Double(differing) < 0.001 * Double(chip.pixels.count), "\(differing) differing samples in \(face.chipPNG)")
    }

    @Test("pyramid_down<2> on a hand-computed 10x10 ramp", .offCooperativePool)
    func pyramidDown() {
        let pixels = (0..<100).flatMap { i -> [UInt8] in let v = UInt8((i % 10) * 20); return [v, v, v] }
        let reduced = RGBImage(width: 10, height: 10, pixels: pixels).pyramidDown()
        #expect(reduced.width == 3 && reduced.height == 3)
        // Columns 0..4 of the ramp (0, 20, 40, 60, 80) weighted 1 4 6 4 1 = 640 per row, x16 rows-weights / 256 = 40.
        #expect(reduced[0, 0] == RGBPixel(red: 40, green: 40, blue: 40))
        #expect(reduced[1, 0] == RGBPixel(red: 80, green: 80, blue: 80))
    }
}
