import Foundation
import NetraIdentity
import NetraImaging
import NetraTestSupport
import NetraVision
import Testing

@Suite("The face of an image", .tags(.model))
struct FaceChoiceTests {
    static let groupPhoto = FaceDataSet.multiFolder.appendingPathComponent("images/dlib_2008_002506.jpg")

    /// Three people side by side; this crop keeps the middle one whole and cuts the left one
    /// at the border, where the detector's rectangle reaches well past the image.
    static func croppedGroup() throws -> RGBImage {
        try ImageDecoder().decode(contentsOf: groupPhoto).cropped(x: 150, y: 0, width: 210, height: 375)
    }

    @Test("largest takes the largest clipped box: a face cut by the border loses to the whole one", .offCooperativePool, .tags(.model))
    func borderCutFaceLoses() throws {
        let image = try Self.croppedGroup()
        let detections = try TestModels.analyzer().detectFaces(in: image, options: DetectionOptions())
        let cut = try #require(detections.first { $0.rect.left < 0 }, "the face cut at the left border is detected")
        let whole = try #require(detections.first { $0.rect.left >= 0 && $0.rect.right < image.width })
        // The old rule compared these unclipped areas and picked the cut face.
        #expect(cut.rect.area > whole.rect.area)
        #expect(ImageBox(cut.rect, in: image).area < ImageBox(whole.rect, in: image).area)
        #expect(FaceChoice.largest.pick(from: detections, in: image) == whole)
        #expect(FaceChoice.largest.pick(from: detections.reversed(), in: image) == whole)
    }

    @Test("verify compares the face whose box it reports: the whole middle face matches its own portrait", .offCooperativePool, .tags(.model))
    func verifyComparesTheReportedBox() throws {
        let group = try Self.croppedGroup()
        let portrait = try ImageDecoder().decode(contentsOf: Self.groupPhoto).cropped(x: 188, y: 40, width: 160, height: 200)
        let verifier = FaceVerifier(finder: FaceFinder(analyzer: try TestModels.analyzer()))
        let result = try verifier.verify(.init(source: "group", image: group), .init(source: "portrait", image: portrait))
        #expect(result.comparison.isMatch, "similarity \(result.comparison.similarity)")
        let reported = result.boxes[0]
        #expect(reported.left >= 0 && reported.right <= group.width)
        #expect(reported.left > 40 && reported.right < 180, "the middle face, not the cut one: \(reported.corners)")
    }

    @Test("centre takes the face nearest the middle; largest breaks ties by score, then top-left", .offCooperativePool, .tags(.unit))
    func rules() {
        let image = RGBImage(width: 300, height: 100, pixels: [UInt8](repeating: 0, count: 300 * 100 * 3))
        func face(_ left: Int, _ size: Int, score: Float = 1) -> FaceDetection {
            FaceDetection(rect: PixelRect(left: left, top: 10, right: left + size - 1, bottom: 10 + size - 1), score: score)
        }
        let big = face(0, 80), middle = face(125, 50), small = face(250, 40)
        #expect(FaceChoice.largest.pick(from: [middle, big, small], in: image) == big)
        #expect(FaceChoice.centre.pick(from: [big, small, middle], in: image) == middle)
        let (weak, strong) = (face(10, 50, score: 0.5), face(200, 50, score: 0.9))
        #expect(FaceChoice.largest.pick(from: [weak, strong], in: image) == strong)
        #expect(FaceChoice.largest.pick(from: [face(200, 50), face(10, 50)], in: image) == face(10, 50))
        #expect(FaceChoice.largest.pick(from: [], in: image) == nil)
        #expect(FaceChoice(parsing: "center") == .centre && FaceChoice(parsing: "Largest") == .largest && FaceChoice(parsing: "any") == nil)
    }
}
