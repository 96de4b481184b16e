import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraIdentity
@testable import NetraService
import NetraStore
import NetraTestSupport
import Testing

/// The DeepStack face API as its clients call it (docs/compatibility.md): Double Take and Home
/// Assistant's bodies, DeepStack's exact answers and error texts, NETRA's keys and collections.
/// The real models run only where the answer is about faces, on few images.
@Suite("DeepStack-compatible API")
struct DeepStackEndpointTests {
    // Small files where they do: a debug build parses a multipart body at about 1 ms per kB.
    static let obamaSmall = Body.image("public/images/face_recognition/obama_small.jpg")
    static let obama2 = RecognitionEndpointTests.obama2
    static let obama3 = Body.image("public/images/face_recognition/test_obama3.jpg")
    static let biden = RecognitionEndpointTests.biden
    static let dogs = Body.image("multi/images/dlib_dogs.jpg")
    /// Three large faces (multi/ground_truth.csv).
    static let group = Body.image("multi/images/dlib_2008_002506.jpg")
    static let obamaAndBiden = Body.image("multi/images/fr_obama_and_biden.jpg")

    static let urlencodedHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// POSTs a multipart form to `/v1/vision/face<route>` (with at least one part: a form of
    /// none is no valid multipart body, and clients send none).
    static func post(_ client: some TestClientProtocol, _ route: String, files: [String: [UInt8]] = [:], fields: [String: String] = [:],
                     _ check: @escaping (TestResponse) throws -> Void) async throws {
        try await client.execute(uri: "/v1/vision/face" + route, method: .post, headers: multipartHeaders,
                                 body: Body.multipart(files: files, fields: fields)) { try check($0) }
    }

    /// POSTs an urlencoded form (`requests.post(url, data=...)`, as the Python SDKs send list and delete).
    static func postURLEncoded(_ client: some TestClientProtocol, _ route: String, _ form: String,
                               _ check: @escaping (TestResponse) throws -> Void) async throws {
        try await client.execute(uri: "/v1/vision/face" + route, method: .post, headers: urlencodedHeaders,
                                 body: ByteBuffer(string: form)) { try check($0) }
    }

    static func predictions(_ response: TestResponse) -> [[String: Any]] {
        response.json["predictions"] as? [[String: Any]] ?? []
    }

    // MARK: Faces (real models)

