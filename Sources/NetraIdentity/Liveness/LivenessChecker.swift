import NetraImaging

/// The active liveness check as a use case: issue a challenge, judge the frames that answer it,
/// and let a passed check allow one enrollment or verification of the same person.
public struct LivenessChecker: Sendable {
    public let finder: FaceFinder
    public let challenges: LivenessChallenges

    public init(finder: FaceFinder, challenges: LivenessChallenges) {
        self.finder = finder
        self.challenges = challenges
    }

    /// Why frames cannot be judged at all (as opposed to a failed check).
    public enum FrameCountError: Error, Sendable, Equatable {
        case tooFew(minimum: Int)
        case tooMany(maximum: Int)
    }

    /// Checks the number of frames before any is decoded.
    public func checkFrameCount(_ count: Int) throws(FrameCountError) {
        let policy = challenges.policy
        if count < policy.minFrames { throw .tooFew(minimum: policy.minFrames) }
        if count > policy.maxFrames { throw .tooMany(maximum: policy.maxFrames) }
    }

    /// Judges `frames` (in capture order) as the answer to `challenge`, taken with
    /// `LivenessChallenges.take`; a pass is recorded for one later use.
    public func judge(_ frames: [RGBImage], answering challenge: LivenessChallenge) throws(IdentityError) -> LivenessVerdict {
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
        let verdict = LivenessVerdict(frames: observed, steps: challenge.steps, policy: challenges.policy)
        if verdict.passed, let reference = verdict.reference { challenges.recordPass(of: challenge, reference: reference) }
        IdentityMetrics.livenessChecks(passed: verdict.passed)
        return verdict
    }
}
