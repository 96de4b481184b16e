import NetraVision
/// Everything `netra evaluate` reports about 1:1 verification on a set of scored pairs.
public struct VerificationReport: Sendable, Codable {
    public struct OperatingPoint: Sendable, Codable {
        public let far: Double
        /// `nil` when there are too few impostor pairs to measure this FAR.
        public let tar: Double?
        public let threshold: Float?
        public let note: String?
    }

    public struct PairScore: Sendable, Codable {
        public let a: String
        public let b: String
        public let similarity: Float
        public let distance: Float
    }

    public let pairs: Int
    public let genuinePairs: Int
    public let impostorPairs: Int
    public let threshold: Float
    public let accuracy: Double
    public let confusion: VerificationMetrics.Confusion
    public let bestThreshold: Float
    public let bestAccuracy: Double
    public let foldAccuracyMean: Double?
    public let foldAccuracyStd: Double?
    public let folds: Int?
    public let rocAUC: Double?
    public let equalErrorRate: Double?
    public let equalErrorThreshold: Float?
    public let tarAtFAR: [OperatingPoint]
    /// Genuine pairs with the lowest similarity and impostor pairs with the highest.
    public let worstGenuine: [PairScore]
    public let worstImpostor: [PairScore]

    public init(pairs scored: [ScoredPair], threshold: Float, worst: Int = 5) {
        pairs = scored.count
        genuinePairs = scored.filter(\.same).count
        impostorPairs = pairs - genuinePairs
        self.threshold = threshold
        confusion = VerificationMetrics.confusion(scored, threshold: threshold)
        accuracy = confusion.accuracy
        (bestThreshold, bestAccuracy) = VerificationMetrics.bestThreshold(scored)
        let folds = VerificationMetrics.crossValidated(scored)
        foldAccuracyMean = folds?.mean
        foldAccuracyStd = folds?.std
        self.folds = folds?.folds
        rocAUC = VerificationMetrics.rocAUC(scored)
        let equalError = VerificationMetrics.equalErrorRate(scored)
        equalErrorRate = equalError?.rate
        equalErrorThreshold = equalError?.threshold
        let impostors = impostorPairs
        tarAtFAR = [1e-1, 1e-2, 1e-3, 1e-4].map { far in
            guard let threshold = VerificationMetrics.threshold(forFAR: far, scored) else {
                return OperatingPoint(far: far, tar: nil, threshold: nil,
                                      note: "too few impostor pairs (\(impostors)) to measure a FAR of \(far); need \(Int((1 / far).rounded()))")
            }
            return OperatingPoint(far: far, tar: VerificationMetrics.confusion(scored, threshold: threshold).trueAcceptRate,
                                  threshold: threshold, note: nil)
        }
        let score = { (pair: ScoredPair) in PairScore(a: pair.a, b: pair.b, similarity: pair.similarity, distance: pair.distance) }
        worstGenuine = scored.filter(\.same).sorted { $0.similarity < $1.similarity }.prefix(worst).map(score)
        worstImpostor = scored.filter { !$0.same }.sorted { $0.similarity > $1.similarity }.prefix(worst).map(score)
    }
}
