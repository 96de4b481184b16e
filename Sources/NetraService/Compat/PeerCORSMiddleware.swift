import Hummingbird

/// CORS for the compatible routes (browser clients such as CompreFace's webcam demo): their
/// preflight `OPTIONS` is answered 204, and their answers (errors included) carry
/// `Access-Control-Allow-Origin`, both with `compat.cors_origin`. NETRA's own routes get none.
struct PeerCORSMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let origin: String

    /// The paths the compatible APIs serve.
    static let prefixes = ["/api/v1/recognition", "/api/v1/detection", "/api/v1/verification", "/api/v1/static", "/v1/vision/face"]

    static func isPeerPath(_ path: String) -> Bool {
        prefixes.contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !origin.isEmpty, Self.isPeerPath(request.uri.path) else { return try await next(request, context) }
        if request.method == .options {
            var response = Response(status: .noContent)
            response.headers[.accessControlAllowOrigin] = origin
            response.headers[.accessControlAllowMethods] = "GET, POST, PUT, DELETE, OPTIONS"
            response.headers[.accessControlAllowHeaders] = "x-api-key, content-type"
            response.headers[.accessControlMaxAge] = "600"
            return response
        }
        var response = try await next(request, context)
        response.headers[.accessControlAllowOrigin] = origin
        return response
    }
}
