/// The result of comparing two faces.
public struct FaceComparison: Sendable, Equatable {
    public let distance: Float
    public let similarity: Float
    public let threshold: Float
    /// `similarity >= threshold`.
    public var isMatch: Bool { similarity >= threshold }

    /// Compares two descriptors against a similarity threshold (0.7 = dlib's distance 0.6).
    public init(_ a: FaceDescriptor, _ b: FaceDescriptor, threshold: Float = FaceComparison.defaultThreshold) {
        distance = a.distance(to: b)
        similarity = FaceDescriptor.similarity(forDistance: distance)
        self.threshold = threshold
    }

    /// Similarity 0.7, i.e. Euclidean distance 0.6, dlib's well-tested threshold.
    public static let defaultThreshold: Float = 0.7
}
