import Foundation

/// A head turn a person is asked to make, in the person's own terms (their left, not the
/// image's).
public enum HeadTurn: String, Sendable, CaseIterable, Codable {
    /// To the person's own left (the nose moves to the unmirrored image's right).
    case left
    /// To the person's own right.
    case right

    /// What the console shows while the turn is expected.
    public var instruction: String { "Turn your head to your \(rawValue)" }

    /// The turn the other way.
    var opposite: HeadTurn { self == .left ? .right : .left }

    /// Whether a head at `yaw` (`HeadPose.yaw`) is turned this way by at least `threshold`.
    func isMet(byYaw yaw: Double, threshold: Double) -> Bool {
        switch self {
        case .left: yaw >= threshold
        case .right: yaw <= -threshold
        }
    }
}

/// One issued challenge: the turns asked for, in order, and until when it may be answered.
public struct LivenessChallenge: Sendable, Equatable {
    /// Random and unguessable (128 bits), the challenge's only name.
    public let id: String
    /// The turns asked for, in the order they are shown.
    public let steps: [HeadTurn]
    /// When it was issued.
    public let issuedAt: Date
    /// After this the challenge can no longer be answered.
    public let expiresAt: Date
    /// Whom it was issued to (an API key's or session's caller): only they may answer it.
    let owner: String
}

/// The rules of the active liveness check, with their documented defaults (README, "Liveness").
public struct LivenessPolicy: Sendable, Equatable {
    /// How long a challenge may be answered after it was issued.
    public var challengeLifetime: TimeInterval = 30
    /// How long a passed challenge may be used for one enrollment or verification.
    public var passLifetime: TimeInterval = 120
    /// Frames an answer must carry at least: enough to see the turns.
    public var minFrames = 6
    /// Frames an answer may carry at most: few enough to analyse quickly.
    public var maxFrames = 24
    /// |yaw| at which the head counts as turned (`HeadPose.yaw`, inter-eye distances). The
    /// public test portraits measure within ±0.10 but for the few visibly turned ones (up to
    /// ±0.16); a flat photo turned in front of the camera keeps its yaw, since the nose's offset
    /// and the eye distance shrink alike (docs/console.md, "Liveness").
    public var turnYaw = 0.10
    /// Largest descriptor distance between frames, and between the person who passed and the
    /// face then enrolled or verified: the match threshold (same person).
    public var maxDistance: Float = 0.6

    /// The documented defaults.
    public init() {}
}
