import Foundation
import NetraDescriptor
import NetraImaging
import NetraTestSupport
import NetraVision
import Testing

/// YuNet as the pipeline's detector against MMOD on the same photos: faces found, what the
/// descriptors become, and pair accuracy (the figures README's detector trade quotes).
@Suite("YuNet in the pipeline", .serialized, .tags(.model))
struct YuNetPipelineTests {
    static let analyzer = Result {
        try FaceAnalyzer(modelDirectory: SharedData.models, threads: 2,
                         detector: YuNetFaceDetector(libraryFile: SharedData.models.appendingPathComponent("yunet/libfacedetection.so"), threads: 2))
    }

    /// The public photos' faces through YuNet, computed once for the tests below.
    static let publicFaces = Result { () throws -> [String: AnalyzedFace] in
        let analyzer = try Self.analyzer.get()
        var faces: [String: AnalyzedFace] = [:]
        for (file, _) in try FaceDataSet.manifest() {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent(file))
            faces[file] = try TestModels.face(of: image, analyzer: analyzer)
        }
        return faces
    }

    @Test("group photos at scale 1: all 43 annotated faces found (MMOD at upsample 1: 41), at most one face on the dogs", .offCooperativePool)
    func groupPhotos() throws {
        let analyzer = try Self.analyzer.get()
        var found = 0, total = 0, smallest = Int.max
        for photo in try FaceDataSet.annotatedPhotos() where !photo.boxes.isEmpty || photo.file.hasSuffix("dlib_dogs.jpg") {
            let image = try ImageDecoder().decode(contentsOf: FaceDataSet.multiFolder.appendingPathComponent(photo.file))
            let detections = try analyzer.detectFaces(in: image, options: DetectionOptions())
            if photo.file.hasSuffix("dlib_dogs.jpg") {
                print("YuNet on the dog photo: \(detections.map { ($0.rect, $0.score) })")
                #expect(detections.count <= 1, "dog faces reported: \(detections.map(\.rect))")
                continue
            }
            for box in photo.boxes {
                total += 1
                let truth = PixelRect(left: box[0], top: box[1], right: box[0] + box[2] - 1, bottom: box[1] + box[3] - 1)
                if detections.contains(where: { overlap($0.rect, truth) >= 0.4 }) {
                    found += 1
                    smallest = min(smallest, box[2])
                }
            }
        }
        print("YuNet: annotated faces found \(found)/\(total), smallest \(smallest) px")
        #expect(total == 43)
        #expect(found == 43)
    }

    @Test("the public pairs through YuNet: accuracy at the default threshold at least 99.5 %", .offCooperativePool)
    func pairs() throws {
        let faces = try Self.publicFaces.get()
        let pairs = try FaceDataSet.pairs()
        var correct = 0
        for pair in pairs {
            let a = try #require(faces[pair.a], "no face in \(pair.a)"), b = try #require(faces[pair.b], "no face in \(pair.b)")
            let comparison = FaceComparison(a.descriptor, b.descriptor)
            if comparison.isMatch == pair.same {
                correct += 1
            } else {
                print("YuNet wrong: \(pair.a) \(pair.b) same=\(pair.same) distance=\(comparison.distance)")
            }
        }
        print("YuNet pair accuracy: \(correct)/\(pairs.count) = \(Double(correct) / Double(pairs.count))")
        #expect(Double(correct) / Double(pairs.count) >= 0.995)
    }

    @Test("the same faces found by both detectors get nearly the same descriptors", .offCooperativePool)
    func descriptorAgreement() throws {
        let yunet = try Self.publicFaces.get()
        var distances: [Float] = []
        for face in try PublicFaceDescriptors.faces.get() {
            guard let other = yunet[face.file], overlap(other.detection.rect, face.analyzed.detection.rect) >= 0.5 else { continue }
            distances.append(FaceComparison(face.descriptor, other.descriptor).distance)
        }
        distances.sort()
        let median = distances[distances.count / 2], worst = distances.last ?? .infinity
        print("MMOD vs YuNet descriptors on \(distances.count) public faces: median distance \(median), 90th \(distances[distances.count * 9 / 10]), max \(worst)")
        #expect(distances.count >= 80)
        // Two photos of one person are typically 0.3-0.5 apart; the same photo through the
        // two detectors must stay far closer than that.
        #expect(median <= 0.1)
        #expect(worst <= 0.25)
    }

    @Test("the smallest face each detector finds in a portrait shrunk step by step (scale 1, no upsampling)", .offCooperativePool)
    func smallestFace() throws {
        let yunet = try Self.analyzer.get(), mmod = try TestModels.analyzer()
        let image = try ImageDecoder().decode(contentsOf: FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/obama-480p.jpg"))
        let face = try #require(try mmod.detectFaces(in: image, options: DetectionOptions()).first)
        func smallest(_ analyzer: FaceAnalyzer) throws -> Int? {
            var found: Int?
            for side in [160, 128, 100, 80, 64, 48, 40, 32, 24, 20, 16, 12] {
                let scale = Double(side) / Double(face.rect.width)
                let shrunk = image.resizedByAreaAverage(width: max(1, Int(Double(image.width) * scale)), height: max(1, Int(Double(image.height) * scale)))
                guard try !analyzer.detectFaces(in: shrunk, options: DetectionOptions()).isEmpty else { break }
                found = side
            }
            return found
        }
        let (yunetSide, mmodSide) = (try smallest(yunet), try smallest(mmod))
        print("smallest face found at scale 1: YuNet \(yunetSide.map(String.init) ?? "none") px, MMOD \(mmodSide.map(String.init) ?? "none") px")
        let yunetFound = try #require(yunetSide), mmodFound = try #require(mmodSide)
        #expect(yunetFound < mmodFound)
    }

    private func overlap(_ a: PixelRect, _ b: PixelRect) -> Double {
        let inner = Double(a.intersection(b).area)
        return inner / (Double(a.area) + Double(b.area) - inner)
    }
}
