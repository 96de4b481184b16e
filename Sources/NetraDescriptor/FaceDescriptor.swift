/// The 128-d embedding of one face from the shared-weight ResNet: two faces of the same
/// person lie close together in Euclidean distance.
public struct FaceDescriptor: Sendable, Equatable, Codable {
    public let values: [Float]

    public init(values: [Float]) {
        self.values = values
    }

    /// Euclidean distance; dlib's models are tuned so that 0.6 separates same from different people.
    public func distance(to other: FaceDescriptor) -> Float {
        var sum: Float = 0
        for index in values.indices {
            let difference = values[index] - other.values[index]
            sum += difference * difference
        }
        return sum.squareRoot()
    }

    /// `max(0, 1 - distance / 2)`: 1 for identical descriptors; dlib's distance threshold 0.6
    /// becomes similarity 0.7.
    public func similarity(to other: FaceDescriptor) -> Float {
        FaceDescriptor.similarity(forDistance: distance(to: other))
    }

    public static func similarity(forDistance distance: Float) -> Float {
        max(0, 1 - distance / 2)
    }

    public static func distance(forSimilarity similarity: Float) -> Float {
        2 * (1 - similarity)
    }
}
