import Foundation
import HTTPTypes
import Hummingbird

/// The headers of the console's pages and files: a strict Content-Security-Policy (nothing
/// inline, nothing from elsewhere; the camera for this origin only), no framing, revalidated.
struct ConsolePageMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext

    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:", "connect-src 'self'", "object-src 'none'",
        "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
    ].joined(separator: "; ")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/console" || path.hasPrefix("/console/") else { return try await next(request, context) }
        // FileMiddleware redirects a folder to its path without the base (`/console/js` to
        // `/js/`), and `//x` would leave the site: the console has one page and one folder.
        guard !path.contains("//") else { throw APIError(.notFound, "not_found", "no endpoint at \(path)") }
        var response = try await next(request, context)
        if response.status.code / 100 == 3, let location = response.headers[.location], !location.hasPrefix("/console") {
            response.headers[.location] = "/console" + location
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.permissionsPolicy] = "camera=(self), microphone=()"
        response.headers[.cacheControl] = "no-cache"
        return response
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let permissionsPolicy = HTTPField.Name("Permissions-Policy")!
}
