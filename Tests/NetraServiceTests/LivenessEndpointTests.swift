import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraService
import NetraStore
import NetraTestSupport
import Testing

/// The liveness API on real photos, and console enrollment and verify that require a pass
/// (the hand-labelled turns of `LivenessPhotoTests`).
@Suite("Liveness over HTTP", .tags(.model))
struct LivenessEndpointTests {
    static let folder = "public/images/face_recognition/"
    static let frontal = Body.image(folder + "test_obama.jpg"), left = Body.image(folder + "knn_test_obama1.jpg")
    static let right = Body.image(folder + "test_obama2.jpg"), stranger = Body.image(folder + "knn_test_alex_lacamoire1.jpg")
    static let obamaAgain = Body.image(folder + "obama-480p.jpg")
    /// The challenges' lifetime here: the whole suite runs at once on two cores, where eight
    /// frames can wait tens of seconds for a worker (the 30 s default is tested in LivenessChallengeTests).
    static let underLoad = 300.0

    /// A challenge's id and steps.
    static func challenge(_ client: any TestClientProtocol, _ headers: HTTPFields) async throws -> (id: String, steps: [String]) {
        try await client.execute(uri: "/api/v1/liveness/challenges", method: .post, headers: headers) { response in
            #expect(response.status == .created)
            return (try #require(response.json["id"] as? String), try #require(response.json["steps"] as? [String]))
        }
    }

    /// Frames that turn the way `steps` asks: two facing the camera, then three per step (the
    /// first still showing the previous instruction's pose, as people lag).
    static func frames(following steps: [String]) -> [String: [UInt8]] {
        let turn = ["left": left, "right": right]
        let first = turn[steps[0]]!, second = turn[steps[1]]!
        return numbered([frontal, frontal, frontal, first, first, first, second, second])
    }

    static let phases = "0,0,1,1,1,2,2,2"

    static func numbered(_ images: [[UInt8]]) -> [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: images.enumerated().map { ("frame\($0)", $1) })
    }

