import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraTestSupport
import Testing

@Suite("The optional fields of verify and identify", .tags(.unit))
struct RequestFieldTests {
    /// Any decodable image will do: `StubAnalyzer` finds one face in the middle of it.
    static let image = Body.image("public/images/face_recognition/test_obama.jpg")

    @Test("verify takes face=largest|centre|center; another value is a 400 naming the field", .offCooperativePool)
    func faceChoice() async throws {
        try await ServiceFixture().test { client in
            for value in ["largest", "centre", "center", "Centre"] {
                try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders,
                                         body: Body.multipart(files: ["image1": Self.image, "image2": Self.image], fields: ["face": value])) { response in
                    #expect(response.status == .ok, "face=\(value)")
                    #expect(response.json["is_match"] as? Bool == true)
                }
            }
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image1": Self.image, "image2": Self.image], fields: ["face": "leftmost"])) { response in
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_field")
                #expect((response.json["error"] as? [String: Any])?["message"] as? String == "'face' must be largest or centre")
            }
        }
    }

    @Test("identify takes unique_subjects=true|false, in a form or as a JSON boolean; another value is a 400", .offCooperativePool)
    func uniqueSubjects() async throws {
        try await ServiceFixture().test { client in
            for value in ["true", "false", "0", "1"] {
                try await client.execute(uri: "/api/v1/identify", method: .post, headers: multipartHeaders,
                                         body: Body.multipart(files: ["image": Self.image], fields: ["unique_subjects": value])) { response in
                    #expect(response.status == .ok, "unique_subjects=\(value)")
                    #expect(response.json["face_count"] as? Int == 1)
                }
            }
            let json = Body.json(["image": Data(Self.image).base64EncodedString(), "unique_subjects": false])
            try await client.execute(uri: "/api/v1/identify", method: .post, headers: jsonHeaders, body: json) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/api/v1/identify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image": Self.image], fields: ["unique_subjects": "sometimes"])) { response in
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_field")
            }
        }
    }

    @Test("the multipart boundary is found among other parameters, in any order and case; JSON may carry a charset", .offCooperativePool)
    func contentTypeParameters() async throws {
        try await ServiceFixture().test { client in
            let form = Body.multipart(files: ["image": Self.image])
            for contentType in ["multipart/form-data; charset=utf-8; boundary=\(Body.boundary)",
                                "Multipart/Form-Data; BOUNDARY=\"\(Body.boundary)\"; charset=utf-8"] {
                try await client.execute(uri: "/api/v1/detect", method: .post, headers: [.contentType: contentType], body: form) { response in
                    #expect(response.status == .ok, "\(contentType)")
                }
            }
            let json = Body.json(["image": Data(Self.image).base64EncodedString()])
            try await client.execute(uri: "/api/v1/detect", method: .post, headers: [.contentType: "application/json ; charset=utf-8"],
                                     body: json) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("bodies that trap MultipartKit 4.7.1 (found by fuzzing) are a 400 and the service lives on", .offCooperativePool,
          arguments: [("multipart/form-data; boundary=\"\"", "--\r\n\r\nx\r\n----\r\n"),
                      ("multipart/form-data; boundary=b", "--b\r\n\u{80}: x\r\n\r\n\r\n--b--\r\n"),
                      ("multipart/form-data; boundary=b", "--b\r\nContent-Di\u{80}sposition")])
    func multipartTraps(contentType: String, body: String) async throws {
        try await ServiceFixture().test { client in
            var bytes = Array(body.utf8)
            if let index = bytes.firstIndex(of: 0xC2) { bytes.remove(at: index) }  // a lone 0x80 byte, not UTF-8
            try await client.execute(uri: "/api/v1/detect", method: .post, headers: [.contentType: contentType],
                                     body: ByteBuffer(bytes: bytes)) { response in
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "invalid_multipart")
            }
            try await client.execute(uri: "/health", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test("a bad API key is refused on the API's routes only: public routes ignore it, unserved paths stay 404", .offCooperativePool)
    func apiKeyOnlyOnServedRoutes() async throws {
        try await ServiceFixture().test { client in
            let headers: HTTPFields = [HTTPField.Name("X-API-Key")!: "netra_000000000000_guess"]
            try await client.execute(uri: "/api/v1/nothing-here", method: .get, headers: headers) { response in
                #expect(response.status == .notFound)
            }
            try await client.execute(uri: "/api/v1/subjects", method: .get, headers: headers) { response in
                #expect(response.status == .unauthorized)
                #expect(response.errorCode == "invalid_api_key")
            }
            for path in ["/health", "/ready", "/metrics", "/openapi.yaml"] {
                try await client.execute(uri: path, method: .get, headers: headers) { response in
                    #expect(response.status == .ok, "\(path) is no oracle for keys")
                }
            }
        }
    }

    @Test("refused API keys spend the caller's rate limit: key guessing is slowed to the configured rate", .offCooperativePool)
    func refusedKeysAreRateLimited() async throws {
        let fixture = try ServiceFixture {
            $0.rateLimitPerSecond = 0.001
            $0.rateLimitBurst = 3
        }
        try await fixture.test { client in
            var statuses: [HTTPResponse.Status] = []
            for attempt in 0..<5 {
                let headers: HTTPFields = [HTTPField.Name("X-API-Key")!: "netra_00000000000\(attempt)_guess"]
                try await client.execute(uri: "/api/v1/subjects", method: .get, headers: headers) { response in
                    statuses.append(response.status)
                }
            }
            #expect(statuses == [.unauthorized, .unauthorized, .unauthorized, .tooManyRequests, .tooManyRequests])
        }
    }

    @Test("identify's threshold may only be stricter than the configured one, and top_k at most app.identify_max_top_k", .offCooperativePool)
    func identifyCannotBeWidened() async throws {
        let fixture = try ServiceFixture { $0.identifyMaxTopK = 20 }
        try await fixture.test { client in
            for (field, value, status) in [("threshold", "0", HTTPResponse.Status.badRequest), ("threshold", "0.69", .badRequest),
                                           ("threshold", "0.7", .ok), ("threshold", "0.95", .ok),
                                           ("top_k", "100", .badRequest), ("top_k", "21", .badRequest), ("top_k", "20", .ok)] {
                try await client.execute(uri: "/api/v1/identify", method: .post, headers: multipartHeaders,
                                         body: Body.multipart(files: ["image": Self.image], fields: [field: value])) { response in
                    #expect(response.status == status, "\(field)=\(value)")
                    if status == .badRequest {
                        #expect(response.errorCode == "invalid_field")
                        #expect(((response.json["error"] as? [String: Any])?["message"] as? String)?.contains("'\(field)'") == true)
                    }
                }
            }
        }
    }

    @Test("error answers carry the same security headers as successes: nosniff, Referrer-Policy, X-Request-Id, no-store", .offCooperativePool)
    func errorsCarrySecurityHeaders() async throws {
        try await ServiceFixture().test { client in
            try await client.execute(uri: "/api/v1/identify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image": Self.image], fields: ["threshold": "0"])) { response in
                #expect(response.status == .badRequest)
                Self.expectSecurityHeaders(response, noStore: true)
            }
            try await client.execute(uri: "/api/v1/nothing-here", method: .get) { response in
                #expect(response.status == .notFound)
                Self.expectSecurityHeaders(response, noStore: true)
            }
            try await client.execute(uri: "/api/v1/subjects/1", method: .put) { response in
                #expect(response.status == .methodNotAllowed)
                Self.expectSecurityHeaders(response, noStore: true)
            }
        }
        try await ServiceFixture { $0.allowedHosts = ["netra.example"] }.test { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .badRequest && response.errorCode == "host_not_allowed")
                Self.expectSecurityHeaders(response, noStore: false)
            }
        }
    }

    static func expectSecurityHeaders(_ response: TestResponse, noStore: Bool) {
        #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
        #expect(response.headers[HTTPField.Name("X-Request-Id")!]?.isEmpty == false)
        if noStore { #expect(response.headers[.cacheControl] == "no-store") }
    }
}
