import Foundation
import NetraDescriptor
import Synchronization

/// Why a challenge or a passed check cannot be used.
public enum LivenessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A passed check is required and none was presented.
    case required
    /// No challenge (or passed check) of this caller has this id.
    case notFound
    /// Answered (or used) once already, or answered and failed: a challenge is single-use.
    case used
    /// Its time ran out.
    case expired
    /// The face now presented is not the person who passed.
    case differentPerson(distance: Float)

    public var description: String {
        switch self {
        case .required: "this needs a passed liveness check: send its challenge id as liveness_challenge"
        case .notFound: "no liveness challenge of this caller has this id"
        case .used: "this liveness challenge was used already or did not pass; start a new one"
        case .expired: "this liveness challenge expired; start a new one"
        case let .differentPerson(distance): "the face is not the person who passed the liveness check (distance \(String(format: "%.2f", distance)))"
        }
    }
}

/// The challenges issued and the checks passed, in memory: single-use, expiring, each usable
/// only by the caller it was issued to. A restart forgets them (a challenge lives
/// `LivenessPolicy.challengeLifetime`, 30 s by default).
public final class LivenessChallenges: Sendable {
    /// The rules challenges are issued and judged by.
    public let policy: LivenessPolicy
    private let state = Mutex(State())
    /// Outstanding challenges and passes kept per caller and in all; older ones are dropped.
    static let perCallerLimit = 16
    static let totalLimit = 10_000
    /// Turns asked per challenge: each way once.
    public static let stepCount = HeadTurn.allCases.count

    private struct State {
        var open: [String: LivenessChallenge] = [:]
        var answered: Set<String> = []
        var passes: [String: Pass] = [:]

        /// Drops expired challenges and passes; remembers answered ids only while they could matter.
        mutating func prune(now: Date) {
            open = open.filter { $0.value.expiresAt > now }
            passes = passes.filter { $0.value.validUntil > now }
            if answered.count > LivenessChallenges.totalLimit { answered = Set(passes.keys) }
        }
    }

    /// A passed check waiting for the enrollment or verification it allows.
    private struct Pass {
        let owner: String
        let reference: FaceDescriptor
        let validUntil: Date
    }

    /// An empty registry issuing challenges under `policy`.
    public init(policy: LivenessPolicy = LivenessPolicy()) {
        self.policy = policy
    }

    /// A new challenge for `owner`: both turns, in random order.
    public func issue(to owner: String, now: Date = Date()) -> LivenessChallenge {
        var random = SystemRandomNumberGenerator()
        let id = RandomToken.hex(bits: 128)
        let challenge = LivenessChallenge(id: id, steps: HeadTurn.allCases.shuffled(using: &random), issuedAt: now,
                                          expiresAt: now.addingTimeInterval(policy.challengeLifetime), owner: owner)
        state.withLock { state in
            state.prune(now: now)
            let mine = state.open.values.filter { $0.owner == owner }.sorted { $0.issuedAt < $1.issuedAt }
            for old in mine.dropLast(Self.perCallerLimit - 1) { state.open[old.id] = nil }
            if state.open.count >= Self.totalLimit, let oldest = state.open.values.min(by: { $0.issuedAt < $1.issuedAt }) {
                state.open[oldest.id] = nil
            }
            state.open[id] = challenge
        }
        return challenge
    }

    /// Takes `owner`'s challenge `id` to be answered: from now on it cannot be answered again.
    public func take(_ id: String, by owner: String, now: Date = Date()) throws(LivenessError) -> LivenessChallenge {
        try state.withLock { state throws(LivenessError) in
            if state.answered.contains(id) { throw .used }
            guard let challenge = state.open[id], challenge.owner == owner else { throw .notFound }
            state.open[id] = nil
            guard challenge.expiresAt > now else { throw .expired }
            state.answered.insert(id)
            return challenge
        }
    }

    /// Records that `challenge` was passed by the person `reference`, for one later use.
    public func recordPass(of challenge: LivenessChallenge, reference: FaceDescriptor, now: Date = Date()) {
        state.withLock { state in
            state.prune(now: now)
            state.passes[challenge.id] = Pass(owner: challenge.owner, reference: reference,
                                              validUntil: now.addingTimeInterval(policy.passLifetime))
        }
    }

    /// Uses `owner`'s passed check `id` for `face`: it must be valid, unused and the same person.
    /// It is used up whatever the outcome, so a pass cannot be tried against several faces.
    public func consumePass(_ id: String, by owner: String, for face: FaceDescriptor, now: Date = Date()) throws(LivenessError) {
        try state.withLock { state throws(LivenessError) in
            guard let pass = state.passes[id] else { throw state.answered.contains(id) ? .used : .notFound }
            guard pass.owner == owner else { throw .notFound }
            state.passes[id] = nil
            guard pass.validUntil > now else { throw .expired }
            let distance = pass.reference.distance(to: face)
            guard distance <= policy.maxDistance else { throw .differentPerson(distance: distance) }
        }
    }
}
