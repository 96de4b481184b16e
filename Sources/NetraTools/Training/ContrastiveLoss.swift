import CBLAS
import NetraDescriptor
import NetraVision

/// A face's backbone descriptor and who it shows: what the head is trained on. Descriptors
/// are computed once per image and kept in memory only (they are biometric data).
public struct LabelledDescriptor: Sendable {
    public let person: Int
    public let values: [Float]

    public init(person: Int, values: [Float]) {
        self.person = person
        self.values = values
    }
}

/// Contrastive loss over every pair of a set of faces: same-person pairs are pulled together
/// (`d²`), different-person pairs pushed to at least `margin` apart (`max(0, margin - d)²`),
/// where `d` is the Euclidean distance after the head. The two kinds are averaged separately
/// and added, so the many more different-person pairs do not drown the few same-person ones.
public struct ContrastiveLoss: Sendable {
    public let margin: Float
    /// Pairs at or above this similarity count as "same" for the accuracy figure.
    public let threshold: Float

    public init(margin: Float, threshold: Float) {
        self.margin = margin
        self.threshold = threshold
    }

    public struct Evaluation: Sendable {
        public let loss: Double
        /// Fraction of pairs decided right at `threshold`.
        public let accuracy: Double
        /// dLoss/dWeights, row-major like `EmbeddingHead.weights`; empty unless asked for.
        public let gradient: [Float]
        public let pairs: Int
    }

    /// Loss, pair accuracy and (with `gradient`) the gradient for `head` on all pairs of `faces`.
    ///
    /// With `Y = X Wᵀ` the mapped descriptors and `c` each pair's dLoss/dd divided by `d`, the
    /// gradient `Σ c (yᵢ - yⱼ)(xᵢ - xⱼ)ᵀ` equals `Yᵀ (D - C) X` (C the symmetric pair
    /// weights, D its row sums), so it costs two matrix products however many pairs there are.
    public func evaluate(_ head: EmbeddingHead, on faces: [LabelledDescriptor], gradient wantsGradient: Bool) -> Evaluation {
        let count = faces.count, dimension = EmbeddingHead.dimension
        let inputs = faces.flatMap(\.values)
        var mapped = [Float](repeating: 0, count: count * dimension)
        let n = Int32(dimension)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), n, n, 1, inputs, n, head.weights, n, 0, &mapped, n)

        var distances = [Float](repeating: 0, count: count * count)
        var genuine = 0, impostor = 0
        for i in 0..<count {
            for j in (i + 1)..<count {
                var sum: Float = 0
                for k in 0..<dimension {
                    let difference = mapped[i * dimension + k] - mapped[j * dimension + k]
                    sum += difference * difference
                }
                distances[i * count + j] = sum.squareRoot()
                if faces[i].person == faces[j].person { genuine += 1 } else { impostor += 1 }
            }
        }
        let maximumDistance = FaceDescriptor.distance(forSimilarity: threshold)
        var genuineLoss = 0.0, impostorLoss = 0.0, correct = 0
        var weights = [Float](repeating: 0, count: wantsGradient ? count * count : 0)
        for i in 0..<count {
            for j in (i + 1)..<count {
                let d = distances[i * count + j]
                let same = faces[i].person == faces[j].person
                if (d <= maximumDistance) == same { correct += 1 }
                var weight: Float = 0
                if same {
                    genuineLoss += Double(d * d)
                    weight = 2 / Float(genuine)
                } else if d < margin {
                    impostorLoss += Double((margin - d) * (margin - d))
                    weight = d > 0 ? -2 * (margin - d) / (d * Float(impostor)) : 0
                }
                if wantsGradient {
                    weights[i * count + j] = -weight
                    weights[j * count + i] = -weight
                    weights[i * count + i] += weight
                    weights[j * count + j] += weight
                }
            }
        }
        let pairs = genuine + impostor
        let loss = (genuine > 0 ? genuineLoss / Double(genuine) : 0) + (impostor > 0 ? impostorLoss / Double(impostor) : 0)
        guard wantsGradient else {
            return Evaluation(loss: loss, accuracy: pairs > 0 ? Double(correct) / Double(pairs) : 0, gradient: [], pairs: pairs)
        }
        var laplacianTimesInputs = [Float](repeating: 0, count: count * dimension)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(count), n, Int32(count), 1, weights, Int32(count),
                    inputs, n, 0, &laplacianTimesInputs, n)
        var gradient = [Float](repeating: 0, count: dimension * dimension)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, Int32(count), 1, mapped, n, laplacianTimesInputs, n, 0, &gradient, n)
        return Evaluation(loss: loss, accuracy: pairs > 0 ? Double(correct) / Double(pairs) : 0, gradient: gradient, pairs: pairs)
    }
}
