import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import NetraService
import NetraStore
import NetraTestSupport
import Testing

/// The CompreFace-compatible routes with hand-built requests (the SDK itself is driven by
/// scripts/compat_clients.py): the quirks its clients send and the exact bodies they read.
@Suite("CompreFace-compatible API", .tags(.model))
struct CompreFaceEndpointTests {
    static let angelina = ["img1.jpg", "img2.jpg", "img4.jpg"].map { Body.image("public/images/deepface/\($0)") }
    static let jennifer = Body.image("public/images/deepface/img3.jpg")
    static let mark = Body.image("public/images/deepface/img13.jpg")
    static let dogs = Body.image("multi/images/dlib_dogs.jpg")
    static let twoPeople = Body.image("multi/images/fr_two_people.jpg")

    static func file(_ bytes: [UInt8], field: String = "file") -> ByteBuffer { Body.multipart(files: [field: bytes]) }

    static func body(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test("examples build up subjects; recognize with the SDK's query names them, strict about strangers, with the plugins asked for", .offCooperativePool)
    func recognizeRoundTrip() async throws {
        try await ServiceFixture(models: .real).test { client in
            for (subject, image) in [("angelina", Self.angelina[0]), ("angelina", Self.angelina[1]), ("jennifer", Self.jennifer)] {
                try await client.execute(uri: "/api/v1/recognition/faces?subject=\(subject)&det_prob_threshold=0.8", method: .post,
                                         headers: multipartHeaders, body: Self.file(image)) { response in
                    #expect(response.status == .created, "\(Self.body(response))")
                    #expect(response.json["subject"] as? String == subject && response.json["image_id"] is String)
                }
            }
            // The SDK's `?&` and Python's `True`; Double Take's `undefined` plugin is ignored.
            let query = "?&limit=0&prediction_count=1&status=True&face_plugins=landmarks,calculator,undefined"
            try await client.execute(uri: "/api/v1/recognition/recognize" + query, method: .post, headers: multipartHeaders,
                                     body: Self.file(Self.angelina[2])) { response in
                #expect(response.status == .ok, "\(Self.body(response))")
                let face = try #require((response.json["result"] as? [[String: Any]])?.first)
                let subjects = face["subjects"] as? [[String: Any]] ?? []
                #expect(subjects.count == 1 && subjects.first?["subject"] as? String == "angelina")
                #expect(subjects.first?["similarity"] as? Double ?? 0 > 0.5)
                #expect((face["landmarks"] as? [[Int]])?.count == 5)
                #expect(face["embedding"] == nil, "embeddings only with compat.expose_embeddings")
                #expect((face["execution_time"] as? [String: Double])?["detector"] != nil && response.json["plugins_versions"] != nil)
                let box = face["box"] as? [String: Any] ?? [:]
                #expect(Set(box.keys) == ["probability", "x_min", "y_min", "x_max", "y_max"] && box["probability"] as? Double ?? 0 >= 0.9)
            }
            try await client.execute(uri: "/api/v1/recognition/recognize", method: .post, headers: multipartHeaders,
                                     body: Self.file(Self.mark)) { response in
                let face = try #require((response.json["result"] as? [[String: Any]])?.first)
                #expect(face["subjects"] as? [Any] != nil && (face["subjects"] as? [Any])?.isEmpty == true, "a stranger: subjects []")
                #expect(face["landmarks"] == nil && face["execution_time"] == nil && response.json["plugins_versions"] == nil)
            }
            // JSON with a base64 file, and the verification service.
            try await client.execute(uri: "/api/v1/recognition/recognize", method: .post, headers: jsonHeaders,
                                     body: Body.json(["file": Data(Self.jennifer).base64EncodedString()])) { response in
                let face = (response.json["result"] as? [[String: Any]])?.first
                #expect((face?["subjects"] as? [[String: Any]])?.first?["subject"] as? String == "jennifer")
            }
            try await client.execute(uri: "/api/v1/verification/verify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["source_image": Self.angelina[0], "target_image": Self.angelina[2]])) { response in
                let item = try #require((response.json["result"] as? [[String: Any]])?.first)
                #expect((item["face_matches"] as? [[String: Any]])?.first?["similarity"] as? Double ?? 0 > 0.5)
                #expect(item["source_image_face"] != nil)
            }
        }
    }

    @Test("without strict unknown (the setting, or a collection's own) the nearest subject is named below the threshold, under 0.5", .offCooperativePool,
          arguments: [false, true])
    func nearestWhenNotStrict(byCollection: Bool) async throws {
        let fixture = try ServiceFixture(models: .real, configure: { $0.compat.strictUnknown = byCollection })
        let viseron = try fixture.store.createCollection(name: "viseron")
        if byCollection { _ = try fixture.store.updateCollection(id: viseron.id, strictUnknown: false) }
        try await fixture.test { client in
            try await client.execute(uri: "/api/v1/recognition/faces?subject=jennifer&collection=viseron", method: .post,
                                     headers: multipartHeaders, body: Self.file(Self.jennifer)) { #expect($0.status == .created) }
            try await client.execute(uri: "/api/v1/recognition/recognize?collection=viseron", method: .post, headers: multipartHeaders,
                                     body: Self.file(Self.mark)) { response in
                let subject = ((response.json["result"] as? [[String: Any]])?.first?["subjects"] as? [[String: Any]])?.first
                #expect(subject?["subject"] as? String == "jennifer" && subject?["similarity"] as? Double ?? 1 < 0.5)
            }
        }
    }

    @Test("CompreFace's errors with their exact bodies", .offCooperativePool)
    func errors() async throws {
        try await ServiceFixture(models: .real).test { client in
            let cases: [(String, HTTPRequest.Method, HTTPFields, ByteBuffer, HTTPResponse.Status, String)] = [
                ("/api/v1/recognition/recognize", .post, multipartHeaders, Self.file(Self.dogs), .badRequest,
                 #"{"code":28,"message":"No face is found in the given image"}"#),
                ("/api/v1/detection/detect", .post, multipartHeaders, Self.file(Self.dogs), .badRequest,
                 #"{"code":28,"message":"No face is found in the given image"}"#),
                ("/api/v1/recognition/recognize", .post, multipartHeaders, Self.file(Self.dogs, field: "image"), .badRequest,
                 #"{"code":34,"message":"Required part file is missing"}"#),
                ("/api/v1/recognition/faces?subject=x", .post, multipartHeaders, Self.file(Self.twoPeople), .badRequest,
                 #"{"code":31,"message":"More than one face in the source image"}"#),
                ("/api/v1/recognition/faces", .post, multipartHeaders, Self.file(Self.jennifer), .badRequest,
                 #"{"code":33,"message":"Required parameter subject is missing"}"#),
                ("/api/v1/recognition/recognize?prediction_count=0", .post, multipartHeaders, Self.file(Self.jennifer), .notFound,
                 #"{"code":400,"message":"Prediction count should be any positive number or -1"}"#),
                ("/api/v1/recognition/recognize?limit=-1", .post, multipartHeaders, Self.file(Self.jennifer), .badRequest,
                 #"{"code":26,"message":"Limit should be equal or greater than 0; "}"#),
                ("/api/v1/recognition/subjects/nobody", .delete, [:], ByteBuffer(), .notFound, #"{"code":42,"message":"Subject nobody not found"}"#),
                ("/api/v1/recognition/faces?page=9223372036854775807", .get, [:], ByteBuffer(), .badRequest,
                 #"{"code":26,"message":"page is too large"}"#),
                ("/api/v1/recognition/faces/77", .delete, [:], ByteBuffer(), .notFound, #"{"code":44,"message":"Image 77 not found"}"#),
                ("/api/v1/recognition/faces/77/verify", .post, multipartHeaders, Self.file(Self.jennifer), .notFound,
                 #"{"code":44,"message":"Image 77 not found"}"#),
            ]
            for (uri, method, headers, body, status, expected) in cases {
                try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
                    #expect(response.status == status && Self.body(response) == expected, "\(method) \(uri): \(Self.body(response))")
                }
            }
            try await client.execute(uri: "/api/v1/recognition/subjects", method: .post, headers: jsonHeaders,
                                     body: Body.json(["subject": "jennifer"])) { #expect($0.status == .created) }
            try await client.execute(uri: "/api/v1/recognition/subjects", method: .post, headers: jsonHeaders,
                                     body: Body.json(["subject": "jennifer"])) { response in
                #expect(response.status == .badRequest && Self.body(response) == #"{"code":43,"message":"Subject already exists"}"#)
            }
            for uri in ["/api/v1/recognition/faces/1/img", "/api/v1/static/netra_0123456789ab_secret/images/1"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound && response.json["code"] as? Int == 11, "\(uri)")
                    #expect((response.json["message"] as? String)?.contains("stores no images") == true)
                }
            }
        }
    }

    @Test("a missing or unknown x-api-key is CompreFace's code 20 or 10, never echoing the key; a recognize key cannot manage", .offCooperativePool)
    func keys() async throws {
        let fixture = try ServiceFixture(configure: { $0.requireAPIKey = true })
        let (recognizeKey, _) = try fixture.store.createAPIKey(name: "camera", scopes: [.recognize])
        try await fixture.test { client in
            try await client.execute(uri: "/api/v1/recognition/subjects", method: .get) { response in
                #expect(response.status == .badRequest && Self.body(response) == #"{"code":20,"message":"Missing header: x-api-key"}"#)
            }
            let wrong = "netra_000000000000_notakeyatall"
            try await client.execute(uri: "/api/v1/detection/detect", method: .post, headers: [.apiKey: wrong], body: ByteBuffer()) { response in
                #expect(response.status == .notFound
                        && Self.body(response) == #"{"code":10,"message":"Detection service with this API key not found"}"#)
            }
            try await client.execute(uri: "/api/v1/recognition/subjects", method: .get, headers: [.apiKey: recognizeKey]) { response in
                #expect(response.status == .forbidden && response.json["code"] as? Int == 10)
            }
            try await client.execute(uri: "/api/v1/recognition/recognize", method: .options,
                                     headers: [HTTPField.Name("Origin")!: "http://camera.local"]) { response in
                #expect(response.status == .noContent && response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlAllowHeaders]?.contains("x-api-key") == true)
            }
            try await client.execute(uri: "/api/v1/subjects", method: .options, headers: [HTTPField.Name("Origin")!: "http://camera.local"]) { response in
                #expect(response.headers[.accessControlAllowOrigin] == nil, "NETRA's own routes have no CORS")
            }
        }
    }

    @Test("on a server without keys, a web page of another site cannot read the compatible routes from a browser", .offCooperativePool)
    func crossSiteReadsNeedAKey() async throws {
        try await ServiceFixture().test { client in
            let origin = HTTPField.Name("Origin")!
            try await client.execute(uri: "/api/v1/recognition/subjects", method: .get, headers: [origin: "http://evil.example"]) { response in
                #expect(response.status == .forbidden && response.json["code"] as? Int == 0, "\(Self.body(response))")
            }
            try await client.execute(uri: "/api/v1/recognition/subjects", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("with compat.enabled false neither compatible API is served", .offCooperativePool)
    func disabled() async throws {
        try await ServiceFixture(configure: { $0.compat.enabled = false }).test { client in
            for uri in ["/api/v1/recognition/recognize", "/v1/vision/face"] {
                try await client.execute(uri: uri, method: .post, headers: multipartHeaders, body: Self.file(Self.jennifer)) { response in
                    #expect(response.status == .notFound && response.errorCode == "not_found", "\(uri)")
                }
            }
        }
    }

    @Test("rename onto an existing name merges the two; list pages; delete by subject answers the faces deleted", .offCooperativePool)
    func renameMergeAndDelete() async throws {
        try await ServiceFixture(models: .real).test { client in
            for (subject, image) in [("angie", Self.angelina[0]), ("angelina", Self.angelina[1])] {
                try await client.execute(uri: "/api/v1/recognition/faces?subject=\(subject)", method: .post, headers: multipartHeaders,
                                         body: Self.file(image)) { #expect($0.status == .created) }
            }
            // The SDK's rename body carries an extra api_endpoint.
            try await client.execute(uri: "/api/v1/recognition/subjects/angie", method: .put, headers: jsonHeaders,
                                     body: Body.json(["subject": "angelina", "api_endpoint": "angie"])) { response in
                #expect(Self.body(response) == #"{"updated":true}"#)
            }
            try await client.execute(uri: "/api/v1/recognition/subjects/", method: .get) { response in
                #expect(Self.body(response) == #"{"subjects":["angelina"]}"#)
            }
            try await client.execute(uri: "/api/v1/recognition/faces?page=0&size=1", method: .get) { response in
                #expect(response.json["total_elements"] as? Int == 2 && response.json["total_pages"] as? Int == 2)
                #expect((response.json["faces"] as? [[String: Any]])?.first?["subject"] as? String == "angelina")
            }
            try await client.execute(uri: "/api/v1/recognition/faces?subject=angelina", method: .delete) { response in
                #expect(Self.body(response) == #"{"deleted":2}"#)
            }
            try await client.execute(uri: "/api/v1/recognition/faces?subject=angelina", method: .delete) { response in
                #expect(Self.body(response) == #"{"deleted":0}"#)
            }
        }
    }
}
