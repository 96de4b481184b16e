import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("The MMOD detector against dlib's golden detections")
struct FaceDetectorTests {
    static let detector = Result { try FaceDetector(modelFile: SharedData.models.appendingPathComponent(ModelCatalog.detector.fileName), threads: 2) }

    @Test("same rectangles and scores within 1e-3 at upsample 0 and 1",
          arguments: [("astronaut", 0), ("obama", 0), ("two_people", 0), ("biden", 0), ("astronaut", 1), ("two_people", 1)])
    func goldenDetections(name: String, upsample: Int) throws {
        let golden = try GoldenImage.load(name)
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(golden.file))
        let detections = try Self.detector.get().detect(in: image, options: DetectionOptions(upsample: upsample))
        let expected = try #require(golden.detections["upsample_\(upsample)"])
        #expect(detections.map(\.rect) == expected.map { PixelRect(left: $0.left, top: $0.top, right: $0.right, bottom: $0.bottom) })
        for (found, reference) in zip(detections, expected) {
            #expect(abs(Double(found.score) - reference.confidence) < 1e-3)
        }
    }

    @Test("the tiled pyramid of a 512x512 image matches dlib's layout")
    func pyramidLayout() {
        let pyramid = TiledPyramid(imageHeight: 512, imageWidth: 512, padding: 10, outerPadding: 11)
        #expect(pyramid.levels.count == 24)
        #expect(pyramid.rows == 1895 && pyramid.columns == 534)
        #expect(pyramid.levels[0] == PixelRect(left: 11, top: 11, right: 522, bottom: 522))
        #expect(pyramid.levels[1] == PixelRect(left: 11, top: 533, right: 436, bottom: 958))
        #expect(pyramid.levels[5] == PixelRect(left: 319, top: 1680, right: 522, bottom: 1883))
        #expect(pyramid.levels[23] == PixelRect(left: 518, top: 559, right: 522, bottom: 563))
    }
}
