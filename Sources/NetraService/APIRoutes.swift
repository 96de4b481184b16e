import Hummingbird
import NetraStore

/// One endpoint: method, OpenAPI-style path (`{id}`), the scope an API key needs, and its handler.
struct Route: Sendable {
    let method: HTTPRequest.Method
    let path: String
    /// `nil` for public endpoints (health, readiness, metrics, documentation).
    let scope: APIScope?
    let handler: @Sendable (Request, NetraRequestContext) async throws -> Response

    /// Hummingbird's path syntax (`:id`).
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }

    func matches(method: HTTPRequest.Method, path requested: String) -> Bool {
        guard method == self.method else { return false }
        let pattern = path.split(separator: "/"), actual = requested.split(separator: "/")
        return pattern.count == actual.count && zip(pattern, actual).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

/// The service's endpoints: the one list that registers routes, drives authorisation and is
/// compared with `openapi.yaml` by the tests.
enum APIRoutes {
    /// Method and path of every endpoint (the handlers need the running service).
    static let endpoints: [(method: HTTPRequest.Method, path: String, scope: APIScope?)] = [
        (.post, "/api/v1/verify", .recognize),
        (.post, "/api/v1/similarity", .recognize),
        (.post, "/api/v1/detect", .recognize),
        (.post, "/api/v1/identify", .recognize),
        (.post, "/api/v1/enroll", .manage),
        (.post, "/api/v1/subjects", .manage),
        (.get, "/api/v1/subjects", .manage),
        (.get, "/api/v1/subjects/{id}", .manage),
        (.patch, "/api/v1/subjects/{id}", .manage),
        (.delete, "/api/v1/subjects/{id}", .manage),
        (.post, "/api/v1/subjects/{id}/faces", .manage),
        (.delete, "/api/v1/subjects/{id}/faces/{face_id}", .manage),
        (.get, "/health", nil),
        (.get, "/ready", nil),
        (.get, "/metrics", nil),
        (.get, "/openapi.yaml", nil),
        (.get, "/docs", nil),
    ]

    static func match(method: HTTPRequest.Method, path: String) -> (path: String, scope: APIScope?)? {
        let probe = endpoints.first { endpoint in
            Route(method: endpoint.method, path: endpoint.path, scope: endpoint.scope) { _, _ in Response(status: .ok) }
                .matches(method: method, path: path)
        }
        return probe.map { ($0.path, $0.scope) }
    }
}
