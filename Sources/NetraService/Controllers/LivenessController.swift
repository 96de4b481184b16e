import Foundation
import Hummingbird
import NetraIdentity

/// The active liveness check (docs/console.md): a random head-turn challenge, answered once
/// with the frames the browser captured while the person followed it.
struct LivenessController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    let bodies: BodyReader
    let limiter: RateLimiter
    let challenges: LivenessChallenges

    /// Frames an answer carries per rate-limit token: each costs a detection, and an answer
    /// must still fit in the default burst with room to spare.
    static let framesPerToken = 4

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.post("liveness/challenges", use: issue)
        group.post("liveness/challenges/:id", use: answer)
    }

    struct ChallengeJSON: Encodable {
        let id: String
        let steps: [HeadTurn]
        let instructions: [String]
        let expiresAt: String
        let expiresIn: Int
        let minFrames: Int
        let maxFrames: Int

        enum CodingKeys: String, CodingKey {
            case id, steps, instructions
            case expiresAt = "expires_at", expiresIn = "expires_in", minFrames = "min_frames", maxFrames = "max_frames"
        }
    }

    func issue(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let challenge = challenges.issue(to: context.livenessOwner)
        let policy = challenges.policy
        let json = ChallengeJSON(id: challenge.id, steps: challenge.steps, instructions: challenge.steps.map(\.instruction),
                                 expiresAt: ISO8601DateFormatter().string(from: challenge.expiresAt),
                                 expiresIn: Int(policy.challengeLifetime), minFrames: policy.minFrames, maxFrames: policy.maxFrames)
        return try JSONResponse.make(json, status: .created, noStore: true, for: request, context)
    }

    struct FrameJSON: Encodable {
        let faces: Int
        let yaw: Double?
        let distance: Float?
    }

    struct ResultJSON: Encodable {
        let id: String
        let passed: Bool
        let reasons: [String]
        let frames: [FrameJSON]
        /// Seconds a passed check may be used for one enrollment or verification.
        let validFor: Int?

        enum CodingKeys: String, CodingKey {
            case id, passed, reasons, frames
            case validFor = "valid_for"
        }
    }

    /// Multipart `frame0`, `frame1`, ... in capture order, and `phases`: each frame's phase
    /// (the instruction on screen when it was captured), comma-separated. The challenge is used
    /// up by the first answer that reaches judging, passed or not. Frames cost the caller a
    /// rate-limit token per four beyond the request's own (24 frames: 1 + 5 of the default 20).
    func answer(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let id = try context.parameters.require("id")
        let policy = challenges.policy
        let names = (0..<policy.maxFrames + 1).map { "frame\($0)" }
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes,
                                              imageFields: Set(names))
        // In time if the frames arrived in time, however long they then wait for a worker.
        let received = Date()
        let frames = try names.prefix { form.hasImage($0) }.map { try form.image($0) }
        let phases = (form.string("phases") ?? "").split(separator: ",", omittingEmptySubsequences: false)
            .map { Int($0.trimmingCharacters(in: .whitespaces)) ?? -1 }
        let checker = LivenessChecker(finder: configuration.finder(loaded), challenges: challenges)
        do throws(LivenessChecker.AnswerError) {
            try checker.checkAnswer(frameCount: frames.count, phases: phases)
        } catch {
            let code = switch error {
            case .tooFewFrames: "too_few_frames"
            case .tooManyFrames: "too_many_frames"
            case .invalidPhases: "invalid_phases"
            }
            throw APIError.badRequest(code, error.description)
        }
        for _ in 0..<(frames.count - 1) / Self.framesPerToken { try limiter.admit(context.caller, counting: "liveness frames") }
        let (decoder, owner, challenges) = (configuration.imageDecoder, context.livenessOwner, challenges)
        let verdict = try await workers.run { () throws -> LivenessVerdict in
            let images = try frames.enumerated().map { index, bytes in try decoder.decode(bytes, field: "frame\(index)") }
            // Taken only now, so that a refused body, a bad frame or a full queue leaves it answerable.
            let challenge: LivenessChallenge
            do throws(LivenessError) {
                challenge = try challenges.take(id, by: owner, now: received)
            } catch {
                throw APIError(livenessError: error)
            }
            return try identityCall { () throws(IdentityError) in try checker.judge(images, phases: phases, answering: challenge) }
        }
        let store = loaded.store
        try? await blocking { try store.recordEvent(action: "liveness", result: verdict.passed ? "passed" : "failed",
                                                    detail: verdict.reasons.joined(separator: "; ")) }
        let json = ResultJSON(id: id, passed: verdict.passed, reasons: verdict.reasons,
                              frames: verdict.frames.map { FrameJSON(faces: $0.faceCount, yaw: $0.yaw.map { ($0 * 1000).rounded() / 1000 },
                                                                     distance: $0.distance.map { ($0 * 1000).rounded() / 1000 }) },
                              validFor: verdict.passed ? Int(policy.passLifetime) : nil)
        return try JSONResponse.make(json, noStore: true, for: request, context)
    }
}
