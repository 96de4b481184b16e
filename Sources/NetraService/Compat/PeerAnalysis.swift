import NetraIdentity
import NetraImaging
import NetraVision

/// The faces of one image as the compatible APIs report them: found, kept above a detection
/// probability, largest first ("it recognizes the biggest faces first"), at most a limit, and
/// described, with the time each step took.
struct PeerAnalysis: Sendable {
    let image: RGBImage
    let faces: [AnalyzedFace]
    let detectorMilliseconds: Double
    let calculatorMilliseconds: Double

    /// CompreFace's `execution_time` (milliseconds per plugin).
    var executionTime: [String: Double] { ["detector": detectorMilliseconds, "calculator": calculatorMilliseconds] }

    /// Which faces to keep.
    struct Options: Sendable {
        /// At most this many faces, largest first; 0 keeps every face.
        var limit = 0
        /// Faces whose reported probability (`PeerScale.detectionProbability`) is lower are dropped.
        var minimumProbability: Double?
        /// With false the whole image is taken as one face (an already cropped face).
        var detectFaces = true
    }

    /// Runs the analysis on the calling thread (a vision worker).
    struct Analyzer: Sendable {
        let finder: FaceFinder

        /// The image's faces; none is CompreFace's 400 code 28.
        func analyze(_ image: RGBImage, options: Options) throws -> PeerAnalysis {
            let start = ContinuousClock.now
            var detections: [FaceDetection]
            if options.detectFaces {
                detections = try identityCall { () throws(IdentityError) in try finder.detections(in: image) }
            } else {
                detections = [FaceDetection(rect: PixelRect(left: 0, top: 0, right: image.width - 1, bottom: image.height - 1), score: 1)]
            }
            if let minimum = options.minimumProbability {
                detections = detections.filter { PeerScale.detectionProbability(confidence: $0.confidence) >= minimum }
            }
            detections.sort { ImageBox($0.rect, in: image).area > ImageBox($1.rect, in: image).area }
            if options.limit > 0 { detections = Array(detections.prefix(options.limit)) }
            guard !detections.isEmpty else { throw PeerError(.badRequest, code: 28, "No face is found in the given image") }
            let detectorMilliseconds = start.millisecondsElapsed
            let described = ContinuousClock.now
            let faces = try detections.map { detection in
                try identityCall { () throws(IdentityError) in try finder.describe(detection, in: image) }
            }
            return PeerAnalysis(image: image, faces: faces, detectorMilliseconds: detectorMilliseconds,
                                calculatorMilliseconds: described.millisecondsElapsed)
        }
    }
}
