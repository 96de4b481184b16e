import NetraDescriptor
import NetraImaging

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

    /// Compares the chosen face of `first` with the chosen face of `second`.
    public func verify(_ first: Input, _ second: Input, threshold: Float? = nil, choice: FaceChoice = .largest) throws(IdentityError) -> Result {
        var descriptors: [FaceDescriptor] = [], boxes: [ImageBox] = [], timings: [Double] = []
        for input in [first, second] {
            let start = ContinuousClock.now
            let face = try finder.face(of: input.image, choice: choice, source: input.source)
            timings.append(milliseconds(since: start))
            descriptors.append(face.descriptor)
            boxes.append(ImageBox(face.detection.rect, in: input.image))
        }
        let comparison = FaceComparison(descriptors[0], descriptors[1], threshold: threshold ?? self.threshold)
        return Result(comparison: comparison, boxes: boxes, analysisMilliseconds: timings)
    }
}

/// Milliseconds since `start`, to two decimals.
public func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    let value = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
    return (value * 100).rounded() / 100
}
