import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NetraIdentity
import NetraImaging
import NetraService
import NetraTestSupport
import NetraVision
import Testing

/// `POST /api/v1/verify` with its two images on two worker slots: the same answer as one after
/// the other on one slot, the same errors, and no hang when the pool is busy.
@Suite("verify with both images at once, on the real models", .serialized, .tags(.model))
struct ParallelVerifyEndpointTests {
    static let timingKeys: Set<String> = ["decode_image1", "decode_image2", "analyze_image1", "analyze_image2", "total"]

    /// The verify answer of a service with `workers` vision workers.
    static func verify(workers: Int, files: [String: [UInt8]]) async throws -> (status: HTTPResponse.Status, json: [String: Any]) {
        let answer = Captured<(HTTPResponse.Status, [String: Any])?>(nil)
        try await ServiceFixture(models: .real) { $0.visionWorkers = workers }.test { client in
            try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders,
                                     body: Body.multipart(files: files)) { response in
                answer.withLock { $0 = (response.status, response.json) }
            }
        }
        return try #require(answer.withLock { $0 })
    }

    @Test("two workers free: the same similarity, distance and boxes as one worker and as FaceVerifier, and the same timings keys", .offCooperativePool)
    func sameAnswer() async throws {
        let files = ["image1": RecognitionEndpointTests.obama, "image2": RecognitionEndpointTests.obama2]
        let parallel = try await Self.verify(workers: 2, files: files), sequential = try await Self.verify(workers: 1, files: files)
        #expect(parallel.status == .ok && sequential.status == .ok)
        for key in ["similarity_score", "distance", "threshold_used"] {
            #expect(parallel.json[key] as? Double == sequential.json[key] as? Double, "\(key)")
        }
        #expect(parallel.json["is_match"] as? Bool == true && sequential.json["is_match"] as? Bool == true)
        #expect(parallel.json["faces"] as? [String: [Int]] == sequential.json["faces"] as? [String: [Int]])
        let timings = try #require(parallel.json["timings_ms"] as? [String: Double])
        #expect(Set(timings.keys) == Self.timingKeys)
        #expect(Set((sequential.json["timings_ms"] as? [String: Double] ?? [:]).keys) == Self.timingKeys)
        #expect(timings.values.allSatisfy { $0 >= 0 })

        let decoder = ImageDecoder()
        let verifier = FaceVerifier(finder: FaceFinder(analyzer: try TestModels.analyzer()))
        let direct = try verifier.verify(.init(source: "image1", image: try decoder.decode(files["image1"]!)),
                                         .init(source: "image2", image: try decoder.decode(files["image2"]!)))
        let distance = try #require(parallel.json["distance"] as? Double)
        #expect(abs(distance - Double(direct.comparison.distance)) < 1e-6)
        #expect(parallel.json["faces"] as? [String: [Int]] == ["image1": direct.boxes[0].corners, "image2": direct.boxes[1].corners])
    }

    @Test("errors name the same image as one after the other: image1's when both fail, else the failing one's", .offCooperativePool,
          arguments: [("dogs", "text"), ("obama", "dogs"), ("text", "obama")])
    func sameErrors(first: String, second: String) async throws {
        let images = ["obama": RecognitionEndpointTests.obama, "dogs": Body.image("multi/images/dlib_dogs.jpg"),
                      "text": Array("just some text".utf8)]
        let files = ["image1": images[first]!, "image2": images[second]!]
        let parallel = try await Self.verify(workers: 2, files: files), sequential = try await Self.verify(workers: 1, files: files)
        let failing = first == "obama" ? "image2" : "image1"
        for answer in [parallel, sequential] {
            let error = try #require(answer.json["error"] as? [String: Any])
            #expect((error["message"] as? String)?.contains(failing) == true, "\(error)")
            #expect(answer.status == .unprocessableContent)
        }
        #expect(NSDictionary(dictionary: parallel.json) == NSDictionary(dictionary: sequential.json))
    }
}

/// The pool behaviour of verify, with a stand-in analyzer that holds a worker slot for as long
/// as a test wants: a verify on a busy pool completes, one queued behind a full pool too.
@Suite("verify on a busy worker pool", .serialized, .tags(.unit))
struct BusyPoolVerifyTests {
    /// `StubAnalyzer`, except that detecting in a 33 x 33 image blocks until `release`.
    struct HoldingAnalyzer: FaceAnalyzing {
        let stub = StubAnalyzer()
        let gate: Gate

        func detectFaces(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection] {
            if image.width == Gate.holdingSide { gate.hold() }
            return try stub.detectFaces(in: image, options: options)
        }

        func landmarks(of detection: FaceDetection, in image: RGBImage) -> [PixelPoint] { stub.landmarks(of: detection, in: image) }

        func describe(_ detection: FaceDetection, in image: RGBImage) throws(VisionError) -> AnalyzedFace {
            try stub.describe(detection, in: image)
        }
    }

    /// Where held detections wait, and how many are waiting.
    final class Gate: @unchecked Sendable {
        static let holdingSide = 33
        private let semaphore = DispatchSemaphore(value: 0)
        private let lock = NSLock()
        private var waiting = 0

        func hold() {
            lock.withLock { waiting += 1 }
            semaphore.wait()
        }

        var held: Int { lock.withLock { waiting } }

        func release(_ count: Int) {
            for _ in 0..<count { semaphore.signal() }
        }
    }

    static let face = HostileImages.greyPNG(width: 64, height: 64)
    static let holding = HostileImages.greyPNG(width: UInt32(Gate.holdingSide), height: UInt32(Gate.holdingSide))

    @Test("one of two slots held: verify runs both images on the free slot; both held: verify waits its turn and completes", .offCooperativePool)
    func busyPool() async throws {
        let fixture = try ServiceFixture { $0.visionWorkers = 2; $0.queueDepth = 4 }
        let gate = Gate()
        let state = ServiceState(.init(analyzer: HoldingAnalyzer(gate: gate), store: fixture.store))
        try await fixture.test(state: state) { client in
            @Sendable func detectHolding() async throws -> HTTPResponse.Status {
                try await client.execute(uri: "/api/v1/detect", method: .post, headers: multipartHeaders,
                                         body: Body.multipart(files: ["image": Self.holding])) { $0.status }
            }
            @Sendable func verify() async throws -> (HTTPResponse.Status, Set<String>) {
                try await client.execute(uri: "/api/v1/verify", method: .post, headers: multipartHeaders,
                                         body: Body.multipart(files: ["image1": Self.face, "image2": Self.face])) { response in
                    (response.status, Set((response.json["timings_ms"] as? [String: Double] ?? [:]).keys))
                }
            }
            async let firstHeld = detectHolding()
            while gate.held < 1 { try await Task.sleep(for: .milliseconds(2)) }
            let onOneSlot = try await verify()
            #expect(onOneSlot.0 == .ok)
            #expect(onOneSlot.1 == ParallelVerifyEndpointTests.timingKeys)

            async let secondHeld = detectHolding()
            while gate.held < 2 { try await Task.sleep(for: .milliseconds(2)) }
            async let queued = verify()
            try await Task.sleep(for: .milliseconds(50))
            gate.release(2)
            #expect(try await queued.0 == .ok)
            #expect(try await firstHeld == .ok)
            #expect(try await secondHeld == .ok)
        }
    }
}

/// A value guarded by a lock, for answers read out of response closures.
final class Captured<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
