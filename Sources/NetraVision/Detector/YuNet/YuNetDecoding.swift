import Foundation

/// libfacedetection's post-processing of YuNet's head outputs, to the library's meaning:
/// anchor-free priors at every position of each level, scores, box and landmark decoding,
/// then greedy non-max suppression.
///
/// Each position `(row, column)` of a level with stride `s` is a prior at `(column * s, row *
/// s)`. Its score is `sqrt(sigmoid(class) * sigmoid(objectness))`; its box centre is the prior
/// plus `s` times the first two box outputs, its size `s * exp` of the other two; each landmark
/// is the prior plus `s` times its two outputs. Candidates are ordered by score (stably: finer
/// levels, then row-major positions, first among equals), cut to 1000, and a candidate is
/// dropped when its IoU with a kept face exceeds 0.45; at most 512 faces are kept.
enum YuNetDecoding {
    /// One level's head outputs: `rows x columns` positions of `YuNetArchitecture.headChannels` floats.
    struct Level {
        var outputs: UnsafePointer<Float>
        var rows: Int
        var columns: Int
        var stride: Int
    }

    /// The lowest score libfacedetection itself reports.
    static let libraryMinimumScore: Float = 0.2
    static let overlapThreshold: Float = 0.45
    static let candidateLimit = 1000
    static let faceLimit = 512

    private struct Candidate {
        var score: Float
        var left: Float, top: Float, right: Float, bottom: Float
        var level: Int
        var position: Int
    }

    /// The faces scoring at least `scoreThreshold`, best first.
    static func faces(in levels: [Level], scoreThreshold: Float) -> [YuNetFace] {
        typealias Head = YuNetArchitecture.Head
        let channels = YuNetArchitecture.headChannels
        let score = Head.score.channelOffset, objectness = Head.objectness.channelOffset, box = Head.box.channelOffset
        // sqrt(sigmoid(a) * sigmoid(b)) >= t needs both sigmoids >= t^2: positions with a logit below
        // that bound (less a margin for rounding) are skipped without evaluating `exp`.
        let square = scoreThreshold * scoreThreshold
        let logitBound = scoreThreshold > 0 && square < 1 ? log(square / (1 - square)) - 1e-3 : -Float.infinity
        var candidates: [Candidate] = []
        for (number, level) in levels.enumerated() {
            let stride = Float(level.stride)
            for position in 0..<(level.rows * level.columns) {
                let out = level.outputs + position * channels
                guard out[score] >= logitBound, out[objectness] >= logitBound else { continue }
                let confidence = (sigmoid(out[score]) * sigmoid(out[objectness])).squareRoot()
                guard confidence >= scoreThreshold else { continue }
                let priorX = Float(position % level.columns) * stride, priorY = Float(position / level.columns) * stride
                let centreX = out[box] * stride + priorX, centreY = out[box + 1] * stride + priorY
                let width = exp(out[box + 2]) * stride, height = exp(out[box + 3]) * stride
                candidates.append(Candidate(score: confidence, left: centreX - width / 2, top: centreY - height / 2,
                                            right: centreX + width / 2, bottom: centreY + height / 2,
                                            level: number, position: position))
            }
        }
        candidates.sort { $0.score > $1.score }
        var kept: [Candidate] = []
        for candidate in candidates.prefix(candidateLimit) where kept.count < faceLimit {
            if kept.allSatisfy({ overlap(candidate, $0) <= overlapThreshold }) { kept.append(candidate) }
        }
        return kept.map { candidate in
            let level = levels[candidate.level]
            let out = level.outputs + candidate.position * channels + Head.landmarks.channelOffset
            let stride = Float(level.stride)
            let priorX = Float(candidate.position % level.columns) * stride, priorY = Float(candidate.position / level.columns) * stride
            let landmarks = (0..<5).map { point in
                Point(x: Double(out[2 * point] * stride + priorX), y: Double(out[2 * point + 1] * stride + priorY))
            }
            return YuNetFace(box: YuNetFace.Box(x: candidate.left, y: candidate.top, width: candidate.right - candidate.left,
                                                height: candidate.bottom - candidate.top),
                             score: candidate.score, landmarks: landmarks)
        }
    }

    /// The library's sigmoid, its input clamped to where `exp` stays finite.
    private static func sigmoid(_ value: Float) -> Float {
        let clamped = min(max(value, -88.3762626647949), 88.3762626647949)
        return 1 / (1 + exp(-clamped))
    }

    /// Intersection over union; boxes that only touch, or do not meet, overlap 0.
    private static func overlap(_ a: Candidate, _ b: Candidate) -> Float {
        let width = min(a.right, b.right) - max(a.left, b.left), height = min(a.bottom, b.bottom) - max(a.top, b.top)
        guard width > 0, height > 0 else { return 0 }
        let intersection = width * height
        let union = (a.right - a.left) * (a.bottom - a.top) + (b.right - b.left) * (b.bottom - b.top) - intersection
        return intersection / union
    }
}
