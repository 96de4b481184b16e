import HTTPTypes
import Hummingbird

/// The compatible APIs, each with its own error form.
enum PeerDialect: Sendable {
    /// Exadel CompreFace: `{"message": ..., "code": <CompreFace code>}`.
    case compreFace
    /// DeepStack / CodeProject.AI: `{"success": false, "error": ..., "duration": 0}`.
    case deepStack
}

/// A refusal in a peer's exact terms: the status, CompreFace's code, and the message.
struct PeerError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: Int
    let message: String
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, code: Int = 0, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    /// The body in a dialect's form.
    func response(_ dialect: PeerDialect, for request: Request, _ context: NetraRequestContext) throws -> Response {
        var response = switch dialect {
        case .compreFace: try JSONResponse.make(CompreFaceErrorBody(message: message, code: code), status: status, for: request, context)
        case .deepStack: try JSONResponse.make(DeepStackErrorBody(error: message), status: status, for: request, context)
        }
        for field in headers { response.headers.append(field) }
        return response
    }
}

private struct CompreFaceErrorBody: Encodable {
    let message: String
    let code: Int
}

private struct DeepStackErrorBody: Encodable {
    let success = false
    let error: String
    let duration = 0
}
