import Foundation

/// One face found by a detector (`FaceDetector`, MMOD, or `YuNetFaceDetector`).
public struct FaceDetection: Sendable, Equatable {
    /// dlib's rectangle in original-image pixels, inclusive; it may reach past the image edges.
    /// For YuNet it is the square box MMOD would draw on the face (see `YuNetBoxMapping`), the
    /// box dlib's landmark predictor expects.
    public let rect: PixelRect
    /// The detector's raw score: MMOD's network output (faces above 0), or YuNet's probability.
    public let score: Float
    /// The score as a number in [0, 1) that means "how sure" for either detector; enrollment's
    /// `model.enroll_min_confidence` and the compatible APIs' probabilities read it.
    ///
    /// For YuNet it is YuNet's score itself, and YuNet reports no face scoring below
    /// `model.yunet_min_score` (0.845 by default): every YuNet detection has a confidence of at
    /// least that, so `enroll_min_confidence` rejects nothing unless set above it (its default,
    /// 0.5, never rejects a YuNet face).
    public let confidence: Double

    /// An MMOD detection: `confidence` is `1 - exp(-2 * score)`, a monotone map of the score
    /// into [0, 1): 0 at the detection threshold; a typical frontal face (score about 1) gives
    /// about 0.86.
    public init(rect: PixelRect, score: Float) {
        self.init(rect: rect, score: score, confidence: 1 - exp(-2 * Double(max(0, score))))
    }

    /// A detection whose detector states its own confidence (YuNet's score is a probability).
    public init(rect: PixelRect, score: Float, confidence: Double) {
        self.rect = rect
        self.score = score
        self.confidence = confidence
    }
}

/// How hard to look for faces.
public struct DetectionOptions: Sendable, Equatable {
    /// How many times to double the image before detecting; each doubling finds faces half
    /// as large (the detector's smallest face is about 80 px) at four times the cost.
    public var upsample: Int
    /// Faces smaller than this (in original pixels) may be missed; larger values let the
    /// detector work on a smaller image, the main speed lever when faces are large.
    public var minFaceSize: Int?
    /// The most pixels the detector runs on: a larger image (after upsampling) is upsampled
    /// less or shrunk first. Detection memory and time grow with the pixels (about 130 MB per
    /// megapixel here), so this bounds them; faces below 80 px times the shrink factor are
    /// then missed. `nil` places no bound.
    public var maxPixels: Int?

    public init(upsample: Int = 0, minFaceSize: Int? = nil, maxPixels: Int? = nil) {
        self.upsample = upsample
        self.minFaceSize = minFaceSize
        self.maxPixels = maxPixels
    }
}
