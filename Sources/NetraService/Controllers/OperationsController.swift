import Foundation
import Hummingbird
import NetraStore

/// Health, readiness, metrics and the API's own documentation.
struct OperationsController: Sendable {
    let state: ServiceState
    let workers: VisionWorkers

    var handlers: [String: @Sendable (Request, NetraRequestContext) async throws -> Response] {
        [
            "GET /health": health,
            "GET /ready": ready,
            "GET /metrics": metrics,
            "GET /openapi.yaml": { _, _ in try Self.resource("openapi.yaml", contentType: "application/yaml") },
            "GET /docs": { _, _ in
                var response = try Self.resource("docs.html", contentType: "text/html; charset=utf-8")
                response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
                return response
            },
        ]
    }

    struct Health: Encodable {
        let status = "healthy"
        let modelLoaded: Bool
        let timestamp: String
    }

    func health(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let formatter = ISO8601DateFormatter()
        return try JSONResponse.make(Health(modelLoaded: state.isReady, timestamp: formatter.string(from: Date())))
    }

    struct Readiness: Encodable {
        let status: String
        let indexSize: Int?
    }

    func ready(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        guard let loaded = try? state.ready() else {
            return try JSONResponse.make(Readiness(status: "loading", indexSize: nil), status: .serviceUnavailable)
        }
        return try JSONResponse.make(Readiness(status: "ready", indexSize: loaded.store.index.count))
    }

    func metrics(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        ServiceMetrics.visionQueue.record(workers.load)
        if let loaded = try? state.ready() {
            ServiceMetrics.indexSize.record(loaded.store.index.count)
            if let (subjects, faces) = try? await blocking({ (try loaded.store.subjectCount(), try loaded.store.faceCount()) }) {
                ServiceMetrics.subjects.record(subjects)
                ServiceMetrics.faces.record(faces)
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: ServiceMetrics.render())))
    }

    static func resource(_ name: String, contentType: String) throws -> Response {
        guard let url = Bundle.module.url(forResource: "Resources/\(name)", withExtension: nil),
              let data = try? Data(contentsOf: url)
        else { throw APIError(.internalServerError, "missing_resource", "\(name) is missing from NETRA's resources") }
        return Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
