import Foundation
import NetraImaging

/// YuNet as the pipeline's detector: `YuNetDetector`'s faces, found on the image rescaled as
/// `DetectionOptions` ask, reported as the boxes dlib's landmark predictor expects
/// (`YuNetBoxMapping`), so alignment and embedding are those of the MMOD path.
public final class YuNetFaceDetector: FaceDetecting {
    /// The network that finds YuNet's faces on the working image.
    public let detector: YuNetDetector
    /// Faces scoring below this are not reported (`model.yunet_min_score`).
    public let minimumScore: Float
    /// How a YuNet box becomes the box dlib's landmark predictor expects.
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

    /// The most pixels the working image may hold before padding: safely under
    /// `YuNetDetector.maximumPixels` (4096 x 4096), so that an image of any usual shape still
    /// fits once padded to multiples of 32, and a large image is shrunk rather than refused.
    static let largestWorkingPixels = 4000 * 4000

    /// The faces in `image`, best first, in original-image pixels, as dlib's landmark boxes.
    ///
    /// The image is rescaled as `options` ask, and in any case shrunk (or upsampled less) until
    /// YuNet takes it, padded, within `YuNetDetector.maximumPixels`: any image is searched,
    /// none refused for its size. An image whose shorter side exceeds `largestReliableFace` is
    /// also searched at half size, and so on; the scales' faces are merged by non-max suppression.
    public func detect(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection] {
        let scaling = Self.scaling(imageWidth: image.width, imageHeight: image.height, options: options)
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

    /// `options`' rescaling of an image of `imageWidth x imageHeight`, its pixel bound lowered
    /// until the working image, padded as YuNet pads it, fits in `YuNetDetector.maximumPixels`.
    static func scaling(imageWidth: Int, imageHeight: Int, options: DetectionOptions) -> DetectionScaling {
        var bound = min(options.maxPixels.flatMap { $0 > 0 ? $0 : nil } ?? .max, largestWorkingPixels)
        while true {
            var bounded = options
            bounded.maxPixels = bound
            let scaling = DetectionScaling(imageWidth: imageWidth, imageHeight: imageHeight, window: smallestReliableFace, options: bounded)
            var size = scaling.downscaledSize ?? (imageWidth, imageHeight)
            for _ in 0..<scaling.upsampleCount { size = RGBImage.pyramidUpSize(width: size.width, height: size.height) }
            let padded = Double(YuNetNetwork.padded(size.width)) * Double(YuNetNetwork.padded(size.height))
            // Only very thin images get here (padding a 1-px side to 32 multiplies its pixels
            // by 32); each round shrinks the bound by the excess, and a 1-pixel bound always fits.
            guard padded > Double(YuNetDetector.maximumPixels), bound > 1 else { return scaling }
            bound = max(1, Int(Double(bound) * Double(YuNetDetector.maximumPixels) / padded * 0.9))
        }
    }

    /// The faces of every scale, best first, without those overlapping a better one by more
    /// than the library's own non-max suppression threshold (IoU 0.45): `YuNetDecoding`'s
    /// suppression, ties of score kept in the order given.
    static func suppressingOverlaps(_ faces: [(box: YuNetFace.Box, score: Float)]) -> [(box: YuNetFace.Box, score: Float)] {
        YuNetDecoding.suppressingOverlaps(faces).map { faces[$0] }
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
    /// `a`: the square's centre right of the box's centre, per box width.
    public var centreXPerWidth: Float
    /// `b`: the square's centre below the box's centre, per box height.
    public var centreYPerHeight: Float
    /// `k`: the square's side per box height.
    public var sidePerHeight: Float
    /// The lowest score of a face the fit suggests reporting (`model.yunet_min_score`'s default).
    public var scoreThreshold: Float

    /// A mapping from its three coefficients and score threshold.
    public init(centreXPerWidth: Float, centreYPerHeight: Float, sidePerHeight: Float, scoreThreshold: Float) {
        self.centreXPerWidth = centreXPerWidth
        self.centreYPerHeight = centreYPerHeight
        self.sidePerHeight = sidePerHeight
        self.scoreThreshold = scoreThreshold
    }

    /// `scripts/fit_yunet_box.py` on 2026-12-01 (yuface 2023.5.1, MMOD at upsample 1).
    public static let fitted = YuNetBoxMapping(centreXPerWidth: -0.012, centreYPerHeight: 0.0116, sidePerHeight: 0.8481,
                                               scoreThreshold: 0.845)

    /// The largest coordinate or side, in pixels, `landmarkBox` returns: any box, even an
    /// infinite or NaN one, gives a rectangle within it rather than a trap converting to `Int`.
    public static let coordinateBound = 1 << 24

    /// dlib's inclusive rectangle for the landmark predictor, from a YuNet box. Every edge is
    /// clamped to +-`coordinateBound` and the side to 1...`coordinateBound`; a NaN counts as 0.
    public func landmarkBox(for box: YuNetFace.Box) -> PixelRect {
        let bound = Double(Self.coordinateBound)
        func clamped(_ value: Double) -> Double { value.isNaN ? 0 : min(max(value, -bound), bound) }
        let side = min(max(1, clamped(Double(sidePerHeight * box.height))), bound)
        let centreX = clamped(Double(box.x + box.width / 2 + centreXPerWidth * box.width))
        let centreY = clamped(Double(box.y + box.height / 2 + centreYPerHeight * box.height))
        let left = Int(clamped(centreX - side / 2).rounded()), top = Int(clamped(centreY - side / 2).rounded())
        let length = max(1, Int(side.rounded()))
        return PixelRect(left: left, top: top, right: left + length - 1, bottom: top + length - 1)
    }
}
