import HTTPTypes
import Hummingbird
import NetraStore

/// Security headers on every response, errors included (it runs outside `ErrorMiddleware`),
/// and the `Host` check when allowed hosts are configured.
struct SecurityMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let allowedHosts: Set<String>
    /// HTTP/1 requests carry the host as the request's authority; a plain header is read as a fallback.
    private static let hostHeader = HTTPField.Name("Host")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        if let host = refusedHost(request) {
            response = try APIError(.badRequest, "host_not_allowed", "the Host header '\(host)' is not served here")
                .response(from: request, context: context)
        } else {
            response = try await next(request, context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        response.headers[.requestID] = context.id
        if request.uri.path.hasPrefix("/api/") { response.headers[.cacheControl] = "no-store" }
        return response
    }

    /// The requested host when allowed hosts are configured and it is not one of them (or the
    /// request names no single, well-formed host).
    private func refusedHost(_ request: Request) -> String? {
        guard !allowedHosts.isEmpty else { return nil }
        let named = [request.head.authority].compactMap { $0 } + request.headers[values: Self.hostHeader]
        guard let host = Self.host(ofAuthorities: named) else { return named.joined(separator: ", ") }
        return allowedHosts.contains(host) ? nil : host
    }

    /// The host of a request's `Host` values, lowercased and without brackets or port; `nil`
    /// for none, several different ones, or a malformed one (a port that is not a number).
    static func host(ofAuthorities authorities: [String]) -> String? {
        guard let first = authorities.first, authorities.allSatisfy({ $0.lowercased() == first.lowercased() }) else { return nil }
        let text = first.lowercased()
        let host: Substring, port: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return nil }
            port = rest.isEmpty ? nil : rest.dropFirst()
        } else {
            let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            host = parts[0]
            port = parts.count == 2 ? parts[1] : nil
        }
        if let port, port.isEmpty || port.count > 5 || !port.allSatisfy(\.isASCII) || !port.allSatisfy(\.isNumber) { return nil }
        return host.isEmpty ? nil : String(host)
    }

    /// Allowed host names as configured, in the form `host(ofAuthorities:)` gives (IPv6
    /// literals with or without brackets).
    static func normalised(allowedHosts: [String]) -> Set<String> {
        Set(allowedHosts.map { name in
            let lower = name.lowercased()
            return lower.hasPrefix("[") && lower.hasSuffix("]") ? String(lower.dropFirst().dropLast()) : lower
        })
    }
}

/// Turns every error into NETRA's JSON error shape; unexpected errors become a logged 500.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    /// The routes the router serves, to tell 404 from 405.
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as StoreError {
            let answer = APIError(storeError: error)
            if answer.status.code >= 500 { context.logger.error("store failure", metadata: ["error": "\(error)"]) }
            return try answer.response(from: request, context: context)
        } catch let error as HTTPError where error.status == .notFound {
            // A known path with another method is 405, with the methods it has.
            let methods = routes.methods(at: request.uri.path)
            guard !methods.isEmpty else {
                return try APIError(.notFound, "not_found", "no endpoint at \(request.uri.path)").response(from: request, context: context)
            }
            let allowed = Set(methods.map(\.rawValue)).sorted().joined(separator: ", ")
            return try APIError(.methodNotAllowed, "method_not_allowed", "\(request.method.rawValue) is not allowed here; use \(allowed)",
                                headers: [.allow: allowed]).response(from: request, context: context)
        } catch let error as HTTPError {
            let code: String
            switch error.status {
            case .notFound: code = "not_found"
            case .methodNotAllowed: code = "method_not_allowed"
            case .contentTooLarge: code = "body_too_large"
            default: code = "http_\(error.status.code)"
            }
            var response = try APIError(error.status, code, error.body ?? error.status.reasonPhrase).response(from: request, context: context)
            for field in error.headers where field.name != .contentLength && field.name != .contentType { response.headers.append(field) }
            return response
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(error)"])
            return try APIError(.internalServerError, "internal_error", "the request failed inside NETRA; see the server log")
                .response(from: request, context: context)
        }
    }
}
