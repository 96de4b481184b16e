import NetraDescriptor

/// A passed liveness check that an enrollment or a verification must be made with: the face
/// must be the person who passed, and the pass is used up by the attempt.
public struct LivenessRequirement: Sendable {
    let challenges: LivenessChallenges
    /// The passed challenge presented (`liveness_challenge`).
    let passID: String
    /// Who presents it: only the caller the challenge was issued to may use it.
    let owner: String

    public init(challenges: LivenessChallenges, passID: String, owner: String) {
        self.challenges = challenges
        self.passID = passID
        self.owner = owner
    }

    /// Uses the pass for `face`, or says why it cannot.
    public func check(_ face: FaceDescriptor) throws(LivenessError) {
        try challenges.consumePass(passID, by: owner, for: face)
    }
}
