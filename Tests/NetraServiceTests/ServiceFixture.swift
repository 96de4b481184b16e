import Foundation
import Hummingbird
import HummingbirdTesting
import NetraService
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

/// A service over a temporary store, driven in-process: with the real models where a test is
/// about faces, with `StubAnalyzer` where it is about routing, keys, limits or operations.
final class ServiceFixture: @unchecked Sendable {
    enum Models {
        case real
        case stub
    }

    let models: Models
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-service-\(UUID().uuidString)")
    let store: SQLiteStore
    var configuration = ServiceConfiguration()

    init(models: Models = .stub, configure: (inout ServiceConfiguration) -> Void = { _ in }) throws {
        self.models = models
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        store = try SQLiteStore(path: folder.appendingPathComponent("netra.db").path,
                              key: .raw(try EncryptionKey.generate()), modelVersion: "test")
        configuration.rateLimitPerSecond = 1000
        configuration.rateLimitBurst = 1000
        configure(&configuration)
    }

    deinit { try? FileManager.default.removeItem(at: folder) }

    func test(loaded: Bool = true, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let analyzer: any FaceAnalyzing = models == .real ? try TestModels.analyzer() : StubAnalyzer()
        try await test(state: loaded ? ServiceState(.init(analyzer: analyzer, store: store)) : ServiceState(), body)
    }

    func test(state: ServiceState, _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: buildRouter(configuration: configuration, state: state))
        try await app.test(.router, body)
    }

    /// The whole application on a loopback port (its connection settings included), for tests
    /// that need real sockets; `body` gets the port.
    func testLive(_ body: @Sendable (Int) async throws -> Void) async throws {
        let state = ServiceState(.init(analyzer: StubAnalyzer(), store: store))
        try await buildApplication(configuration: configuration, state: state).test(.live) { client in
            try await body(try #require(client.port))
        }
    }
}

/// Request bodies the way clients send them.
enum Body {
    static let boundary = "netra-test-boundary-1234"
    static let multipartType = "multipart/form-data; boundary=\(boundary)"

    /// A multipart form: file fields and plain fields.
    static func multipart(files: [String: [UInt8]] = [:], fields: [String: String] = [:]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for (name, bytes) in files.sorted(by: { $0.key < $1.key }) {
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(name).jpg\"\r\n"
                + "Content-Type: application/octet-stream\r\n\r\n")
            buffer.writeBytes(bytes)
            buffer.writeString("\r\n")
        }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            buffer.writeString("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(value)\r\n")
        }
        buffer.writeString("--\(boundary)--\r\n")
        return buffer
    }

    static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(data: try! JSONSerialization.data(withJSONObject: object))
    }

    static func image(_ relative: String) -> [UInt8] {
        [UInt8](FileManager.default.contents(atPath: SharedData.faces.appendingPathComponent(relative).path) ?? Data())
    }
}

extension TestResponse {
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
}

let multipartHeaders: HTTPFields = [.contentType: Body.multipartType]
let jsonHeaders: HTTPFields = [.contentType: "application/json"]
