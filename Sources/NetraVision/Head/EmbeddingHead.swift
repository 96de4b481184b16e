import CBLAS
import NetraDescriptor

/// The trainable half of the Siamese network: a linear map applied to the frozen ResNet's
/// 128-d descriptor, so that NETRA can be adapted to an operator's cameras without retraining
/// the backbone. Both faces of a comparison go through the same head.
///
/// The identity head leaves dlib's descriptors unchanged. A bias is pointless: distances
/// between two mapped descriptors do not depend on it.
public struct EmbeddingHead: Sendable, Equatable {
    public static let dimension = ResNetArchitecture.descriptorLength

    /// Row-major `[output][input]`, `dimension x dimension`.
    public package(set) var weights: [Float]

    /// A head with the given weights; they must be `dimension x dimension` finite numbers.
    public init(weights: [Float]) throws(VisionError) {
        guard weights.count == Self.dimension * Self.dimension else {
            throw .invalidInput("an embedding head needs \(Self.dimension * Self.dimension) weights, not \(weights.count)")
        }
        guard weights.allSatisfy(\.isFinite) else { throw .invalidInput("an embedding head's weights must be finite numbers") }
        self.weights = weights
    }

    /// The head that changes nothing: where training starts.
    public static var identity: EmbeddingHead {
        var weights = [Float](repeating: 0, count: dimension * dimension)
        for index in 0..<dimension { weights[index * dimension + index] = 1 }
        return try! EmbeddingHead(weights: weights)
    }

    /// `weights * values`.
    public func apply(_ values: [Float]) -> [Float] {
        precondition(values.count == Self.dimension, "a descriptor has \(Self.dimension) values")
        var output = [Float](repeating: 0, count: Self.dimension)
        let n = Int32(Self.dimension)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, n, n, 1, weights, n, values, 1, 0, &output, 1)
        return output
    }

    /// The descriptor mapped through the head.
    public func apply(_ descriptor: FaceDescriptor) -> FaceDescriptor {
        FaceDescriptor(values: apply(descriptor.values))
    }
}
