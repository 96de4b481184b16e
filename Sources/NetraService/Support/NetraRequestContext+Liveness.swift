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
        return LivenessRequirement(challenges: challenges, passID: presented, owner: caller)
    }
}
