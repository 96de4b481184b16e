import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import NetraService
import NetraDescriptor
import NetraIdentity
import NetraStore
import NetraTestSupport
import Testing
import Yams

@Suite("API keys, rate limits, health, metrics and documentation", .tags(.unit))
struct AccessAndOperationsTests {
    @Test("no key 401, wrong scope 403, revoked key 401, right key 200", .offCooperativePool)
    func apiKeys() async throws {
        let fixture = try ServiceFixture { $0.requireAPIKey = true }
        let recognize = try fixture.store.createAPIKey(name: "door", scopes: [.recognize])
        let manage = try fixture.store.createAPIKey(name: "hr", scopes: [.manage])
        let revoked = try fixture.store.createAPIKey(name: "old", scopes: [.admin])
        try fixture.store.revokeAPIKey(id: revoked.record.id)
        try await fixture.test { client in
            let cases: [(String?, HTTPResponse.Status, String?)] = [
                (nil, .unauthorized, "missing_api_key"), (recognize.key, .forbidden, "insufficient_scope"),
                (revoked.key, .unauthorized, "invalid_api_key"), ("netra_000000000000_guess", .unauthorized, "invalid_api_key"),
                (manage.key, .ok, nil),
            ]
            for (key, status, code) in cases {
                var headers: HTTPFields = [:]
                if let key { headers[HTTPField.Name("X-API-Key")!] = key }
                try await client.execute(uri: "/api/v1/subjects", method: .get, headers: headers) { response in
                    #expect(response.status == status)
                    #expect(response.errorCode == code)
                }
            }
            try await client.execute(uri: "/health", method: .get) { response in #expect(response.status == .ok) }
        }
    }

    @Test("over the rate a caller gets 429 with Retry-After", .offCooperativePool)
    func rateLimit() async throws {
        let fixture = try ServiceFixture {
            $0.rateLimitPerSecond = 0.001
            $0.rateLimitBurst = 3
        }
        try await fixture.test { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 {
                try await client.execute(uri: "/api/v1/subjects", method: .get) { response in
                    statuses.append(response.status)
                    if response.status == .tooManyRequests {
                        let wait = Int(response.headers[.retryAfter] ?? "") ?? 0
                        #expect(wait >= 1 && wait <= 1000)
                        #expect(response.errorCode == "rate_limited")
                    }
                }
            }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests, .tooManyRequests])
        }
    }

    @Test("health answers while loading; ready is 503 until loaded, then 200", .offCooperativePool)
    func readiness() async throws {
        let fixture = try ServiceFixture()
        try await fixture.test(loaded: false) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json["status"] as? String == "healthy")
                #expect(response.json["model_loaded"] as? Bool == false)
            }
            try await client.execute(uri: "/ready", method: .get) { response in #expect(response.status == .serviceUnavailable) }
            try await client.execute(uri: "/api/v1/subjects", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.errorCode == "not_ready")
            }
        }
        try await fixture.test { client in
            try await client.execute(uri: "/ready", method: .get) { response in #expect(response.status == .ok) }
        }
    }

    @Test("after a failed load, health and ready say so with 503 instead of waiting for ever", .offCooperativePool)
    func failedLoad() async throws {
        struct WrongKey: Error {}
        let state = ServiceState()
        state.finishLoading(.failure(WrongKey()))
        try await ServiceFixture().test(state: state) { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["status"] as? String == "unhealthy")
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["status"] as? String == "failed")
            }
        }
    }

    @Test("faces no supplied key opens make /ready say degraded, with a metric; a rotation the server lacks the key of refuses enrollments with 503", .offCooperativePool)
    func unreadableFacesAndRotatedKey() async throws {
        let temporary = try TemporaryStore()
        do {
            let store = try temporary.open()
            let subject = try store.createSubject(name: "S")
            for value in [0.1, 0.2, 0.3] as [Float] {
                _ = try store.addFace(subjectID: subject.id, descriptor: FaceDescriptor(values: [Float](repeating: value, count: 128)),
                                      quality: FaceQuality(width: 120, height: 120, detectorConfidence: 0.9))
            }
        }
        let withOldKey = try temporary.open()
        try temporary.activate(TemporaryStore.otherEncryptionKey)
        let withNewKey = try temporary.open(key: TemporaryStore.otherKey)
        try await ServiceFixture().test(state: ServiceState(.init(analyzer: StubAnalyzer(), store: withNewKey))) { client in
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.json["status"] as? String == "degraded")
                #expect(response.json["unreadable_faces"] as? Int == 3)
                #expect((response.json["problems"] as? [String])?.first?.contains("which was not supplied") == true)
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                // The gauge is process-wide and other tests scrape too: its presence is what can be checked here.
                #expect(String(buffer: response.body).contains("netra_store_unreadable_faces "))
            }
        }
        try await ServiceFixture { $0.enrollment.minFaceSize = 10 }.test(state: ServiceState(.init(analyzer: StubAnalyzer(), store: withOldKey))) { client in
            try await client.execute(uri: "/api/v1/enroll", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: ["image": HostileImages.greyPNG(width: 100, height: 100)], fields: ["name": "T"])) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.errorCode == "store_key_rotated")
                #expect(response.headers[.retryAfter] != nil)
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.json["status"] as? String == "ready")
            }
        }
    }

    @Test("security headers, Host check, metrics text, documentation with a CSP", .offCooperativePool)
    func operations() async throws {
        try await ServiceFixture { $0.allowedHosts = ["netra.example"] }.test { client in
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.errorCode == "host_not_allowed")
            }
        }
        // The test client sends requests for localhost.
        try await ServiceFixture { $0.allowedHosts = ["localhost"] }.test { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                let text = String(buffer: response.body)
                #expect(text.contains("netra_index_size"))
                let memory = text.split(separator: "\n").first { $0.hasPrefix("netra_process_resident_memory_bytes ") }
                #expect((memory?.split(separator: " ").last).flatMap { Double($0) } ?? 0 > 10_000_000, "resident memory of a process with models loaded")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            }
            try await client.execute(uri: "/docs", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
                #expect(String(buffer: response.body).contains("/api/v1/identify"))
            }
        }
    }

    @Test("openapi.yaml parses and describes exactly the service's routes", .offCooperativePool)
    func openAPIMatchesRoutes() async throws {
        let fixture = try ServiceFixture()
        // The compatible APIs answer in their peers' documented shapes (docs/compatibility.md).
        let served = buildRouter(configuration: fixture.configuration, state: ServiceState()).openAPIRoutes
            .filter { !PeerCORSMiddleware.isPeerPath(String($0.split(separator: " ")[1])) }
        try await fixture.test { client in
            try await client.execute(uri: "/openapi.yaml", method: .get) { response in
                #expect(response.status == .ok)
                let document = try #require(try Yams.load(yaml: String(buffer: response.body)) as? [String: Any])
                #expect(document["openapi"] as? String == "3.1.0")
                let paths = try #require(document["paths"] as? [String: [String: Any]])
                let documented = Set(paths.flatMap { path, operations in
                    operations.keys.filter { $0 != "parameters" }.map { "\($0.uppercased()) \(path)" }
                })
                #expect(documented == served)
            }
        }
    }

    @Test("a saturated worker pool refuses at once with 503 and Retry-After", .offCooperativePool)
    func overload() async throws {
        let workers = VisionWorkers(workers: 1, queueDepth: 0)
        let release = DispatchSemaphore(value: 0)
        async let busy: Void = workers.run { release.wait() }
        while workers.load == 0 { try await Task.sleep(for: .milliseconds(5)) }
        await #expect(throws: APIError.self) { try await workers.run { () } }
        release.signal()
        try await busy
        try await workers.run { () }
    }

    @Test("the request log records method, path and status, never the query string (where some clients put their key)", .offCooperativePool)
    func requestLogLeavesOutTheQuery() {
        let request = Request(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost",
                                                path: "/api/v1/subjects?api_key=netra_0123456789ab_secret&name=Ada"),
                              body: RequestBody(buffer: ByteBuffer()))
        let metadata = RequestLogMiddleware.metadata(request, status: .ok, since: .now)
        #expect(metadata["hb.request.path"]?.description == "/api/v1/subjects")
        #expect(metadata["hb.request.method"]?.description == "GET" && metadata["hb.response.status"]?.description == "200")
        #expect(!metadata.values.contains { $0.description.contains("secret") || $0.description.contains("api_key") })
        // CompreFace's image URLs carry the key in the path.
        let imageURL = Request(head: HTTPRequest(method: .get, scheme: "http", authority: "localhost",
                                                 path: "/api/v1/static/netra_0123456789ab_secret/images/12"),
                               body: RequestBody(buffer: ByteBuffer()))
        #expect(RequestLogMiddleware.metadata(imageURL, status: .notFound, since: .now)["hb.request.path"]?.description
            == "/api/v1/static/{api_key}/images/{image_id}")
    }

    @Test("Host checks: one host, a numeric port, IPv6 literals; loopback means an address, not a name's prefix", .offCooperativePool)
    func hostParsing() {
        #expect(SecurityMiddleware.host(ofAuthorities: ["Netra.Example:8000"]) == "netra.example")
        #expect(SecurityMiddleware.host(ofAuthorities: ["[::1]:8000"]) == "::1")
        #expect(SecurityMiddleware.host(ofAuthorities: ["[::1]"]) == "::1")
        #expect(SecurityMiddleware.host(ofAuthorities: ["localhost", "evil.example"]) == nil, "two different Host values")
        #expect(SecurityMiddleware.host(ofAuthorities: ["localhost:80x"]) == nil)
        #expect(SecurityMiddleware.host(ofAuthorities: ["localhost:"]) == nil)
        #expect(SecurityMiddleware.host(ofAuthorities: []) == nil)
        #expect(SecurityMiddleware.normalised(allowedHosts: ["[::1]", "LocalHost"]) == ["::1", "localhost"])
        for loopback in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"] {
            #expect(DeploymentRules.isLoopback(loopback), "\(loopback)")
        }
        for open in ["0.0.0.0", "::", "10.0.0.1", "127.0.0.1.example.invalid"] {
            #expect(!DeploymentRules.isLoopback(open), "\(open)")
        }
    }
}