    static func answer(_ client: any TestClientProtocol, _ id: String, frames: [String: [UInt8]], phases: String = phases,
                       _ headers: HTTPFields) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = Body.multipartType
        return try await client.execute(uri: "/api/v1/liveness/challenges/\(id)", method: .post, headers: headers,
                                        body: Body.multipart(files: frames, fields: ["phases": phases])) { $0 }
    }

    @Test("a challenge is passed by the same person turning as asked, once; a still photo fails; bad answers are 4xx", .offCooperativePool)
    func challenges() async throws {
        let fixture = try ServiceFixture(models: .real) {
            $0.requireAPIKey = true
            $0.liveness.challengeSeconds = Self.underLoad
        }
        let key = try fixture.store.createAPIKey(name: "door", scopes: [.recognize]).key
        let other = try fixture.store.createAPIKey(name: "other", scopes: [.recognize]).key
        let headers: HTTPFields = [ConsoleEndpointTests.keyField: key]
        try await fixture.test { client in
            let first = try await Self.challenge(client, headers)
            let passed = try await Self.answer(client, first.id, frames: Self.frames(following: first.steps), headers)
            #expect(passed.json["passed"] as? Bool == true, "\(passed.json)")
            #expect(passed.json["valid_for"] as? Int == 120)
            #expect((passed.json["frames"] as? [[String: Any]])?.count == 8)
            let again = try await Self.answer(client, first.id, frames: Self.frames(following: first.steps), headers)
            #expect(again.status == .conflict && again.errorCode == "challenge_used")

            let still = try await Self.challenge(client, headers)
            let photo = Self.numbered(Array(repeating: Self.frontal, count: 8))
            let failed = try await Self.answer(client, still.id, frames: photo, headers)
            #expect(failed.status == .ok && failed.json["passed"] as? Bool == false)
            #expect(failed.json["reasons"] as? [String] == ["step 1: the head did not turn \(still.steps[0])",
                                                              "step 2: the head did not turn \(still.steps[1])"])

            let third = try await Self.challenge(client, headers)
            let few = try await Self.answer(client, third.id, frames: Self.numbered([Self.frontal, Self.frontal]), phases: "0,1", headers)
            #expect(few.status == .badRequest && few.errorCode == "too_few_frames")
            let unordered = try await Self.answer(client, third.id, frames: photo, phases: "0,0,2,2,1,1,2,2", headers)
            #expect(unordered.status == .badRequest && unordered.errorCode == "invalid_phases")
            let theirs = try await Self.answer(client, third.id, frames: photo, [ConsoleEndpointTests.keyField: other])
            #expect(theirs.status == .notFound && theirs.errorCode == "challenge_not_found", "only its caller may answer it")
            let unknown = try await Self.answer(client, "0000", frames: photo, headers)
            #expect(unknown.errorCode == "challenge_not_found")
            var broken = photo
            broken["frame3"] = Array("not an image".utf8)
            let garbage = try await Self.answer(client, third.id, frames: broken, headers)
            #expect(garbage.status == .unprocessableContent && garbage.errorCode == "not_an_image", "\(garbage.json)")
            let answered = try await Self.answer(client, third.id, frames: Self.frames(following: third.steps), headers)
            #expect(answered.json["passed"] as? Bool == true, "refused answers leave the challenge answerable: \(answered.json)")
        }
    }

    @Test("a challenge and its pass belong to the console session that asked, not to every holder of its key", .offCooperativePool)
    func sessionsOfOneKey() async throws {
        let fixture = try ServiceFixture(models: .real) {
            $0.requireAPIKey = true
            $0.liveness.challengeSeconds = Self.underLoad
        }
        let key = try fixture.store.createAPIKey(name: "reception", scopes: [.recognize, .manage]).key
        try await fixture.test { client in
            let mine = try await ConsoleEndpointTests.signIn(client, key: key)
            let theirs = try await ConsoleEndpointTests.signIn(client, key: key)
            let myHeaders: HTTPFields = [ConsoleEndpointTests.cookieField: mine.cookie, ConsoleEndpointTests.csrfField: mine.csrf]
            let theirHeaders: HTTPFields = [ConsoleEndpointTests.cookieField: theirs.cookie, ConsoleEndpointTests.csrfField: theirs.csrf]
            let challenge = try await Self.challenge(client, myHeaders)
            for headers in [theirHeaders, [ConsoleEndpointTests.keyField: key]] {
                let answer = try await Self.answer(client, challenge.id, frames: Self.frames(following: challenge.steps), headers)
                #expect(answer.errorCode == "challenge_not_found")
            }
            let answer = try await Self.answer(client, challenge.id, frames: Self.frames(following: challenge.steps), myHeaders)
            #expect(answer.json["passed"] as? Bool == true, "\(answer.json)")
            var enroll = theirHeaders
            enroll[.contentType] = Body.multipartType
            try await client.execute(uri: "/api/v1/enroll", method: .post, headers: enroll,
                                     body: Body.multipart(files: ["image": Self.obamaAgain], fields: ["name": "Barack", "liveness_challenge": challenge.id])) {
                #expect($0.errorCode == "challenge_not_found", "another session cannot spend the pass")
            }
        }
    }

    @Test("with liveness required, console enrollment needs a pass of the same person; API keys are not asked", .offCooperativePool)
    func requiredForEnrollAndVerify() async throws {
        let fixture = try ServiceFixture(models: .real) {
            $0.requireAPIKey = true
            $0.liveness.challengeSeconds = Self.underLoad
            $0.liveness.requiredForEnroll = true
            $0.liveness.requiredForVerify = true
        }
        let key = try fixture.store.createAPIKey(name: "reception", scopes: [.recognize, .manage]).key
        try await fixture.test { client in
            let session = try await ConsoleEndpointTests.signIn(client, key: key)
            let console: HTTPFields = [ConsoleEndpointTests.cookieField: session.cookie, ConsoleEndpointTests.csrfField: session.csrf]
            func enroll(_ image: [UInt8], fields: [String: String], _ headers: HTTPFields) async throws -> TestResponse {
                var headers = headers
                headers[.contentType] = Body.multipartType
                return try await client.execute(uri: "/api/v1/enroll", method: .post, headers: headers,
                                                body: Body.multipart(files: ["image": image], fields: fields)) { $0 }
            }
            let refused = try await enroll(Self.obamaAgain, fields: ["name": "Barack"], console)
            #expect(refused.status == .forbidden && refused.errorCode == "liveness_required", "\(refused.json)")

            let challenge = try await Self.challenge(client, console)
            let answer = try await Self.answer(client, challenge.id, frames: Self.frames(following: challenge.steps), console)
            #expect(answer.json["passed"] as? Bool == true)
            let mismatch = try await enroll(Self.stranger, fields: ["name": "Alex", "liveness_challenge": challenge.id], console)
            #expect(mismatch.status == .unprocessableContent && mismatch.errorCode == "liveness_mismatch", "\(mismatch.json)")
            let used = try await enroll(Self.obamaAgain, fields: ["name": "Barack", "liveness_challenge": challenge.id], console)
            #expect(used.errorCode == "challenge_used", "a pass is used up by the attempt")

            let second = try await Self.challenge(client, console)
            let secondAnswer = try await Self.answer(client, second.id, frames: Self.frames(following: second.steps), console)
            #expect(secondAnswer.json["passed"] as? Bool == true, "\(secondAnswer.json)")
            let enrolled = try await enroll(Self.obamaAgain, fields: ["name": "Barack", "liveness_challenge": second.id], console)
            #expect(enrolled.status == .created, "\(enrolled.json)")
            #expect(try fixture.store.subjectCount() == 1, "the refused attempts stored nothing")

            let machine = try await enroll(Self.stranger, fields: ["name": "Alex"], [ConsoleEndpointTests.keyField: key])
            #expect(machine.status == .created, "an API key caller is not asked for liveness")

            var verifyHeaders = console
            verifyHeaders[.contentType] = Body.multipartType
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: verifyHeaders,
                                     body: Body.multipart(files: ["image1": Self.obamaAgain, "image2": Self.frontal])) {
                #expect($0.errorCode == "liveness_required")
            }
            let third = try await Self.challenge(client, console)
            let thirdAnswer = try await Self.answer(client, third.id, frames: Self.frames(following: third.steps), console)
            #expect(thirdAnswer.json["passed"] as? Bool == true, "\(thirdAnswer.json)")
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: verifyHeaders,
                                     body: Body.multipart(files: ["image1": Self.obamaAgain, "image2": Self.frontal],
                                                          fields: ["liveness_challenge": third.id])) { response in
                #expect(response.status == .ok && response.json["is_match"] as? Bool == true, "\(response.json)")
            }
        }
    }
}
