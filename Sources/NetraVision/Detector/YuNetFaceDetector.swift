import Foundation
import NetraImaging

/// YuNet as the pipeline's detector: `YuNetDetector`'s faces, found on the image rescaled as
/// `DetectionOptions` ask, reported as the boxes dlib's landmark predictor expects
/// (`YuNetBoxMapping`), so alignment and embedding are those of the MMOD path.
public final class YuNetFaceDetector: FaceDetecting {
    public let detector: YuNetDetector
    /// Faces scoring below this are not reported (`model.yunet_min_score`).
    public let minimumScore: Float
    public let mapping: YuNetBoxMapping

    /// The side, in pixels, of the smallest face YuNet is trusted to find at scale 1: a
    /// minimum face size (`DetectionOptions.minFaceSize`) larger than this lets the image be
    /// shrunk until such a face is this large.
    public static let smallestReliableFace = 32

    public init(detector: YuNetDetector, minimumScore: Float = YuNetBoxMapping.fitted.scoreThreshold,
                mapping: YuNetBoxMapping = .fitted) {
        self.detector = detector
        self.minimumScore = minimumScore
        self.mapping = mapping
    }

    /// Loads YuNet's weights from libfacedetection's shared library (`models/yunet/`).
    public convenience init(libraryFile: URL, threads: Int, minimumScore: Float = YuNetBoxMapping.fitted.scoreThreshold) throws(VisionError) {
        self.init(detector: try YuNetDetector(libraryFile: libraryFile, threads: threads), minimumScore: minimumScore)
    }

    /// The side, in pixels, beyond which YuNet's scores fall off (a 570-px face scores 0.74,
    /// the same face at 440 px 0.93): an image whose shorter side is larger is also searched
    /// at half size, and so on, so that every face is seen at a size the network handles.
    public static let largestReliableFace = 400

    public func detect(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection] {
        let scaling = DetectionScaling(imageWidth: image.width, imageHeight: image.height, window: Self.smallestReliableFace, options: options)
        var working = image
        if let size = scaling.downscaledSize {
            working = image.resizedByAreaAverage(width: size.width, height: size.height)
        }
        for _ in 0..<scaling.upsampleCount { working = working.pyramidUp() }
        var found: [(face: YuNetFace, scale: Float)] = []
        var scale: Float = 1
        while true {
            found += try detector.detect(in: working, scoreThreshold: minimumScore).map { ($0, scale) }
            guard min(working.width, working.height) > Self.largestReliableFace else { break }
            working = working.resizedByAreaAverage(width: working.width / 2, height: working.height / 2)
            scale *= 2
        }
        return Self.suppressingOverlaps(found.map { face, scale in
            (box: YuNetFace.Box(x: face.box.x * scale, y: face.box.y * scale, width: face.box.width * scale, height: face.box.height * scale),
             score: face.score)
        }).map { box, score in
            FaceDetection(rect: scaling.originalRect(of: mapping.landmarkBox(for: box)), score: score, confidence: Double(score))
        }
    }

    /// The faces of every scale, best first, without those overlapping a better one by more
    /// than the library's own non-max suppression threshold (IoU 0.45).
    static func suppressingOverlaps(_ faces: [(box: YuNetFace.Box, score: Float)]) -> [(box: YuNetFace.Box, score: Float)] {
        var kept: [(box: YuNetFace.Box, score: Float)] = []
        for face in faces.sorted(by: { $0.score > $1.score }) where !kept.contains(where: { overlap($0.box, face.box) > 0.45 }) {
            kept.append(face)
        }
        return kept
    }

    private static func overlap(_ a: YuNetFace.Box, _ b: YuNetFace.Box) -> Float {
        let width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
        let height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
        guard width > 0, height > 0 else { return 0 }
        let inner = width * height
        return inner / (a.width * a.height + b.width * b.height - inner)
    }
}

/// How a YuNet box becomes the square box MMOD would draw on the same face, which is what
/// dlib's 5-point landmark predictor was trained on:
///
///     side = k * height,  centre = (x + width / 2 + a * width,  y + height / 2 + b * height)
///
/// `fitted` holds the values `scripts/fit_yunet_box.py` fits by least squares on face photos
/// that are not test photos (pictures shipped in PyPI packages, each also mirrored: 14 faces),
/// and the score threshold it suggests there: half-way between the best non-face (0.80) and the
/// worst real face (0.89).
public struct YuNetBoxMapping: Sendable, Equatable {
    public var centreXPerWidth: Float
    public var centreYPerHeight: Float
    public var sidePerHeight: Float
    public var scoreThreshold: Float

    public init(centreXPerWidth: Float, centreYPerHeight: Float, sidePerHeight: Float, scoreThreshold: Float) {
        self.centreXPerWidth = centreXPerWidth
        self.centreYPerHeight = centreYPerHeight
        self.sidePerHeight = sidePerHeight
        self.scoreThreshold = scoreThreshold
    }

    /// `scripts/fit_yunet_box.py` on 2026-12-01 (yuface 2023.5.1, MMOD at upsample 1).
    public static let fitted = YuNetBoxMapping(centreXPerWidth: -0.012, centreYPerHeight: 0.0116, sidePerHeight: 0.8481,
                                               scoreThreshold: 0.845)

    /// dlib's inclusive rectangle for the landmark predictor, from a YuNet box.
    public func landmarkBox(for box: YuNetFace.Box) -> PixelRect {
        let side = max(1, Double(sidePerHeight * box.height))
        let centreX = Double(box.x + box.width / 2 + centreXPerWidth * box.width)
        let centreY = Double(box.y + box.height / 2 + centreYPerHeight * box.height)
        let left = Int((centreX - side / 2).rounded()), top = Int((centreY - side / 2).rounded())
        let length = max(1, Int(side.rounded()))
        return PixelRect(left: left, top: top, right: left + length - 1, bottom: top + length - 1)
    }
}
