import Foundation

/// libfacedetection's post-processing of YuNet's head outputs, to the library's meaning:
/// anchor-free priors at every position of each level, scores, box and landmark decoding,
/// then greedy non-max suppression.
///
/// Each position `(row, column)` of a level with stride `s` is a prior at `(column * s, row *
/// s)`. Its score is `sqrt(sigmoid(class) * sigmoid(objectness))`; its box centre is the prior
/// plus `s` times the first two box outputs, its size `s * exp` of the other two; each landmark
/// is the prior plus `s` times its two outputs. A candidate whose box or landmarks are not
/// finite numbers (a logit above about 88 overflows `exp`) is dropped. Candidates are ordered
/// by score, ties broken by level (finer first), then row-major position, cut to 1000, and a
/// candidate is dropped when its IoU with a kept face exceeds 0.45; at most 512 faces are kept.
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

    /// The faces scoring at least `scoreThreshold`, best first.
    static func faces(in levels: [Level], scoreThreshold: Float) -> [YuNetFace] {
        typealias Head = YuNetArchitecture.Head
        let channels = YuNetArchitecture.headChannels
        let score = Head.score.channelOffset, objectness = Head.objectness.channelOffset, box = Head.box.channelOffset
        let landmarks = Head.landmarks.channelOffset
        // sqrt(sigmoid(a) * sigmoid(b)) >= t needs both sigmoids >= t^2: positions with a logit below
        // that bound (less a margin for rounding) are skipped without evaluating `exp`.
        let square = scoreThreshold * scoreThreshold
        let logitBound = scoreThreshold > 0 && square < 1 ? log(square / (1 - square)) - 1e-3 : -Float.infinity
        // In level order, then row-major position: the order ties of score keep.
        var candidates: [YuNetFace] = []
        for level in levels {
            let stride = Float(level.stride)
            for position in 0..<(level.rows * level.columns) {
                let out = level.outputs + position * channels
                guard out[score] >= logitBound, out[objectness] >= logitBound else { continue }
                let confidence = (sigmoid(out[score]) * sigmoid(out[objectness])).squareRoot()
                guard confidence >= scoreThreshold else { continue }
                let priorX = Float(position % level.columns) * stride, priorY = Float(position / level.columns) * stride
                let centreX = out[box] * stride + priorX, centreY = out[box + 1] * stride + priorY
                let width = exp(out[box + 2]) * stride, height = exp(out[box + 3]) * stride
                let left = centreX - width / 2, top = centreY - height / 2
                let faceBox = YuNetFace.Box(x: left, y: top, width: centreX + width / 2 - left, height: centreY + height / 2 - top)
                let points = (0..<5).map { point in
                    (x: out[landmarks + 2 * point] * stride + priorX, y: out[landmarks + 2 * point + 1] * stride + priorY)
                }
                guard faceBox.isFinite, points.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else { continue }
                candidates.append(YuNetFace(box: faceBox, score: confidence,
                                            landmarks: points.map { Point(x: Double($0.x), y: Double($0.y)) }))
            }
        }
        return suppressingOverlaps(candidates.map { ($0.box, $0.score) }, candidateLimit: candidateLimit, faceLimit: faceLimit)
            .map { candidates[$0] }
    }

    /// Greedy non-max suppression at the library's threshold (IoU above 0.45), the one both
    /// YuNet's decoding and the pipeline's merging of scales use: the indices of the boxes
    /// kept, best first. Boxes are taken by score, ties in their order in `boxes`, at most
    /// `candidateLimit` of them; a box is dropped when it overlaps a kept one by more than the
    /// threshold, and at most `faceLimit` are kept.
    static func suppressingOverlaps(_ boxes: [(box: YuNetFace.Box, score: Float)], candidateLimit: Int = .max,
                                    faceLimit: Int = .max) -> [Int] {
        let order = boxes.indices.sorted { a, b in
            boxes[a].score != boxes[b].score ? boxes[a].score > boxes[b].score : a < b
        }
        var kept: [Int] = []
        for index in order.prefix(candidateLimit) {
            guard kept.count < faceLimit else { break }
            if kept.allSatisfy({ boxes[$0].box.overlap(with: boxes[index].box) <= overlapThreshold }) { kept.append(index) }
        }
        return kept
    }

    /// The library's sigmoid, its input clamped to where `exp` stays finite.
    private static func sigmoid(_ value: Float) -> Float {
        let clamped = min(max(value, -88.3762626647949), 88.3762626647949)
        return 1 / (1 + exp(-clamped))
    }
}
