import Foundation
import NetraDescriptor
import NetraImaging
import NetraTestSupport
import NetraVision
import Testing

/// End to end on real photos: detection, alignment and embedding together.
@Suite("Real face photos", .serialized, .tags(.model))
struct RealFaceTests {
    static let analyzer = Result { try TestModels.analyzer() }

    @Test("1:1 verification of the 781 labelled pairs at the default threshold", .offCooperativePool)
    func pairs() throws {
        let pairs = try FaceDataSet.pairs()
        let descriptors = try PublicFaceDescriptors.byFile()
        for file in Set(pairs.flatMap { [$0.a, $0.b] }) {
            _ = try #require(descriptors[file], "no face found in \(file)")
        }
        var correct = 0
        #expect(pairs.filter(\.isPeerUnitTest).count == 13)
        for pair in pairs {
            let comparison = FaceComparison(descriptors[pair.a]!, descriptors[pair.b]!)
            if comparison.isMatch == pair.same {
                correct += 1
            } else {
                print("wrong: \(pair.a) \(pair.b) same=\(pair.same) distance=\(comparison.distance)")
                #expect(!pair.isPeerUnitTest, "peer unit-test pair \(pair.a) / \(pair.b) decided wrongly")
            }
        }
        let accuracy = Double(correct) / Double(pairs.count)
        print("pair accuracy: \(correct)/\(pairs.count) = \(accuracy)")
        #expect(accuracy >= 0.995)
    }

    @Test("group photos at upsample 1: at least 41 of the 43 annotated faces found, none on the dogs", .offCooperativePool)
    func groupPhotos() throws {
        let analyzer = try Self.analyzer.get()
        var found = 0, total = 0
        for photo in try FaceDataSet.annotatedPhotos() where !photo.boxes.isEmpty || photo.file.hasSuffix("dlib_dogs.jpg") {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.multiFolder.appendingPathComponent(photo.file))
            let detections = try analyzer.detectFaces(in: image, options: DetectionOptions(upsample: 1))
            if photo.file.hasSuffix("dlib_dogs.jpg") {
                #expect(detections.isEmpty, "faces reported on the dog photo: \(detections.map(\.rect))")
                continue
            }
            for box in photo.boxes {
                total += 1
                let truth = PixelRect(left: box[0], top: box[1], right: box[0] + box[2] - 1, bottom: box[1] + box[3] - 1)
                if detections.contains(where: { intersectionOverUnion($0.rect, truth) >= 0.4 }) { found += 1 }
            }
        }
        print("annotated faces found: \(found)/\(total)")
        #expect(total == 43)
        #expect(found >= 41)
    }

    private func intersectionOverUnion(_ a: PixelRect, _ b: PixelRect) -> Double {
        let inner = Double(a.intersection(b).area)
        return inner / (Double(a.area) + Double(b.area) - inner)
    }
}

@Suite("The whole pipeline on the golden images", .tags(.model))
struct GoldenPipelineTests {
    @Test("detect, align and embed each golden image: dlib's descriptors within 1e-3", .offCooperativePool, arguments: SharedData.goldenImageNames)
    func fullImageDescriptors(name: String) throws {
        let analyzer = try RealFaceTests.analyzer.get()
        let golden = try GoldenImage.load(name)
        let faces = try analyzer.analyze(try ImageDecoder().decode(SharedData.goldenImageBytes(golden.file)))
        #expect(faces.count == golden.faces.count)
        for (face, expected) in zip(faces, golden.faces) {
            #expect(face.landmarks.map { [$0.x, $0.y] } == expected.landmarks5)
            let difference = zip(face.descriptor.values, expected.descriptor).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-3, "\(name): max abs difference \(difference)")
        }
    }
}
