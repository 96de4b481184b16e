import Foundation

/// One face found by `FaceDetector`.
public struct FaceDetection: Sendable, Equatable {
    /// dlib's rectangle in original-image pixels, inclusive; it may reach past the image edges.
    public let rect: PixelRect
    /// The network's raw score; faces are reported when it is above 0.
    public let score: Float

    public init(rect: PixelRect, score: Float) {
        self.rect = rect
        self.score = score
    }

    /// `1 - exp(-2 * score)`: a monotone map of the score into [0, 1). 0 at the detection
    /// threshold; a typical frontal face (score about 1) gives about 0.86.
    public var confidence: Double { 1 - exp(-2 * Double(max(0, score))) }
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
