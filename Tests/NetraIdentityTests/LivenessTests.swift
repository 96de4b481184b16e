import Foundation
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraTestSupport
import NetraVision
import Testing

/// The head's yaw from the five landmarks, and the rules a liveness answer is judged by.
@Suite("Liveness: head pose and verdicts", .tags(.unit))
struct LivenessRuleTests {
    /// Five landmarks in dlib's order: the eye on the image's right (outer, inner), the eye on
    /// the image's left (outer, inner), the nose base; eyes 100 px apart, the nose `noseShift` px
    /// right of their midpoint.
    static func face(noseShift: Int = 0, scale: Int = 1) -> [PixelPoint] {
        [PixelPoint(x: 320 * scale, y: 200 * scale), PixelPoint(x: 280 * scale, y: 200 * scale),
         PixelPoint(x: 180 * scale, y: 200 * scale), PixelPoint(x: 220 * scale, y: 200 * scale),
         PixelPoint(x: (250 + noseShift) * scale, y: 260 * scale)]
    }

    @Test("yaw is 0 when frontal, positive when the nose moves to the image's right, in inter-eye distances whatever the size", .offCooperativePool)
    func yawSignAndScale() throws {
        #expect(try #require(HeadPose.yaw(landmarks: Self.face())) == 0)
        #expect(try #require(HeadPose.yaw(landmarks: Self.face(noseShift: 20))) == 0.2)
        #expect(try #require(HeadPose.yaw(landmarks: Self.face(noseShift: -30))) == -0.3)
        #expect(try #require(HeadPose.yaw(landmarks: Self.face(noseShift: 20, scale: 3))) == 0.2)
        #expect(HeadPose.yaw(landmarks: Array(Self.face().prefix(4))) == nil)
    }

    @Test("a tilted head is not a turn, and a flat photo turned in front of the camera keeps its yaw", .offCooperativePool)
    func rollAndFlatPhoto() throws {
        let turned = Self.face(noseShift: 20)
        let angle = 0.4
        let rolled = turned.map { point in
            let (x, y) = (Double(point.x - 250), Double(point.y - 200))
            return PixelPoint(x: 1000 + Int((x * cos(angle) - y * sin(angle)).rounded()), y: 1000 + Int((x * sin(angle) + y * cos(angle)).rounded()))
        }
        #expect(abs(try #require(HeadPose.yaw(landmarks: rolled)) - 0.2) < 0.02)
        // A print turned about its vertical axis is squeezed sideways: the nose's offset and the
        // eye distance shrink together.
        let squeezed = turned.map { PixelPoint(x: 250 + ($0.x - 250) / 2, y: $0.y) }
        #expect(try #require(HeadPose.yaw(landmarks: squeezed)) == 0.2)
    }

    static let person = FaceDescriptor(values: (0..<128).map { Float($0 % 5) / 40 })
    static let stranger = FaceDescriptor(values: (0..<128).map { Float(($0 + 2) % 5) / 40 })

    static func frames(_ yaws: [Double], who: [FaceDescriptor]? = nil) -> [LivenessFrame] {
        yaws.enumerated().map { index, yaw in LivenessFrame(faceCount: 1, yaw: yaw, descriptor: who?[index] ?? person) }
    }

    /// Two frames facing the camera, then three per step with the given yaws.
    static let phases = [0, 0, 1, 1, 1, 2, 2, 2]

    static func verdict(_ yaws: [Double], _ steps: [HeadTurn], who: [FaceDescriptor]? = nil) -> LivenessVerdict {
        LivenessVerdict(frames: frames(yaws, who: who), phases: phases, steps: steps, policy: LivenessPolicy())
    }

