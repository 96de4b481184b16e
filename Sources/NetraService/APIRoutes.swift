import Hummingbird
import NetraStore

/// One endpoint: method, OpenAPI-style path (`{id}`) and the scope an API key needs.
struct Endpoint: Sendable {
    let method: HTTPRequest.Method
    let path: String
    /// `nil` for public endpoints (health, readiness, metrics, documentation).
    let scope: APIScope?

    init(_ method: HTTPRequest.Method, _ path: String, _ scope: APIScope?) {
        self.method = method
        self.path = path
        self.scope = scope
    }

    /// Hummingbird's path syntax (`:id`).
    var routerPath: String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment in
            segment.hasPrefix("{") && segment.hasSuffix("}") ? ":" + segment.dropFirst().dropLast() : String(segment)
        }.joined(separator: "/")
    }

    /// Whether a request path fits this endpoint's path (any value in a `{parameter}` segment).
    func matches(path requested: String) -> Bool {
        let pattern = path.split(separator: "/"), actual = requested.split(separator: "/")
        return pattern.count == actual.count && zip(pattern, actual).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
    }
}

/// The service's endpoints: the one list that registers routes, drives authorisation and is
/// compared with `openapi.yaml` by the tests.
enum APIRoutes {
    /// Method and path of every endpoint (the handlers need the running service).
    static let endpoints: [Endpoint] = [
        Endpoint(.post, "/api/v1/verify", .recognize),
        Endpoint(.post, "/api/v1/similarity", .recognize),
        Endpoint(.post, "/api/v1/detect", .recognize),
        Endpoint(.post, "/api/v1/identify", .recognize),
        Endpoint(.post, "/api/v1/enroll", .manage),
        Endpoint(.post, "/api/v1/subjects", .manage),
        Endpoint(.get, "/api/v1/subjects", .manage),
        Endpoint(.get, "/api/v1/subjects/{id}", .manage),
        Endpoint(.patch, "/api/v1/subjects/{id}", .manage),
        Endpoint(.delete, "/api/v1/subjects/{id}", .manage),
        Endpoint(.post, "/api/v1/subjects/{id}/faces", .manage),
        Endpoint(.delete, "/api/v1/subjects/{id}/faces/{face_id}", .manage),
        Endpoint(.get, "/health", nil),
        Endpoint(.get, "/ready", nil),
        Endpoint(.get, "/metrics", nil),
        Endpoint(.get, "/openapi.yaml", nil),
        Endpoint(.get, "/docs", nil),
    ]

    /// The endpoint serving `method` at `path`, if any.
    static func endpoint(method: HTTPRequest.Method, path: String) -> Endpoint? {
        endpoints.first { $0.method == method && $0.matches(path: path) }
    }
}
