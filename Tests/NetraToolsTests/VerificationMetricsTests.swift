import NetraDescriptor
import NetraTestSupport
@testable import NetraTools
import NetraVision
import Testing

@Suite("Verification metrics on hand-made scores", .tags(.unit))
struct VerificationMetricsTests {
    static func pairs(genuine: [Float], impostor: [Float], folds: Int? = nil) -> [ScoredPair] {
        func scored(_ scores: [Float], same: Bool) -> [ScoredPair] {
            scores.enumerated().map { index, score in
                ScoredPair(a: "\(same)\(index)", b: "b", same: same, fold: folds.map { index % $0 }, similarity: score)
            }
        }
        return scored(genuine, same: true) + scored(impostor, same: false)
    }

    @Test("confusion counts and accuracy at a threshold", .offCooperativePool)
    func confusion() {
        let counts = VerificationMetrics.confusion(Self.pairs(genuine: [0.9, 0.75, 0.6], impostor: [0.8, 0.3]), threshold: 0.7)
        #expect([counts.truePositives, counts.falseNegatives, counts.falsePositives, counts.trueNegatives] == [2, 1, 1, 1])
        #expect(counts.accuracy == 0.6)
        #expect(counts.falseAcceptRate == 0.5)
    }

    @Test("ROC AUC is the chance that a genuine pair outscores an impostor pair", .offCooperativePool)
    func auc() {
        // 0.9 beats both impostors, 0.8 beats only 0.1: 3 of 4.
        #expect(VerificationMetrics.rocAUC(Self.pairs(genuine: [0.9, 0.8], impostor: [0.85, 0.1])) == 0.75)
        #expect(VerificationMetrics.rocAUC(Self.pairs(genuine: [0.5], impostor: [0.5])) == 0.5)
    }

    @Test("separable scores: best accuracy 1 with the threshold between the classes; EER 0", .offCooperativePool)
    func separable() {
        let pairs = Self.pairs(genuine: [0.8, 0.9, 0.95], impostor: [0.2, 0.4, 0.6])
        let best = VerificationMetrics.bestThreshold(pairs)
        #expect(best.accuracy == 1)
        #expect(best.threshold > 0.6 && best.threshold < 0.8)
        #expect(VerificationMetrics.equalErrorRate(pairs)?.rate == 0)
    }

    @Test("FAR calibration on evenly spread impostor scores gives the known threshold", .offCooperativePool)
    func farCalibration() throws {
        // 10 000 impostor scores k / 10 000: at most 1 % may pass, so the threshold sits just above 0.9899.
        let impostor = (0..<10_000).map { Float($0) / 10_000 }
        let pairs = Self.pairs(genuine: [0.999], impostor: impostor)
        let threshold = try #require(VerificationMetrics.threshold(forFAR: 0.01, pairs))
        #expect(threshold == (Float(9_899) / 10_000).nextUp)
        #expect(VerificationMetrics.confusion(pairs, threshold: threshold).falseAcceptRate == 0.01)
        #expect(VerificationMetrics.threshold(forFAR: 1e-5, pairs) == nil)
    }

    @Test("cross-validation chooses each fold's threshold on the other folds", .offCooperativePool)
    func folds() throws {
        let pairs = Self.pairs(genuine: (0..<20).map { 0.7 + Float($0) / 100 }, impostor: (0..<20).map { 0.2 + Float($0) / 100 }, folds: 10)
        let result = try #require(VerificationMetrics.crossValidated(pairs))
        #expect(result.folds == 10 && result.mean == 1 && result.std == 0)
        #expect(VerificationMetrics.crossValidated(Self.pairs(genuine: [0.9], impostor: [0.1])) == nil)
    }
}

@Suite("The verification report on the public pairs", .tags(.model))
struct PublicPairsReportTests {
    @Test("the report on the 781 public pairs agrees with a direct count at the default threshold", .offCooperativePool, )
    func publicPairsReport() throws {
        let pairs = try FaceDataSet.pairs()
        let descriptors = try PublicFaceDescriptors.byFile()
        let scored = try pairs.map { pair in
            let a = try #require(descriptors[pair.a], "no face in \(pair.a)"), b = try #require(descriptors[pair.b], "no face in \(pair.b)")
            return ScoredPair(a: pair.a, b: pair.b, same: pair.same, similarity: a.similarity(to: b))
        }
        let correct = scored.filter { ($0.similarity >= FaceComparison.defaultThreshold) == $0.same }.count
        let accuracy = Double(correct) / Double(pairs.count)
        let report = VerificationReport(pairs: scored, threshold: FaceComparison.defaultThreshold)
        #expect(report.accuracy == accuracy)
        #expect(report.genuinePairs == 222 && report.impostorPairs == 559)
        #expect(report.bestAccuracy >= report.accuracy)
        #expect(report.rocAUC ?? 0 > 0.999)
        #expect(report.tarAtFAR.first { $0.far == 1e-3 }?.tar == nil)
    }
}
