import Hummingbird
import Logging
import NetraIdentity

/// One log line per request: method, path, status and time. Never the query string (clients
/// such as DeepStack's send `api_key` there), headers or bodies.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let level: Logger.Level

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        context.logger.log(level: level, "request", metadata: Self.metadata(request, status: response.status, since: start))
        return response
    }

    /// What the line records.
    static func metadata(_ request: Request, status: HTTPResponse.Status, since start: ContinuousClock.Instant) -> Logger.Metadata {
        ["hb.request.method": .string(request.method.rawValue), "hb.request.path": .string(request.uri.path),
         "hb.response.status": .stringConvertible(status.code), "netra.duration_ms": .stringConvertible(start.millisecondsElapsed)]
    }
}
