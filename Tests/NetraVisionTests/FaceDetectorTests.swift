import Foundation
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("The MMOD detector against dlib's golden detections", .tags(.model))
struct FaceDetectorTests {
    static let detector = Result { try FaceDetector(modelFile: SharedData.models.appendingPathComponent(ModelCatalog.detector.fileName), threads: 2) }

    @Test("same rectangles and scores within 1e-3 at upsample 0 and 1", .offCooperativePool,
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

    @Test("the tiled pyramid of a 512x512 image matches dlib's layout", .offCooperativePool)
    func pyramidLayout() {
        let pyramid = TiledPyramid(imageHeight: 512, imageWidth: 512, padding: 10, outerPadding: 11)
        #expect(pyramid.levels.count == 24)
        #expect(pyramid.rows == 1895 && pyramid.columns == 534)
        #expect(pyramid.levels[0] == PixelRect(left: 11, top: 11, right: 522, bottom: 522))
        #expect(pyramid.levels[1] == PixelRect(left: 11, top: 533, right: 436, bottom: 958))
        #expect(pyramid.levels[5] == PixelRect(left: 319, top: 1680, right: 522, bottom: 1883))
        #expect(pyramid.levels[23] == PixelRect(left: 518, top: 559, right: 522, bottom: 563))
    }

    @Test("images too small or too thin for the network, or shrunk for a minimum face larger than themselves, hold no face: no error", .offCooperativePool)
    func degenerateImages() throws {
        let analyzer = try TestModels.analyzer()
        for (width, height) in [(1, 1), (2, 2), (1, 5000), (20000, 2), (15, 400)] {
            let image = RGBImage(width: width, height: height, pixels: [UInt8](repeating: 128, count: width * height * 3))
            for upsample in [0, 1] {
                #expect(try analyzer.detectFaces(in: image, options: DetectionOptions(upsample: upsample)).isEmpty, "\(width) x \(height)")
            }
        }
        let photo = try ImageDecoder().decode(SharedData.goldenImageBytes("obama.jpg"))
        #expect(try analyzer.detectFaces(in: photo, options: DetectionOptions(minFaceSize: 10 * max(photo.width, photo.height))).isEmpty)
    }

    @Test("a pixel bound lowers upsampling first, then shrinks the image, and maps boxes back", .offCooperativePool)
    func pixelBound() {
        let dropUpsample = DetectionScaling(imageWidth: 2000, imageHeight: 1428, window: 80,
                                            options: DetectionOptions(upsample: 1, maxPixels: 4_000_000))
        #expect(dropUpsample.upsampleCount == 0 && dropUpsample.downscaledSize == nil)
        let keepUpsample = DetectionScaling(imageWidth: 640, imageHeight: 480, window: 80, options: DetectionOptions(upsample: 1, maxPixels: 4_000_000))
        #expect(keepUpsample.upsampleCount == 1)
        let shrink = DetectionScaling(imageWidth: 4000, imageHeight: 3000, window: 80, options: DetectionOptions(maxPixels: 4_000_000))
        let size = try! #require(shrink.downscaledSize)
        #expect(size.width * size.height <= 4_010_000 && size.width == 2309)
        #expect(shrink.originalRect(of: PixelRect(left: 100, top: 100, right: 199, bottom: 199)) == PixelRect(left: 173, top: 173, right: 345, bottom: 345))
        #expect(DetectionScaling(imageWidth: 4000, imageHeight: 3000, window: 80, options: DetectionOptions()).downscaledSize == nil)
    }

    @Test("a face in an image above the pixel bound is still found, at its place in the original", .offCooperativePool)
    func largeImage() throws {
        let golden = try GoldenImage.load("obama")
        let image = try ImageDecoder().decode(SharedData.goldenImageBytes(golden.file)).pyramidUp()
        let bound = image.pixelCount / 3
        let detections = try Self.detector.get().detect(in: image, options: DetectionOptions(maxPixels: bound))
        let box = try #require(golden.detections["upsample_0"]?.first)
        let expected = PixelRect(left: 2 * box.left, top: 2 * box.top, right: 2 * box.right + 1, bottom: 2 * box.bottom + 1)
        let found = try #require(detections.first)
        // Detected at about 0.58 of the doubled image's size: the box overlaps the one at full resolution.
        let overlap = Double(found.rect.intersection(expected).area) / Double(found.rect.hull(expected).area)
        #expect(overlap >= 0.8, "\(found.rect) vs \(expected)")
    }
}