    @Test("each turn must be made while it is asked, and not undone the other way; people may lag a frame", .offCooperativePool)
    func verdicts() {
        let (person, stranger) = (Self.person, Self.stranger)
        #expect(person.distance(to: stranger) > LivenessPolicy().maxDistance)
        let following = [0, 0.02, 0, 0.2, 0.25, 0.18, -0.2, -0.2]
        #expect(Self.verdict(following, [.left, .right]).passed, "the first frame of step 2 still shows step 1's turn")
        #expect(Self.verdict(following, [.right, .left]).reasons
            == ["step 1: the head did not turn right", "step 2: the head turned right when asked to turn left"])
        #expect(Self.verdict(Array(repeating: 0.02, count: 8), [.left, .right]).reasons
            == ["step 1: the head did not turn left", "step 2: the head did not turn right"])
        #expect(!Self.verdict([0, 0, 0, 0.09, 0, 0, -0.09, 0], [.left, .right]).passed, "a turn below the threshold is not a turn")
        #expect(Self.verdict([0.2, 0.2, 0, 0.2, 0, 0, -0.2, 0], [.left, .right]).reasons == ["the head did not face the camera at the start"])
        // A video that turns both ways over and over, whatever was asked, fails either order.
        let alternating = [0, 0, 0.2, -0.2, 0.2, -0.2, 0.2, -0.2]
        #expect(Self.verdict(alternating, [.left, .right]).reasons
            == ["step 1: the head turned right when asked to turn left", "step 2: the head turned left when asked to turn right"])
        #expect(!Self.verdict(alternating, [.right, .left]).passed)

        var frames = Self.frames(following)
        frames[1] = LivenessFrame(faceCount: 0, yaw: nil, descriptor: nil)
        frames[5] = LivenessFrame(faceCount: 2, yaw: nil, descriptor: nil)
        let crowded = LivenessVerdict(frames: frames, phases: Self.phases, steps: [.left, .right], policy: LivenessPolicy())
        #expect(crowded.reasons == ["frame 2 shows no face", "frame 6 shows 2 faces"])

        let switched = Self.verdict(following, [.left, .right], who: Array(repeating: person, count: 5) + Array(repeating: stranger, count: 3))
        #expect(switched.reasons == ["a different person appears in frames 6, 7, 8"])
        #expect(switched.frames[7].distance == person.distance(to: stranger))
    }

    @Test("an answer's frames and phases are checked before anything is decoded", .offCooperativePool)
    func answerShape() throws {
        let checker = LivenessChecker(finder: FaceFinder(analyzer: StubAnalyzer()), challenges: LivenessChallenges())
        try checker.checkAnswer(frameCount: 8, phases: Self.phases)
        #expect(throws: LivenessChecker.AnswerError.tooFewFrames(minimum: 6)) { try checker.checkAnswer(frameCount: 3, phases: [0, 1, 2]) }
        #expect(throws: LivenessChecker.AnswerError.tooManyFrames(maximum: 24)) {
            try checker.checkAnswer(frameCount: 25, phases: Array(repeating: 0, count: 23) + [1, 2])
        }
        for phases in [[0, 0, 1, 1, 1, 2, 2], [1, 1, 1, 1, 2, 2, 2, 2], [0, 0, 2, 2, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1, 1, 1],
                       [0, 0, 1, 1, 3, 3, 3, 3], [0, 0, 1, 1, -1, 2, 2, 2]] {
            #expect(throws: LivenessChecker.AnswerError.invalidPhases, "\(phases)") { try checker.checkAnswer(frameCount: 8, phases: phases) }
        }
    }
}

@Suite("Liveness: challenges and passes", .tags(.unit))
struct LivenessChallengeTests {
    @Test("a challenge asks both turns, is answered once, by its caller, in its 30 s", .offCooperativePool)
    func singleUseAndExpiring() throws {
        let challenges = LivenessChallenges()
        let start = Date()
        let challenge = challenges.issue(to: "key:a", now: start)
        #expect(Set(challenge.steps) == [.left, .right] && challenge.steps.count == 2)
        #expect(challenge.id.count == 32)
        #expect(throws: LivenessError.notFound) { try challenges.take(challenge.id, by: "key:b", now: start) }
        #expect(try challenges.take(challenge.id, by: "key:a", now: start.addingTimeInterval(29)) == challenge)
        #expect(throws: LivenessError.used) { try challenges.take(challenge.id, by: "key:a", now: start) }
        let late = challenges.issue(to: "key:a", now: start)
        #expect(throws: LivenessError.expired) { try challenges.take(late.id, by: "key:a", now: start.addingTimeInterval(31)) }
        #expect(throws: LivenessError.notFound) { try challenges.take("0123", by: "key:a", now: start) }
        let orders = Set((0..<64).map { _ in challenges.issue(to: "key:c").steps })
        #expect(orders.count == 2, "both orders are asked")
    }

    @Test("a pass allows one use, for the same person, by the same caller, for 120 s", .offCooperativePool)
    func passes() throws {
        let challenges = LivenessChallenges()
        let person = LivenessRuleTests.person, stranger = LivenessRuleTests.stranger
        func passed(_ owner: String = "key:a", at now: Date = Date()) throws -> String {
            let challenge = challenges.issue(to: owner, now: now)
            _ = try challenges.take(challenge.id, by: owner, now: now)
            challenges.recordPass(of: challenge, reference: person, now: now)
            return challenge.id
        }
        let id = try passed()
        try challenges.consumePass(id, by: "key:a", for: person)
        #expect(throws: LivenessError.used) { try challenges.consumePass(id, by: "key:a", for: person) }
        let other = try passed()
        #expect(throws: LivenessError.notFound) { try challenges.consumePass(other, by: "key:b", for: person) }
        let strangerPass = try passed()
        #expect(throws: LivenessError.differentPerson(distance: person.distance(to: stranger))) {
            try challenges.consumePass(strangerPass, by: "key:a", for: stranger)
        }
        #expect(throws: LivenessError.used, "a pass tried against the wrong face is used up") {
            try challenges.consumePass(strangerPass, by: "key:a", for: person)
        }
        let old = try passed(at: Date().addingTimeInterval(-121))
        #expect(throws: LivenessError.expired) { try challenges.consumePass(old, by: "key:a", for: person) }
        let requirement = LivenessRequirement(challenges: challenges, passID: try passed(), owner: "key:a")
        try requirement.check(person)
        #expect(throws: LivenessError.used) { try requirement.check(person) }
    }
}

