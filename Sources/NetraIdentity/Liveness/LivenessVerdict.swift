import NetraDescriptor

/// What one answered frame showed: how many faces, and for a single face its yaw and descriptor.
public struct LivenessFrame: Sendable {
    public let faceCount: Int
    public let yaw: Double?
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
    public let reasons: [String]
    /// Per frame, the faces seen, the yaw and the distance to the first frame's face.
    public let frames: [Frame]
    /// The person who passed (the first frame's face), to match the face then enrolled or verified.
    public let reference: FaceDescriptor?

    public struct Frame: Sendable {
        public let faceCount: Int
        public let yaw: Double?
        public let distance: Float?
    }

    /// Judges frames against the steps asked for: exactly one face in every frame, the same
    /// person throughout (each frame within `policy.maxDistance` of the first), and each turn
    /// seen in order (a frame turned the first way, then a later frame turned the second way).
    public init(frames: [LivenessFrame], steps: [HeadTurn], policy: LivenessPolicy) {
        var reasons: [String] = []
        for (index, frame) in frames.enumerated() where frame.faceCount != 1 {
            reasons.append(frame.faceCount == 0 ? "frame \(index + 1) shows no face" : "frame \(index + 1) shows \(frame.faceCount) faces")
        }
        let reference = frames.first(where: { $0.faceCount == 1 })?.descriptor
        var judged: [Frame] = []
        var strangers: [Int] = []
        for (index, frame) in frames.enumerated() {
            let distance = frame.faceCount == 1 ? zip(reference, frame.descriptor).map { $0.distance(to: $1) } : nil
            if let distance, distance > policy.maxDistance { strangers.append(index + 1) }
            judged.append(Frame(faceCount: frame.faceCount, yaw: frame.faceCount == 1 ? frame.yaw : nil, distance: distance))
        }
        if !strangers.isEmpty {
            let listed = strangers.prefix(5).map(String.init).joined(separator: ", ")
            reasons.append("a different person appears in frame\(strangers.count == 1 ? "" : "s") \(listed)")
        }
        var next = 0
        for (position, step) in steps.enumerated() {
            let found = judged[next...].firstIndex { $0.yaw.map { step.isMet(byYaw: $0, threshold: policy.turnYaw) } ?? false }
            guard let found else {
                reasons.append(position == 0 ? "the head did not turn \(step.rawValue)"
                                             : "the head did not turn \(step.rawValue) after turning \(steps[position - 1].rawValue)")
                break
            }
            next = found + 1
            if next >= judged.count, position + 1 < steps.count {
                reasons.append("the head did not turn \(steps[position + 1].rawValue) after turning \(step.rawValue)")
                break
            }
        }
        passed = reasons.isEmpty
        self.reasons = reasons
        self.frames = judged
        self.reference = reference
    }
}

/// Both values when both are there.
private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
