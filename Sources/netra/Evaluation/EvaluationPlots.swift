import Foundation
import NetraVision

/// The evaluation plots as SVG: ROC (log FAR), DET and the score histograms with the threshold.
enum EvaluationPlots {
    static func write(_ pairs: [ScoredPair], threshold: Float, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let curve = operatingCurve(pairs)
        try roc(curve).write(to: folder.appendingPathComponent("roc.svg"), atomically: true, encoding: .utf8)
        try det(curve).write(to: folder.appendingPathComponent("det.svg"), atomically: true, encoding: .utf8)
        try histogram(pairs, threshold: threshold).write(to: folder.appendingPathComponent("scores.svg"), atomically: true, encoding: .utf8)
    }

    /// (FAR, TAR) at every distinct score, from the strictest threshold down.
    static func operatingCurve(_ pairs: [ScoredPair]) -> [(far: Double, tar: Double)] {
        Set(pairs.map(\.similarity)).sorted(by: >).map { threshold in
            let counts = VerificationMetrics.confusion(pairs, threshold: threshold)
            return (counts.falseAcceptRate, counts.trueAcceptRate)
        }
    }

    private static let (width, height, margin) = (560.0, 420.0, 60.0)

    private static func frame(title: String, xLabel: String, yLabel: String, body: String, xTicks: [(Double, String)],
                              yTicks: [(Double, String)]) -> String {
        let plotWidth = width - 2 * margin, plotHeight = height - 2 * margin
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="12">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(width / 2)" y="24" text-anchor="middle" font-size="15">\(title)</text>
            <rect x="\(margin)" y="\(margin)" width="\(plotWidth)" height="\(plotHeight)" fill="none" stroke="#444"/>
            <text x="\(width / 2)" y="\(height - 16)" text-anchor="middle">\(xLabel)</text>
            <text x="16" y="\(height / 2)" text-anchor="middle" transform="rotate(-90 16 \(height / 2))">\(yLabel)</text>

            """
        for (position, label) in xTicks {
            let x = margin + position * plotWidth
            svg += "<line x1=\"\(x)\" y1=\"\(height - margin)\" x2=\"\(x)\" y2=\"\(margin)\" stroke=\"#ddd\"/>"
                + "<text x=\"\(x)\" y=\"\(height - margin + 16)\" text-anchor=\"middle\">\(label)</text>\n"
        }
        for (position, label) in yTicks {
            let y = height - margin - position * plotHeight
            svg += "<line x1=\"\(margin)\" y1=\"\(y)\" x2=\"\(width - margin)\" y2=\"\(y)\" stroke=\"#ddd\"/>"
                + "<text x=\"\(margin - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(label)</text>\n"
        }
        return svg + body + "</svg>\n"
    }

    /// Maps (x, y) in [0, 1] to the plot area.
    private static func point(_ x: Double, _ y: Double) -> String {
        let px = margin + min(max(x, 0), 1) * (width - 2 * margin), py = height - margin - min(max(y, 0), 1) * (height - 2 * margin)
        return String(format: "%.1f,%.1f", px, py)
    }

    /// log10 of a rate on [1e-4, 1] as a position in [0, 1].
    private static func logPosition(_ rate: Double) -> Double { (log10(max(rate, 1e-4)) + 4) / 4 }

    private static let logTicks = [(0.0, "1e-4"), (0.25, "1e-3"), (0.5, "1e-2"), (0.75, "0.1"), (1.0, "1")]

    static func roc(_ curve: [(far: Double, tar: Double)]) -> String {
        let points = curve.map { point(logPosition($0.far), $0.tar) }.joined(separator: " ")
        return frame(title: "ROC", xLabel: "false accept rate (log)", yLabel: "true accept rate",
                     body: "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"\(points)\"/>\n",
                     xTicks: logTicks, yTicks: stride(from: 0.0, through: 1, by: 0.25).map { ($0, String(format: "%.2f", $0)) })
    }

    static func det(_ curve: [(far: Double, tar: Double)]) -> String {
        let points = curve.map { point(logPosition($0.far), logPosition(1 - $0.tar)) }.joined(separator: " ")
        return frame(title: "DET", xLabel: "false accept rate (log)", yLabel: "false reject rate (log)",
                     body: "<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"\(points)\"/>\n",
                     xTicks: logTicks, yTicks: logTicks)
    }

    static func histogram(_ pairs: [ScoredPair], threshold: Float) -> String {
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
        var body = ""
        for (series, color) in [(impostor, "#d62728"), (genuine, "#2ca02c")] {
            for (bin, count) in series.enumerated() where count > 0 {
                let x0 = Double(bin) / Double(bins), x1 = Double(bin + 1) / Double(bins), top = Double(count) / peak
                body += "<polygon fill=\"\(color)\" fill-opacity=\"0.5\" points=\"\(point(x0, 0)) \(point(x0, top)) \(point(x1, top)) \(point(x1, 0))\"/>\n"
            }
        }
        let t = Double(threshold)
        body += "<line stroke=\"black\" stroke-dasharray=\"6 4\" stroke-width=\"2\" x1=\"\(point(t, 0).split(separator: ",")[0])\" "
            + "y1=\"\(height - margin)\" x2=\"\(point(t, 0).split(separator: ",")[0])\" y2=\"\(margin)\"/>\n"
            + "<text x=\"\(width - margin - 4)\" y=\"\(margin + 16)\" text-anchor=\"end\">green: same person, red: different; dashed: threshold \(String(format: "%.3f", threshold))</text>\n"
        return frame(title: "Similarity scores", xLabel: "similarity_score", yLabel: "pairs (relative)", body: body,
                     xTicks: stride(from: 0.0, through: 1, by: 0.25).map { ($0, String(format: "%.2f", $0)) },
                     yTicks: [(0, "0"), (1, "max")])
    }
}
