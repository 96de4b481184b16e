import Foundation
import NetraDescriptor

/// How a compatible API turns NETRA's Euclidean distance into its peer's score, and the
/// peer's thresholds back into distances (docs/compatibility.md, "Scores").
///
/// `score(d) = 1 / (1 + exp(10·(d − dₜ) − logit(s)))`, with `dₜ` NETRA's configured threshold as
/// a distance and `s` the score the peer's clients treat as their usual threshold (CompreFace's
/// documented 0.5, DeepStack's recognize default 0.67): monotone, 1 for identical faces, and
/// NETRA's threshold falls exactly on the peer's default.
struct PeerScale: Sendable {
    /// NETRA's threshold as a distance (`dₜ`).
    let thresholdDistance: Float
    /// The peer score at the threshold (`s`).
    let scoreAtThreshold: Double

    /// The slope, per unit of distance: a distance 0.1 under the threshold moves a score at 0.5 to 0.73.
    static let steepness = 10.0

    /// CompreFace's `similarity`: 0.5 at NETRA's threshold.
    static func compreFace(threshold: Float) -> PeerScale {
        PeerScale(thresholdDistance: FaceDescriptor.distance(forSimilarity: threshold), scoreAtThreshold: 0.5)
    }

    /// DeepStack's `confidence` and `similarity`: 0.67 at NETRA's threshold.
    static func deepStack(threshold: Float) -> PeerScale {
        PeerScale(thresholdDistance: FaceDescriptor.distance(forSimilarity: threshold), scoreAtThreshold: 0.67)
    }

    private var logit: Double { log(scoreAtThreshold / (1 - scoreAtThreshold)) }

    /// The peer score of a distance.
    func score(distance: Float) -> Double {
        1 / (1 + exp(Self.steepness * Double(distance - thresholdDistance) - logit))
    }

    /// The distance whose score is `score` (the inverse of `score(distance:)`), for a
    /// threshold a client gives in the peer's scale.
    func distance(score: Double) -> Float {
        let clamped = min(max(score, 1e-9), 1 - 1e-9)
        return thresholdDistance + Float((log(clamped / (1 - clamped)) * -1 + logit) / Self.steepness)
    }

    /// The detection probability both peers report for a face NETRA's detector found:
    /// `0.9 + 0.1 × confidence`, so every accepted face reports at least 0.9 and the
    /// thresholds clients send below that (Double Take's 0.8, Home Assistant's 0.45) keep them all.
    static func detectionProbability(confidence: Double) -> Double {
        0.9 + 0.1 * min(max(confidence, 0), 1)
    }

    /// Rounded as CompreFace rounds (5 decimals, half up).
    static func rounded(_ value: Double) -> Double {
        (value * 100_000).rounded(.toNearestOrAwayFromZero) / 100_000
    }
}