@Suite("Liveness: settings", .tags(.unit))
struct LivenessSettingsTests {
    @Test("a turn threshold a photo could meet, or a check required where callers are unknown, is refused at start", .offCooperativePool)
    func rules() throws {
        var liveness = NetraConfiguration.Liveness()
        try DeploymentRules.checkLiveness(liveness, requireAPIKey: false)
        for yaw in [0, 0.01, 0.9] {
            liveness.turnYaw = yaw
            #expect(throws: ConfigurationError.self, "\(yaw)") { try DeploymentRules.checkLiveness(liveness, requireAPIKey: true) }
        }
        liveness.turnYaw = 0.1
        for seconds in [5.0, 600] {
            liveness.challengeSeconds = seconds
            #expect(throws: ConfigurationError.self, "\(seconds) s") { try DeploymentRules.checkLiveness(liveness, requireAPIKey: true) }
        }
        liveness.challengeSeconds = 30
        liveness.requiredForVerify = true
        #expect(throws: ConfigurationError.self) { try DeploymentRules.checkLiveness(liveness, requireAPIKey: false) }
        try DeploymentRules.checkLiveness(liveness, requireAPIKey: true)
    }

    @Test("a console session must last a finite, sensible time", .offCooperativePool)
    func sessionHours() throws {
        var console = NetraConfiguration.Console()
        try DeploymentRules.checkConsole(console)
        for hours in [0, -1, 1e300, .infinity, 1000] {
            console.sessionHours = hours
            #expect(throws: ConfigurationError.self, "\(hours) h") { try DeploymentRules.checkConsole(console) }
        }
    }
}

/// Real photos as frames: the public set holds no video, so a "turn" is a photo of the same
/// person with the head visibly turned (hand-labelled): Barack Obama in `knn_test_obama1.jpg`
/// turned to his left (nose towards the image's right), in `test_obama2.jpg` to his right,
/// frontal in `test_obama.jpg`.
@Suite("Liveness on real photos", .tags(.model))
struct LivenessPhotoTests {
    static let folder = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition")
    static let (frontal, left, right, stranger) = ("test_obama.jpg", "knn_test_obama1.jpg", "test_obama2.jpg", "knn_test_alex_lacamoire1.jpg")

    static func image(_ name: String) throws -> RGBImage {
        try ImageDecoder().decode(contentsOf: folder.appendingPathComponent(name))
    }

    /// Judges photos as frames: two facing the camera, then three per step.
    func judge(_ names: [String], steps: [HeadTurn]) throws -> LivenessVerdict {
        let challenges = LivenessChallenges()
        let checker = LivenessChecker(finder: FaceFinder(analyzer: try TestModels.analyzer()), challenges: challenges)
        let images = try names.map(Self.image)
        var challenge = challenges.issue(to: "key:test")
        while challenge.steps != steps { challenge = challenges.issue(to: "key:test") }
        return try checker.judge(images, phases: LivenessRuleTests.phases, answering: try challenges.take(challenge.id, by: "key:test"))
    }

    @Test("the landmarks' yaw tells the hand-labelled turns apart: frontal within the threshold, turned beyond it", .offCooperativePool)
    func yawOfLabelledPhotos() throws {
        let analyzer = try TestModels.analyzer()
        func yaw(_ name: String) throws -> Double {
            let face = try #require(try TestModels.face(of: Self.image(name), analyzer: analyzer))
            return try #require(HeadPose.yaw(landmarks: face.landmarks))
        }
        let threshold = LivenessPolicy().turnYaw
        #expect(abs(try yaw(Self.frontal)) < threshold)
        #expect(try yaw(Self.left) > threshold)
        #expect(try yaw(Self.right) < -threshold)
    }

    @Test("the same person turning as asked passes; the other order, a still photo and a change of person fail", .offCooperativePool)
    func sequences() throws {
        let (f, l, r) = (Self.frontal, Self.left, Self.right)
        let following = [f, f, f, l, l, l, r, r]
        let passed = try judge(following, steps: [.left, .right])
        #expect(passed.passed, "\(passed.reasons)")
        #expect(try judge(following, steps: [.right, .left]).reasons
            == ["step 1: the head did not turn right", "step 2: the head turned right when asked to turn left"])
        let still = try judge(Array(repeating: f, count: 8), steps: [.left, .right])
        #expect(still.reasons == ["step 1: the head did not turn left", "step 2: the head did not turn right"])
        let switched = try judge([f, f, f, l, l, l, r, Self.stranger], steps: [.left, .right])
        #expect(switched.reasons == ["a different person appears in frame 8"])
    }
}
