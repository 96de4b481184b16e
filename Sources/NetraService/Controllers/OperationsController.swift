import Foundation
import Hummingbird
import NetraStore
import NetraVision

/// Health, readiness, metrics and the API's own documentation.
struct OperationsController: Sendable {
    let state: ServiceState
    let workers: VisionWorkers

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.get("health", use: health)
        group.get("ready", use: ready)
        group.get("metrics", use: metrics)
        group.get("openapi.yaml") { _, _ in try Self.resource("openapi.yaml", contentType: "application/yaml") }
        group.get("docs") { _, _ in
            var response = try Self.resource("docs.html", contentType: "text/html; charset=utf-8")
            response.headers[.contentSecurityPolicy] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            return response
        }
    }

    struct Health: Encodable {
        let status: String
        let modelLoaded: Bool
        let timestamp: String

        enum CodingKeys: String, CodingKey {
            case status, timestamp
            case modelLoaded = "model_loaded"
        }
    }

    /// 200 while the process can serve or is still loading; 503 once loading failed, so that
    /// a liveness probe or container health check sees the failure instead of a healthy idler.
    func health(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let failed = state.loadFailed
        let health = Health(status: failed ? "unhealthy" : "healthy", modelLoaded: state.isReady,
                            timestamp: ISO8601DateFormatter().string(from: Date()))
        return try JSONResponse.make(health, status: failed ? .serviceUnavailable : .ok, for: request, context)
    }

    struct Readiness: Encodable {
        let status: String
        let indexSize: Int?
        /// Stored faces left out of the index (no supplied key opens them, or they fail
        /// authentication), and why; the status is then "degraded".
        var unreadableFaces: Int?
        var problems: [String]?
        /// "unreachable" while a replica answers from memory (its database lost).
        var store: String?

        enum CodingKeys: String, CodingKey {
            case status, problems, store
            case indexSize = "index_size"
            case unreadableFaces = "unreadable_faces"
        }
    }

    /// 503 while loading (or after a failed load); 200 once loaded, with status "degraded" and
    /// the reasons when stored faces could not be opened: the service answers, but those
    /// people will not be recognised until the key is supplied or the rows are re-enrolled.
    func ready(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        guard let loaded = try? state.ready() else {
            return try JSONResponse.make(Readiness(status: state.loadFailed ? "failed" : "loading", indexSize: nil), status: .serviceUnavailable, for: request, context)
        }
        if let reason = loaded.store.unavailabilityReason {
            var readiness = Readiness(status: "store_unavailable", indexSize: loaded.store.index.count)
            readiness.problems = [reason]
            return try JSONResponse.make(readiness, status: .serviceUnavailable, for: request, context)
        }
        let report = loaded.store.loadReport
        // Ready, degraded: identify and verify still answer, so the replica stays in rotation.
        let degradation = loaded.store.degradationReason
        let problems = report.problems + (degradation.map { [$0] } ?? [])
        var readiness = Readiness(status: problems.isEmpty ? "ready" : "degraded", indexSize: loaded.store.index.count)
        if !problems.isEmpty {
            readiness.unreadableFaces = report.unreadableFaceCount
            readiness.problems = problems
        }
        if degradation != nil { readiness.store = "unreachable" }
        return try JSONResponse.make(readiness, for: request, context)
    }

    func metrics(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        ServiceMetrics.visionQueue.record(workers.load)
        ServiceMetrics.residentMemory.record(ProcessMemory.residentBytes())
        if let loaded = try? state.ready() {
            ServiceMetrics.indexSize.record(loaded.store.index.count)
            ServiceMetrics.unreadableFaces.record(loaded.store.loadReport.unreadableFaceCount)
            ServiceMetrics.storeDegraded.record(loaded.store.degradationReason == nil ? 0 : 1)
            if let (subjects, faces) = try? await blocking({ (try loaded.store.subjectCount(), try loaded.store.faceCount()) }) {
                ServiceMetrics.subjects.record(subjects)
                ServiceMetrics.faces.record(faces)
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: ServiceMetrics.render())))
    }

    static func resource(_ name: String, contentType: String) throws -> Response {
        guard let url = ServiceResources.url(name), let data = try? Data(contentsOf: url)
        else { throw APIError(.internalServerError, "missing_resource", "\(name) is missing from NETRA's resources") }
        return Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
