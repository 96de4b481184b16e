import Foundation
import NetraVision

/// The evaluation plots, as SVG: ROC (log FAR), DET and the score histograms
/// with the threshold marked.
package enum EvaluationPlots {
    package static func write(_ pairs: [ScoredPair], threshold: Float, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let curve = operatingCurve(pairs)
        for (name, chart) in [("roc", roc(curve)), ("det", det(curve)), ("scores", histogram(pairs, threshold: threshold))] {
            try chart.svg().write(to: folder.appendingPathComponent("\(name).svg"), atomically: true, encoding: .utf8)
        }
    }

    /// (FAR, TAR) at every distinct score, from the strictest threshold down.
    package static func operatingCurve(_ pairs: [ScoredPair]) -> [(far: Double, tar: Double)] {
        Set(pairs.map(\.similarity)).sorted(by: >).map { threshold in
            let counts = VerificationMetrics.confusion(pairs, threshold: threshold)
            return (counts.falseAcceptRate, counts.trueAcceptRate)
        }
    }

    /// log10 of a rate on [1e-4, 1] as a position in [0, 1].
    private static func logPosition(_ rate: Double) -> Double { (log10(max(rate, 1e-4)) + 4) / 4 }

    private static let logTicks = [(0.0, "1e-4"), (0.25, "1e-3"), (0.5, "1e-2"), (0.75, "0.1"), (1.0, "1")]
    private static let linearTicks = stride(from: 0.0, through: 1, by: 0.25).map { ($0, String(format: "%.2f", $0)) }

    package static func roc(_ curve: [(far: Double, tar: Double)]) -> Chart {
        Chart(title: "ROC", xLabel: "false accept rate (log)", yLabel: "true accept rate", xTicks: logTicks, yTicks: linearTicks,
              lines: [Chart.Line(points: curve.map { (logPosition($0.far), $0.tar) }, color: .blue)])
    }

    package static func det(_ curve: [(far: Double, tar: Double)]) -> Chart {
        Chart(title: "DET", xLabel: "false accept rate (log)", yLabel: "false reject rate (log)", xTicks: logTicks, yTicks: logTicks,
              lines: [Chart.Line(points: curve.map { (logPosition($0.far), logPosition(1 - $0.tar)) }, color: .red)])
    }

    package static func histogram(_ pairs: [ScoredPair], threshold: Float) -> Chart {
        let bins = 50
        func counts(_ same: Bool) -> [Int] {
            var counts = [Int](repeating: 0, count: bins)
            for pair in pairs where pair.same == same {
                counts[min(bins - 1, max(0, Int(Double(pair.similarity) * Double(bins))))] += 1
            }
            return counts
        }
        let genuine = counts(true), impostor = counts(false)
        let peak = Double(max(1, (genuine + impostor).max() ?? 1))
        var bars: [Chart.Bar] = []
        for (series, color) in [(impostor, Chart.Color.red), (genuine, Chart.Color.green)] {
            for (bin, count) in series.enumerated() where count > 0 {
                bars.append(Chart.Bar(x0: Double(bin) / Double(bins), x1: Double(bin + 1) / Double(bins), top: Double(count) / peak, color: color))
            }
        }
        return Chart(title: "Similarity scores", xLabel: "similarity score", yLabel: "pairs (relative)", xTicks: linearTicks,
                     yTicks: [(0, "0"), (1, "max")], bars: bars, markerX: Double(threshold),
                     note: "green: same person, red: different; dashed: threshold \(String(format: "%.3f", threshold))")
    }
}
