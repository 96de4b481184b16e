import NetraDescriptor
import NetraImaging
import NetraVision

/// 1:1 verification: is the face of one image the same person as the face of another?
public struct FaceVerifier: Sendable {
    public let finder: FaceFinder
    /// The threshold in force when a request names none.
    public var threshold: Float

    public init(finder: FaceFinder, threshold: Float = FaceComparison.defaultThreshold) {
        self.finder = finder
        self.threshold = threshold
    }

    /// One image to compare, with the name its errors and results use (a form field or a file).
    public struct Input: Sendable {
        public let source: String
        public let image: RGBImage

        public init(source: String, image: RGBImage) {
            self.source = source
            self.image = image
        }
    }

    /// What a verification found: the comparison and, per image, the box compared.
    public struct Result: Sendable {
        public let comparison: FaceComparison
        /// The compared face of each input, in input order: the box reported is the box compared.
        public let boxes: [ImageBox]
        /// Milliseconds spent finding and describing each input's face, in input order.
        public let analysisMilliseconds: [Double]
    }

    /// One side of a verification: the face chosen, where it is, and how long finding it took.
    public struct Side: Sendable {
        public let face: AnalyzedFace
        public let box: ImageBox
        public let milliseconds: Double
    }

    /// Compares the chosen face of `first` with the chosen face of `second`.
    public func verify(_ first: Input, _ second: Input, threshold: Float? = nil, choice: FaceChoice = .largest) throws(IdentityError) -> Result {
        compare(try side(first, choice: choice), try side(second, choice: choice), threshold: threshold)
    }

    /// The first step of `verify` for one input, for callers that prepare each input themselves
    /// (the service decodes and finds the two sides on two workers at once when it can).
    public func side(_ input: Input, choice: FaceChoice = .largest) throws(IdentityError) -> Side {
        let start = ContinuousClock.now
        let face = try finder.face(of: input.image, choice: choice, source: input.source)
        return Side(face: face, box: ImageBox(face.detection.rect, in: input.image), milliseconds: start.millisecondsElapsed)
    }

    /// The second step of `verify`: the comparison of two sides.
    public func compare(_ first: Side, _ second: Side, threshold: Float? = nil) -> Result {
        Result(comparison: FaceComparison(first.face.descriptor, second.face.descriptor, threshold: threshold ?? self.threshold),
               boxes: [first.box, second.box], analysisMilliseconds: [first.milliseconds, second.milliseconds])
    }
}

extension ContinuousClock.Instant {
    /// Milliseconds from this instant to now, to two decimals (the `timings_ms` of responses).
    public var millisecondsElapsed: Double {
        let elapsed = ContinuousClock.now - self
        let value = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        return (value * 100).rounded() / 100
    }
}
