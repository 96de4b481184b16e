import Foundation
import HTTPTypes
import Hummingbird

/// An error answered to the client as `{"status":"error","error":{"code","message"}}`.
///
/// Every refusal of bad input is one of these, with a 4xx status; anything else that escapes
/// a handler becomes a 500 `internal_error` (and is logged), so bad input never reaches that path.
public struct APIError: Error, HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    /// A stable machine-readable code, e.g. `no_face`, `image_too_large`.
    public let code: String
    public let message: String
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try JSONResponse.make(ErrorBody(error: .init(code: code, message: message)), status: status, for: request, context)
        for field in headers { response.headers.append(field) }
        return response
    }

    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }
}

/// `{"status":"error","error":{"code","message"}}`.
private struct ErrorBody: Encodable {
    struct Detail: Encodable {
        let code: String
        let message: String
    }

    let status = "error"
    let error: Detail
}

/// A JSON answer, encoded by the request context's `responseEncoder` (keys as each wire type
/// spells them, sorted, slashes unescaped), with a status and, for answers about faces,
/// `Cache-Control: no-store`.
enum JSONResponse {
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, noStore: Bool = false,
                     for request: Request, _ context: some RequestContext) throws -> Response {
        var response = try context.responseEncoder.encode(value, from: request, context: context)
        response.status = status
        if noStore { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