    @Test("register appends one face per call; recognize names the person, a stranger is unknown, a group gets one prediction per face; list, delete", .offCooperativePool,
          .tags(.model))
    func registerRecognizeListDelete() async throws {
        let fixture = try ServiceFixture(models: .real)
        try await fixture.test { client in
            // Double Take trains one image per request: the second call adds a face.
            try await Self.post(client, "/register", files: ["image": Self.obamaSmall], fields: ["userid": "barack"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"duration":0,"message":"face added","success":true}"#)
            }
            try await Self.post(client, "/register", files: ["image": Self.obama2], fields: ["userid": "barack"]) { response in
                #expect(String(buffer: response.body) == #"{"duration":0,"message":"face updated","success":true}"#)
            }
            let subjects = try fixture.store.subjects(named: "barack", in: SubjectCollection.defaultID)
            #expect(subjects.map(\.faceCount) == [2])

            // Double Take's recognize: no min_confidence, so DeepStack's default 0.67 applies.
            try await Self.post(client, "/recognize", files: ["image": Self.obama3]) { response in
                #expect(response.status == .ok)
                #expect(response.json["success"] as? Bool == true && response.json["duration"] as? Int == 0)
                let predictions = Self.predictions(response)
                #expect(predictions.count == 1)
                let best = predictions.first ?? [:]
                #expect(Set(best.keys) == ["confidence", "userid", "x_min", "y_min", "x_max", "y_max"])
                #expect(best["userid"] as? String == "barack")
                #expect(best["confidence"] as? Double ?? 0 > 0.67)
                let (left, top) = (best["x_min"] as? Int ?? -1, best["y_min"] as? Int ?? -1)
                #expect(left >= 0 && top >= 0 && best["x_max"] as? Int ?? 0 > left && best["y_max"] as? Int ?? 0 > top)
            }
            // Home Assistant sends min_confidence 0.45: strict unknown still names no stranger.
            try await Self.post(client, "/recognize", files: ["image": Self.biden], fields: ["min_confidence": "0.45"]) { response in
                let predictions = Self.predictions(response)
                #expect(predictions.count == 1)
                #expect(predictions.first?["userid"] as? String == "unknown")
                #expect(predictions.first?["confidence"] as? Double == 0)
            }
            // Every face of a group photo: the enrolled one named once, the others unknown.
            try await Self.post(client, "/recognize", files: ["image": Self.obamaAndBiden]) { response in
                let names = Self.predictions(response).map { $0["userid"] as? String ?? "(not a string)" }
                #expect(names.count >= 2)
                #expect(names.filter { $0 == "barack" }.count == 1)
                #expect(names.filter { $0 != "barack" }.allSatisfy { $0 == "unknown" })
            }

            try await Self.post(client, "/list", fields: ["api_key": ""]) { response in
                #expect(String(buffer: response.body) == #"{"duration":0,"faces":["barack"],"success":true}"#)
            }
            try await Self.postURLEncoded(client, "/delete", "userid=barack") { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"duration":0,"success":true}"#)
            }
            try await Self.postURLEncoded(client, "/list", "") { response in
                #expect(String(buffer: response.body) == #"{"duration":0,"faces":[],"success":true}"#)
            }
            // Deleting a userid no one has is a success too.
            try await Self.post(client, "/delete", fields: ["userid": "barack"]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"duration":0,"success":true}"#)
            }
        }
        let actions = try fixture.store.auditLog().map { "\($0.action) \($0.result)" }
        #expect(actions.filter { $0.hasPrefix("identify ") }.count == 3)
        #expect(actions.filter { $0 == "enroll ok" }.count == 2)
    }

    @Test("detect: every face with and without a trailing slash, a photo without a face is an empty list", .offCooperativePool, .tags(.model))
    func detect() async throws {
        try await ServiceFixture(models: .real).test { client in
            for route in ["", "/"] {
                try await Self.post(client, route, files: ["image": Self.group]) { response in
                    #expect(response.status == .ok)
                    let predictions = Self.predictions(response)
                    #expect(predictions.count == 3)
                    for prediction in predictions {
                        #expect(Set(prediction.keys) == ["confidence", "x_min", "y_min", "x_max", "y_max"])
                        #expect(prediction["confidence"] as? Double ?? 0 >= 0.9)
                    }
                }
            }
            try await Self.post(client, "", files: ["image": Self.dogs]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"duration":0,"predictions":[],"success":true}"#)
            }
        }
    }

    @Test("register refuses a photo without a face; match compares two largest faces and is audited", .offCooperativePool, .tags(.model))
    func registerRefusalAndMatch() async throws {
        let fixture = try ServiceFixture(models: .real)
        try await fixture.test { client in
            try await Self.post(client, "/register", files: ["image": Self.dogs], fields: ["userid": "rex"]) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body) == #"{"duration":0,"error":"no face detected","success":false}"#)
            }
            try await Self.post(client, "/match", files: ["image1": Self.obamaSmall, "image2": Self.obama2]) { response in
                #expect(response.status == .ok)
                #expect(Set(response.json.keys) == ["success", "similarity", "duration"])
                let similarity = response.json["similarity"] as? Double ?? 0
                #expect(similarity > 0.67 && similarity <= 1)
            }
            try await Self.post(client, "/match", files: ["image1": HostileImages.greyPNG(width: 64, height: 64), "image2": Self.obamaSmall]) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body) == #"{"duration":0,"error":"no face found","success":false}"#)
            }
        }
        #expect(try fixture.store.subjectCount(in: nil) == 0, "a refused registration leaves no subject")
        #expect(try fixture.store.auditLog().contains { $0.action == "match" && $0.result == "match" })
    }

    // MARK: Requests and refusals (stub models)

    @Test("api_key in the form or the query; a wrong or missing key is DeepStack's 401; scopes apply", .offCooperativePool, .tags(.unit))
    func apiKeys() async throws {
        let fixture = try ServiceFixture { $0.requireAPIKey = true }
        let both = try fixture.store.createAPIKey(name: "double-take", scopes: [.recognize, .manage])
        let recognizeOnly = try fixture.store.createAPIKey(name: "camera", scopes: [.recognize])
        let incorrect = #"{"duration":0,"error":"Incorrect api key","success":false}"#
        try await fixture.test { client in
            try await Self.post(client, "", files: ["image": Self.obamaSmall], fields: ["api_key": "netra_000000000000_wrong"]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body) == incorrect)
            }
            try await Self.post(client, "/recognize", files: ["image": Self.obamaSmall]) { response in
                #expect(response.status == .unauthorized)
                #expect(String(buffer: response.body) == incorrect)
            }
            try await Self.postURLEncoded(client, "/list", "api_key=\(both.key)") { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"duration":0,"faces":[],"success":true}"#)
            }
            try await Self.postURLEncoded(client, "/list?api_key=\(both.key)", "") { response in
                #expect(response.status == .ok)
            }
            try await Self.post(client, "/register", files: ["image": Self.obamaSmall], fields: ["api_key": recognizeOnly.key, "userid": "x"]) { response in
                #expect(response.status == .forbidden)
                #expect(response.json["success"] as? Bool == false && response.json["error"] is String)
            }
            try await Self.post(client, "", files: ["image": Self.obamaSmall], fields: ["api_key": recognizeOnly.key]) { response in
                #expect(response.status == .ok)
                #expect(Self.predictions(response).count == 1)
            }
        }
    }

    @Test("missing images, userids and bad min_confidence are DeepStack's 400s with its exact texts", .offCooperativePool, .tags(.unit))
    func badRequests() async throws {
        func error(_ text: String) -> String { #"{"duration":0,"error":""# + text + #"","success":false}"# }
        let noImage = error("No valid image file found")
        let image = HostileImages.greyPNG(width: 8, height: 8)  // never decoded: each request is refused first
        let cases: [(route: String, files: [String: [UInt8]], fields: [String: String], body: String)] = [
            ("", [:], ["min_confidence": "0.5"], noImage),
            ("/recognize", ["picture": []], [:], noImage),
            ("/register", [:], ["userid": "ada"], noImage),
            ("/register", ["image": image], [:], error("userid not specified")),
            ("/register", ["image": image], ["userid": "Unknown"], error("userid 'unknown' is reserved for faces no one matches")),
            ("/delete", [:], ["userid": ""], error("userid not specified")),
            ("", ["image": image], ["min_confidence": "1.5"], error("min_confidence cannot be greater than 1")),
            ("/recognize", ["image": image], ["min_confidence": "high"], error("Invalid value for min_confidence")),
            ("/match", [:], ["api_key": ""], noImage),
            ("/match", ["image1": image], [:], error("expected two image files, only one found")),
            ("/match", ["image1": image, "image2": image, "image3": image], [:], error("only two images allowed")),
        ]
        try await ServiceFixture().test { client in
            for (route, files, fields, body) in cases {
                try await Self.post(client, route, files: files, fields: fields) { response in
                    #expect(response.status == .badRequest, "\(route) \(fields)")
                    #expect(String(buffer: response.body) == body, "\(route) \(fields)")
                }
            }
        }
    }

    @Test("register takes every file whatever its field name; an unbound key names a collection with the collection field", .offCooperativePool, .tags(.unit))
    func filesAndCollections() async throws {
        let fixture = try ServiceFixture()
        let beta = try fixture.store.createCollection(name: "beta")
        try await fixture.test { client in
            // deepstack-sdk names its files "image" + a UUID.
            try await Self.post(client, "/register", files: ["image\(UUID())": Self.obamaSmall, "image\(UUID())": Self.obamaSmall],
                                fields: ["userid": "sdk", "collection": "beta"]) { response in
                #expect(String(buffer: response.body) == #"{"duration":0,"message":"face added","success":true}"#)
            }
            try await Self.post(client, "/list", fields: ["collection": "default"]) { response in
                #expect(response.json["faces"] as? [String] == [])
            }
            try await Self.postURLEncoded(client, "/list", "collection=beta") { response in
                #expect(response.json["faces"] as? [String] == ["sdk"])
            }
            try await Self.post(client, "/list", fields: ["collection": "gamma"]) { response in
                #expect(response.status == .notFound)
                #expect(response.json["success"] as? Bool == false)
            }
        }
        #expect(try fixture.store.subjects(named: "sdk", in: beta.id).map(\.faceCount) == [2])
    }

    @Test("strict unknown caps recognize's distance at NETRA's threshold; without it the client's min_confidence rules", .offCooperativePool, .tags(.unit))
    func strictUnknown() throws {
        let controller = DeepStackController(state: ServiceState(), configuration: ServiceConfiguration(),
                                             workers: VisionWorkers(workers: 1, queueDepth: 0))
        let threshold = controller.scale.thresholdDistance
        #expect(abs(controller.maxDistance(minConfidence: 0.67, strict: true) - threshold) < 1e-5)
        #expect(controller.maxDistance(minConfidence: 0.45, strict: true) == threshold)
        #expect(controller.maxDistance(minConfidence: 0.9, strict: true) < threshold)
        #expect(controller.maxDistance(minConfidence: 0.45, strict: false) > threshold)
        #expect(abs(controller.scale.score(distance: controller.maxDistance(minConfidence: 0.9, strict: true)) - 0.9) < 1e-4)
    }

    @Test("answers have a Content-Length and are never chunked, errors included (Blue Iris)", .offCooperativePool, .tags(.unit))
    func contentLength() async throws {
        let fixture = try ServiceFixture()
        try await fixture.testLive { port in
            let body = Body.multipart(files: ["image": Self.obamaSmall])
            let requests: [(head: String, body: [UInt8], status: Int)] = [
                (Self.head("/v1/vision/face", type: Body.multipartType, length: body.readableBytes), Array(buffer: body), 200),
                (Self.head("/v1/vision/face/list", type: "application/x-www-form-urlencoded", length: 0), [], 200),
                (Self.head("/v1/vision/face/list", type: "application/x-www-form-urlencoded", length: 12), Array("api_key=nope".utf8), 401),
            ]
            for (head, body, status) in requests {
                let connection = try RawConnection(port: port)
                connection.send(Array(head.utf8) + body)
                let (text, _) = await connection.readUntilClosed(seconds: 30)
                let parts = text.components(separatedBy: "\r\n\r\n")
                let lines = parts[0].components(separatedBy: "\r\n")
                let headers = Dictionary(lines.dropFirst().compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }, uniquingKeysWith: { first, _ in first })
                let answer = parts.dropFirst().joined(separator: "\r\n\r\n")
                #expect(lines.first?.hasPrefix("HTTP/1.1 \(status) ") == true, "\(lines.first ?? "")")
                #expect(headers["content-length"] == "\(answer.utf8.count)")
                #expect(headers["transfer-encoding"] == nil)
                #expect(answer.hasPrefix("{") && answer.contains(#""duration":0"#))
            }
        }
    }

    static func head(_ path: String, type: String, length: Int) -> String {
        "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: \(type)\r\nContent-Length: \(length)\r\nConnection: close\r\n\r\n"
    }
}
