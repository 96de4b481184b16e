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

    /// A challenge's id and steps.
    static func challenge(_ client: any TestClientProtocol, _ headers: HTTPFields) async throws -> (id: String, steps: [String]) {
        try await client.execute(uri: "/api/v1/liveness/challenges", method: .post, headers: headers) { response in
            #expect(response.status == .created)
            return (try #require(response.json["id"] as? String), try #require(response.json["steps"] as? [String]))
        }
    }

    /// Frames that turn the way `steps` asks.
    static func frames(following steps: [String]) -> [String: [UInt8]] {
        let turn = ["left": left, "right": right]
        let sequence = [frontal, frontal, turn[steps[0]]!, turn[steps[0]]!, frontal, turn[steps[1]]!, turn[steps[1]]!, frontal]
        return Dictionary(uniqueKeysWithValues: sequence.enumerated().map { ("frame\($0)", $1) })
    }

    static func answer(_ client: any TestClientProtocol, _ id: String, frames: [String: [UInt8]], _ headers: HTTPFields) async throws -> TestResponse {
        var headers = headers
        headers[.contentType] = Body.multipartType
        return try await client.execute(uri: "/api/v1/liveness/challenges/\(id)", method: .post, headers: headers,
                                        body: Body.multipart(files: frames)) { $0 }
    }

    @Test("a challenge is passed by the same person turning as asked, once; a still photo fails; bad answers are 4xx")
    func challenges() async throws {
        let fixture = try ServiceFixture(models: .real) { $0.requireAPIKey = true }
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
            let photo = Dictionary(uniqueKeysWithValues: (0..<6).map { ("frame\($0)", Self.frontal) })
            let failed = try await Self.answer(client, still.id, frames: photo, headers)
            #expect(failed.status == .ok && failed.json["passed"] as? Bool == false)
            #expect(failed.json["reasons"] as? [String] == ["the head did not turn \(still.steps[0])"])

            let third = try await Self.challenge(client, headers)
            let few = try await Self.answer(client, third.id, frames: ["frame0": Self.frontal, "frame1": Self.frontal], headers)
            #expect(few.status == .badRequest && few.errorCode == "too_few_frames")
            let theirs = try await Self.answer(client, third.id, frames: photo, [ConsoleEndpointTests.keyField: other])
            #expect(theirs.status == .notFound && theirs.errorCode == "challenge_not_found", "only its caller may answer it")
            let unknown = try await Self.answer(client, "0000", frames: photo, headers)
            #expect(unknown.errorCode == "challenge_not_found")
            var broken = photo
            broken["frame3"] = Array("not an image".utf8)
            let garbage = try await Self.answer(client, third.id, frames: broken, headers)
            #expect(garbage.status.code / 100 == 4, "\(garbage.json)")
        }
    }

    @Test("with liveness required, console enrollment needs a pass of the same person; API keys are not asked")
    func requiredForEnrollAndVerify() async throws {
        let fixture = try ServiceFixture(models: .real) {
            $0.requireAPIKey = true
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
            #expect(mismatch.status == .badRequest && mismatch.errorCode == "liveness_mismatch", "\(mismatch.json)")
            let used = try await enroll(Self.obamaAgain, fields: ["name": "Barack", "liveness_challenge": challenge.id], console)
            #expect(used.errorCode == "challenge_used", "a pass is used up by the attempt")

            let second = try await Self.challenge(client, console)
            _ = try await Self.answer(client, second.id, frames: Self.frames(following: second.steps), console)
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
            _ = try await Self.answer(client, third.id, frames: Self.frames(following: third.steps), console)
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: verifyHeaders,
                                     body: Body.multipart(files: ["image1": Self.obamaAgain, "image2": Self.frontal],
                                                          fields: ["liveness_challenge": third.id])) { response in
                #expect(response.status == .ok && response.json["is_match"] as? Bool == true, "\(response.json)")
            }
        }
    }
}
