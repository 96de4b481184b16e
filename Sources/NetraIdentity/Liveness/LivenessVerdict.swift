import NetraDescriptor

/// What one answered frame showed: how many faces, and for a single face its yaw and descriptor.
public struct LivenessFrame: Sendable {
    /// Faces the detector found in the frame.
    public let faceCount: Int
    /// The head's yaw (`HeadPose.yaw`) when the frame shows exactly one face.
    public let yaw: Double?
    /// The face's descriptor when the frame shows exactly one face.
    public let descriptor: FaceDescriptor?

    public init(faceCount: Int, yaw: Double?, descriptor: FaceDescriptor?) {
        self.faceCount = faceCount
        self.yaw = yaw
        self.descriptor = descriptor
    }
}

/// The outcome of an answered challenge: passed, or failed with every reason found.
public struct LivenessVerdict: Sendable {
    public let passed: Bool
    /// Why it failed, one sentence per broken rule (empty when passed).
    public let reasons: [String]
    /// Per frame, the faces seen, the yaw and the distance to the first frame's face.
    public let frames: [Frame]
    /// The person who passed (the first frame's face), to match the face then enrolled or verified.
    public let reference: FaceDescriptor?

    /// One frame as judged.
    public struct Frame: Sendable {
        /// Faces the detector found.
        public let faceCount: Int
        /// The head's yaw, for a frame with exactly one face.
        public let yaw: Double?
        /// Descriptor distance to the first frame's face.
        public let distance: Float?
    }

    /// Judges frames against the steps asked for. Each frame comes with its phase, the
    /// instruction on screen when it was captured: 0 "look at the camera", then 1 for
    /// `steps[0]`, 2 for `steps[1]`, ... (non-decreasing, every phase present; see
    /// `LivenessChecker.checkAnswer`). The rules:
    /// - exactly one face in every frame, the same person throughout (each frame within
    ///   `policy.maxDistance` of the first);
    /// - facing the camera during phase 0 (a frame with |yaw| below `policy.turnYaw`);
    /// - during each step, the head turned the asked way (a frame at `policy.turnYaw` or beyond),
    ///   and once turned, not the other way before the step ends. Frames before the turn may
    ///   still show the previous step's turn: people take a moment to follow. A video that turns
    ///   both ways over and over, whatever was asked, fails.
    public init(frames: [LivenessFrame], phases: [Int], steps: [HeadTurn], policy: LivenessPolicy) {
        var reasons: [String] = []
        for (index, frame) in frames.enumerated() where frame.faceCount != 1 {
            reasons.append(frame.faceCount == 0 ? "frame \(index + 1) shows no face" : "frame \(index + 1) shows \(frame.faceCount) faces")
        }
        let reference = frames.first(where: { $0.faceCount == 1 })?.descriptor
        var judged: [Frame] = []
        var strangers: [Int] = []
        for (index, frame) in frames.enumerated() {
            var distance: Float?
            if frame.faceCount == 1, let reference, let descriptor = frame.descriptor { distance = reference.distance(to: descriptor) }
            if let distance, distance > policy.maxDistance { strangers.append(index + 1) }
            judged.append(Frame(faceCount: frame.faceCount, yaw: frame.faceCount == 1 ? frame.yaw : nil, distance: distance))
        }
        if !strangers.isEmpty {
            let listed = strangers.prefix(5).map(String.init).joined(separator: ", ")
            reasons.append("a different person appears in frame\(strangers.count == 1 ? "" : "s") \(listed)")
        }
        let yaws = { (phase: Int) in zip(judged, phases).filter { $0.1 == phase }.compactMap(\.0.yaw) }
        if !yaws(0).contains(where: { abs($0) < policy.turnYaw }) {
            reasons.append("the head did not face the camera at the start")
        }
        for (index, step) in steps.enumerated() {
            let seen = yaws(index + 1)
            guard let turned = seen.firstIndex(where: { step.isMet(byYaw: $0, threshold: policy.turnYaw) }) else {
                reasons.append("step \(index + 1): the head did not turn \(step.rawValue)")
                continue
            }
            if seen[turned...].contains(where: { step.opposite.isMet(byYaw: $0, threshold: policy.turnYaw) }) {
                reasons.append("step \(index + 1): the head turned \(step.opposite.rawValue) when asked to turn \(step.rawValue)")
            }
        }
        passed = reasons.isEmpty
        self.reasons = reasons
        self.frames = judged
        self.reference = reference
    }
}
