import NetraIdentity

extension NetraRequestContext {
    /// The liveness check an enrollment or verification must pass: a presented one
    /// (`liveness_challenge`) is always checked; without one, a console session is refused
    /// when the configuration requires the check (`liveness.required_for_*`), and other callers
    /// need none (an API key is a machine's, which has no camera to turn to).
    func livenessRequirement(_ form: RequestForm, required: Bool, challenges: LivenessChallenges) throws -> LivenessRequirement? {
        guard let presented = form.string("liveness_challenge"), !presented.isEmpty else {
            if required, consoleSession != nil { throw APIError(livenessError: .required) }
            return nil
        }
        return LivenessRequirement(challenges: challenges, passID: presented, owner: livenessOwner)
    }

    /// Whom a challenge is issued to and who may answer and use it: the console session (so
    /// another session or program with the same key cannot), else the API key or address.
    var livenessOwner: String { consoleSession.map { "session:\($0.id)" } ?? caller }
}
