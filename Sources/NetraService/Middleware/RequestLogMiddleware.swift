import Hummingbird
import Logging
import NetraIdentity

/// One log line per request: method, path, status and time. Never the query string (clients
/// such as DeepStack's send `api_key` there), headers or bodies, nor the path of CompreFace's
/// image URLs, which carry an API key (`/api/v1/static/{api_key}/...`), nor the ids of liveness
/// challenges (`/api/v1/liveness/challenges/{id}`), which are their only secret.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let level: Logger.Level

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        context.logger.log(level: level, "request", metadata: Self.metadata(request, status: response.status, since: start))
        return response
    }

    private static let staticImages = "/api/v1/static/"
    private static let livenessChallenges = "/api/v1/liveness/challenges/"

    /// What the line records.
    static func metadata(_ request: Request, status: HTTPResponse.Status, since start: ContinuousClock.Instant) -> Logger.Metadata {
        var path = request.uri.path
        if path.hasPrefix(staticImages) { path = staticImages + "{api_key}/images/{image_id}" }
        if path.hasPrefix(livenessChallenges) { path = livenessChallenges + "{id}" }
        return ["hb.request.method": .string(request.method.rawValue), "hb.request.path": .string(path),
         "hb.response.status": .stringConvertible(status.code), "netra.duration_ms": .stringConvertible(start.millisecondsElapsed)]
    }
}
