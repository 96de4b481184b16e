import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraTestSupport
import Testing

@Suite("verify, similarity, detect and identify over HTTP", .tags(.model))
struct RecognitionEndpointTests {
    static let obama = Body.image("public/images/face_recognition/test_obama.jpg")
    static let obama2 = Body.image("public/images/face_recognition/test_obama2.jpg")
    static let biden = Body.image("public/images/face_recognition/test_biden.jpg")

    @Test("verify: the seed's multipart fields; same person matches, different people do not", .offCooperativePool)
    func verify() async throws {
        try await ServiceFixture(models: .real).test { client in
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image1": Self.obama, "image2": Self.obama2], fields: ["threshold": "0.7"])) { response in
                #expect(response.status == .ok)
                let json = response.json
                #expect(json["status"] as? String == "success")
                #expect(json["is_match"] as? Bool == true)
                #expect(json["threshold_used"] as? Double == 0.7)
                let similarity = json["similarity_score"] as? Double ?? -1, distance = json["distance"] as? Double ?? -1
                #expect(abs(similarity - (1 - distance / 2)) < 1e-5)
                #expect((json["faces"] as? [String: [Int]])?["image1"]?.count == 4)
                #expect((json["timings_ms"] as? [String: Double])?["total"] != nil)
                #expect(response.headers[.cacheControl] == "no-store")
            }
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image1": Self.obama, "image2": Self.biden])) { response in
                #expect(response.status == .ok)
                #expect(response.json["is_match"] as? Bool == false)
            }
        }
    }

    @Test("similarity accepts a JSON body with base64 images", .offCooperativePool)
    func similarityFromJSON() async throws {
        try await ServiceFixture(models: .real).test { client in
            let body = Body.json(["image1": Data(Self.obama).base64EncodedString(), "image2": Data(Self.obama2).base64EncodedString()])
            try await client.execute(uri: "/api/v1/similarity", method: .post, headers: jsonHeaders, body: body) { response in
                #expect(response.status == .ok)
                #expect(Set(response.json.keys) == ["similarity_score", "distance", "status"])
                #expect(response.json["similarity_score"] as? Double ?? 0 > 0.7)
            }
        }
    }

    @Test("detect reports dlib's boxes for a golden image", .offCooperativePool)
    func detect() async throws {
        let image = try SharedData.goldenImageBytes("two_people.jpg")
        let golden = try GoldenImage.load("two_people").detections["upsample_0"] ?? []
        try await ServiceFixture(models: .real).test { client in
            try await client.execute(uri: "/api/v1/detect", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image": image])) { response in
                #expect(response.status == .ok)
                #expect(response.json["face_count"] as? Int == 2)
                let boxes = (response.json["faces"] as? [[String: Any]] ?? []).map { $0["bbox"] as? [Int] ?? [] }
                #expect(boxes == golden.map { [$0.left, $0.top, $0.right + 1, $0.bottom + 1] })
            }
        }
    }

    @Test("bad input is a clear 4xx and the service stays healthy", .offCooperativePool,
          arguments: [
              ("missing field", "missing_field", HTTPResponse.Status.badRequest),
              ("empty file", "empty_file", .badRequest),
              ("not an image", "not_an_image", .unprocessableContent),
              ("truncated JPEG", "truncated_image", .unprocessableContent),
              ("cut JPEG with an end marker", "truncated_image", .unprocessableContent),
              ("PNG with a bomb after its rows", "image_too_costly", .unprocessableContent),
              ("50000 x 50000 PNG header", "image_too_large", .unprocessableContent),
              ("no face", "no_face", .unprocessableContent),
              ("2 x 2 PNG", "no_face", .unprocessableContent),
              ("1 x 5000 PNG", "no_face", .unprocessableContent),
              ("bad threshold", "invalid_field", .badRequest),
          ])
    func badInput(name: String, code: String, status: HTTPResponse.Status) async throws {
        var files = ["image1": Self.obama, "image2": Self.obama2]
        var fields: [String: String] = [:]
        switch name {
        case "missing field": files["image2"] = nil
        case "empty file": files["image2"] = []
        case "not an image": files["image2"] = Array("just some text".utf8)
        case "truncated JPEG": files["image2"] = Array(Self.obama2.prefix(Self.obama2.count / 2))
        case "cut JPEG with an end marker": files["image2"] = Array(Self.obama2.prefix(Self.obama2.count * 6 / 10)) + [0xFF, 0xD9]
        case "PNG with a bomb after its rows":
            files["image2"] = HostileImages.pngWithTrailingBomb(width: 64, height: 64, trailingBytes: 50_000_000)
        case "50000 x 50000 PNG header": files["image2"] = HostileImages.pngHeader(width: 50_000, height: 50_000)
        case "no face": files["image2"] = Body.image("multi/images/dlib_dogs.jpg")
        case "2 x 2 PNG": files["image2"] = HostileImages.greyPNG(width: 2, height: 2)
        case "1 x 5000 PNG": files["image2"] = HostileImages.greyPNG(width: 1, height: 5000)
        default: fields["threshold"] = "seven"
        }
        let body = Body.multipart(files: files, fields: fields)
        try await ServiceFixture(models: .real).test { client in
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders, body: body) { response in
                #expect(response.status == status)
                #expect(response.errorCode == code)
                #expect(response.json["status"] as? String == "error")
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test("an oversized body is 413 and a wrong content type 415", .offCooperativePool)
    func bodyLimits() async throws {
        try await ServiceFixture(models: .real).test { client in
            let big = ByteBuffer(repeating: 0x41, count: 11 * 1024 * 1024)
            try await client.execute(uri: "/api/v1/detect", method: .post, headers: multipartHeaders, body: big) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.errorCode == "body_too_large")
            }
            try await client.execute(uri: "/api/v1/detect", method: .post, headers: [.contentType: "text/plain"],
                                     body: ByteBuffer(string: "hello")) { response in
                #expect(response.status == .unsupportedMediaType)
                #expect(response.errorCode == "unsupported_content_type")
            }
        }
    }
}
