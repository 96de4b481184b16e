import NetraImaging

/// The active liveness check as a use case: issue a challenge, judge the frames that answer it,
/// and let a passed check allow one enrollment or verification of the same person.
public struct LivenessChecker: Sendable {
    /// The vision step that finds and describes the faces of each frame.
    public let finder: FaceFinder
    /// The challenges issued and the checks passed.
    public let challenges: LivenessChallenges

    public init(finder: FaceFinder, challenges: LivenessChallenges) {
        self.finder = finder
        self.challenges = challenges
    }

    /// Why an answer cannot be judged at all (as opposed to a failed check).
    public enum AnswerError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Fewer frames than `LivenessPolicy.minFrames`.
        case tooFewFrames(minimum: Int)
        /// More frames than `LivenessPolicy.maxFrames`.
        case tooManyFrames(maximum: Int)
        /// The frames' phases are not one per frame, from 0 up to the last step, in order.
        case invalidPhases

        public var description: String {
            switch self {
            case let .tooFewFrames(minimum): "send at least \(minimum) frames as frame0, frame1, ..."
            case let .tooManyFrames(maximum): "send at most \(maximum) frames"
            case .invalidPhases:
                "'phases' must give each frame's phase, in order: 0 (look at the camera), then 1, 2, ... for the steps, each at least once"
            }
        }
    }

    /// Checks an answer's shape before any frame is decoded: the number of frames, and their
    /// phases (one per frame, non-decreasing, every phase from 0 to the last step present).
    public func checkAnswer(frameCount: Int, phases: [Int]) throws(AnswerError) {
        let policy = challenges.policy
        if frameCount < policy.minFrames { throw .tooFewFrames(minimum: policy.minFrames) }
        if frameCount > policy.maxFrames { throw .tooManyFrames(maximum: policy.maxFrames) }
        guard phases.count == frameCount, phases.first == 0, zip(phases, phases.dropFirst()).allSatisfy({ $1 == $0 || $1 == $0 + 1 }),
              phases.last == LivenessChallenges.stepCount
        else { throw .invalidPhases }
    }

    /// Judges `frames` (in capture order, with their `phases`) as the answer to `challenge`,
    /// taken with `LivenessChallenges.take`; a pass is recorded for one later use.
    public func judge(_ frames: [RGBImage], phases: [Int], answering challenge: LivenessChallenge) throws(IdentityError) -> LivenessVerdict {
        var observed: [LivenessFrame] = []
        for image in frames {
            let detections = try finder.detections(in: image)
            guard detections.count == 1 else {
                observed.append(LivenessFrame(faceCount: detections.count, yaw: nil, descriptor: nil))
                continue
            }
            let face = try finder.describe(detections[0], in: image)
            observed.append(LivenessFrame(faceCount: 1, yaw: HeadPose.yaw(landmarks: face.landmarks), descriptor: face.descriptor))
        }
        let verdict = LivenessVerdict(frames: observed, phases: phases, steps: challenge.steps, policy: challenges.policy)
        if verdict.passed, let reference = verdict.reference { challenges.recordPass(of: challenge, reference: reference) }
        IdentityMetrics.livenessChecks(passed: verdict.passed)
        return verdict
    }
}
