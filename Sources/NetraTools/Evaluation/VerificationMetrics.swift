import Foundation
import NetraDescriptor
import NetraVision

/// One compared pair with its ground truth.
public struct ScoredPair: Sendable, Codable, Equatable {
    public let a: String
    public let b: String
    public let same: Bool
    /// Cross-validation fold, when the pair list defines folds.
    public let fold: Int?
    public let similarity: Float

    public init(a: String, b: String, same: Bool, fold: Int? = nil, similarity: Float) {
        self.a = a
        self.b = b
        self.same = same
        self.fold = fold
        self.similarity = similarity
    }

    public var distance: Float { FaceDescriptor.distance(forSimilarity: similarity) }
}

/// Verification accuracy figures from scored pairs; a pair matches when `similarity >= threshold`.
public enum VerificationMetrics {
    /// Counts at one threshold.
    public struct Confusion: Sendable, Codable, Equatable {
        public var truePositives = 0
        public var falseNegatives = 0
        public var falsePositives = 0
        public var trueNegatives = 0

        public var accuracy: Double {
            let total = truePositives + falseNegatives + falsePositives + trueNegatives
            return total == 0 ? 0 : Double(truePositives + trueNegatives) / Double(total)
        }

        public var falseAcceptRate: Double {
            falsePositives + trueNegatives == 0 ? 0 : Double(falsePositives) / Double(falsePositives + trueNegatives)
        }

        public var trueAcceptRate: Double {
            truePositives + falseNegatives == 0 ? 0 : Double(truePositives) / Double(truePositives + falseNegatives)
        }
    }

    public static func confusion(_ pairs: [ScoredPair], threshold: Float) -> Confusion {
        var counts = Confusion()
        for pair in pairs {
            switch (pair.same, pair.similarity >= threshold) {
            case (true, true): counts.truePositives += 1
            case (true, false): counts.falseNegatives += 1
            case (false, true): counts.falsePositives += 1
            case (false, false): counts.trueNegatives += 1
            }
        }
        return counts
    }

    /// The threshold with the highest accuracy on `pairs` (the midpoint between neighbouring
    /// scores, so it does not sit on a sample), and that accuracy.
    public static func bestThreshold(_ pairs: [ScoredPair]) -> (threshold: Float, accuracy: Double) {
        guard !pairs.isEmpty else { return (FaceComparison.defaultThreshold, 0) }
        let sorted = pairs.sorted { $0.similarity < $1.similarity }
        // With the threshold below every score all pairs are "same": correct = genuine count.
        var correct = sorted.filter(\.same).count
        var best = (threshold: sorted[0].similarity - 1e-4, correct: correct)
        for index in sorted.indices {
            // Moving the threshold above sorted[index] turns it into "different".
            correct += sorted[index].same ? -1 : 1
            let next = index + 1 < sorted.count ? sorted[index + 1].similarity : sorted[index].similarity + 2e-4
            if next == sorted[index].similarity { continue }
            if correct > best.correct { best = ((sorted[index].similarity + next) / 2, correct) }
        }
        return (best.threshold, Double(best.correct) / Double(pairs.count))
    }

    /// Area under the ROC curve: the chance that a genuine pair scores above an impostor pair (ties half).
    public static func rocAUC(_ pairs: [ScoredPair]) -> Double? {
        let genuine = pairs.filter(\.same).map(\.similarity), impostor = pairs.filter { !$0.same }.map(\.similarity).sorted()
        guard !genuine.isEmpty, !impostor.isEmpty else { return nil }
        var wins = 0.0
        for score in genuine {
            let below = lowerBound(impostor, score), notAbove = upperBound(impostor, score)
            wins += Double(below) + Double(notAbove - below) / 2
        }
        return wins / Double(genuine.count * impostor.count)
    }

    /// Equal error rate: where false accepts and false rejects are (nearest to) equal.
    public static func equalErrorRate(_ pairs: [ScoredPair]) -> (rate: Double, threshold: Float)? {
        guard pairs.contains(where: \.same), pairs.contains(where: { !$0.same }) else { return nil }
        let candidates = Set(pairs.map(\.similarity)).sorted()
        var best: (gap: Double, rate: Double, threshold: Float) = (.infinity, 1, 0)
        for threshold in candidates {
            let counts = confusion(pairs, threshold: threshold)
            let far = counts.falseAcceptRate, frr = 1 - counts.trueAcceptRate
            if abs(far - frr) < best.gap { best = (abs(far - frr), (far + frr) / 2, threshold) }
        }
        return (best.rate, best.threshold)
    }

    /// The lowest threshold whose false-accept rate is at most `far`, or `nil` when there are
    /// fewer than `1 / far` impostor pairs (too few to measure that rate).
    public static func threshold(forFAR far: Double, _ pairs: [ScoredPair]) -> Float? {
        let impostor = pairs.filter { !$0.same }.map(\.similarity).sorted(by: >)
        guard far > 0, Double(impostor.count) >= 1 / far else { return nil }
        let allowed = Int((far * Double(impostor.count)).rounded(.down))
        // Accept at most `allowed` impostors: the threshold sits just above impostor[allowed].
        return impostor[allowed].nextUp
    }

    /// Accuracy per fold with the threshold chosen on the other folds: mean and standard deviation.
    public static func crossValidated(_ pairs: [ScoredPair]) -> (mean: Double, std: Double, folds: Int)? {
        let folds = Set(pairs.compactMap(\.fold)).sorted()
        guard folds.count >= 2, pairs.allSatisfy({ $0.fold != nil }) else { return nil }
        let accuracies = folds.map { fold in
            let threshold = bestThreshold(pairs.filter { $0.fold != fold }).threshold
            return confusion(pairs.filter { $0.fold == fold }, threshold: threshold).accuracy
        }
        let mean = accuracies.reduce(0, +) / Double(accuracies.count)
        let variance = accuracies.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(accuracies.count)
        return (mean, variance.squareRoot(), folds.count)
    }

    private static func lowerBound(_ sorted: [Float], _ value: Float) -> Int {
        var (low, high) = (0, sorted.count)
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    private static func upperBound(_ sorted: [Float], _ value: Float) -> Int {
        var (low, high) = (0, sorted.count)
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] <= value { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
