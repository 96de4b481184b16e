import Foundation
import HTTPTypes
import Hummingbird
import NetraIdentity
import NetraStore

/// Answers every failure of a compatible route in its peer's form, so that the peer's clients
/// (which read every body as JSON of their peer's shape) understand NETRA's refusals too: its
/// own `APIError`s (scopes, rate limits, size limits, bad images) are translated, the store's
/// and the models' failures become the peer's generic error (and are logged).
struct PeerErrorMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let dialect: PeerDialect

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return try answer(for: error, request, context).response(dialect, for: request, context)
        }
    }

    /// The peer's answer to a failure; failures inside NETRA are logged, their text withheld.
    private func answer(for error: Error, _ request: Request, _ context: Context) -> PeerError {
        switch error {
        case let error as PeerError:
            return error
        case let error as APIError:
            return translated(error, request)
        case let IdentityError.store(error), let error as StoreError:
            let answer = APIError(storeError: error)
            if answer.status.code >= 500 { context.logger.error("store failure", metadata: ["error": "\(error)"]) }
            return translated(answer, request)
        case let error as IdentityError where !Self.isFault(error):
            return translated(APIError(identityError: error), request)
        case let error as HTTPError:
            return PeerError(error.status == .unprocessableContent ? .badRequest : error.status, error.body ?? error.status.reasonPhrase)
        default:
            context.logger.error("unexpected error", metadata: ["error": "\(error)"])
            return PeerError(.internalServerError, dialect == .compreFace ? "Something went wrong, please try again" : "error occured on the server")
        }
    }

    private static func isFault(_ error: IdentityError) -> Bool {
        if case .vision = error { return true }
        return false
    }

    /// NETRA's refusal in the peer's terms: the peer's status and code where it has one for the
    /// same problem, else NETRA's status (422 becomes the peers' 400) and message.
    private func translated(_ error: APIError, _ request: Request) -> PeerError {
        let status = error.status == .unprocessableContent ? .badRequest : error.status
        switch (dialect, error.code) {
        case (.compreFace, "missing_api_key"):
            return PeerError(.badRequest, code: 20, "Missing header: x-api-key")
        case (.compreFace, "invalid_api_key"):
            return PeerError(.notFound, code: 10, "\(Self.compreFaceService(request)) service with this API key not found", headers: error.headers)
        case (.compreFace, "insufficient_scope"), (.compreFace, "collection_not_allowed"), (.compreFace, "collection_not_found"):
            return PeerError(error.status, code: 10, error.message, headers: error.headers)
        case (.compreFace, "no_face"):
            return PeerError(.badRequest, code: 28, "No face is found in the given image")
        case (.compreFace, "invalid_base64"):
            return PeerError(.badRequest, code: 21, "Provided value is not Base64")
        case (.compreFace, "ambiguous_name"):
            return PeerError(.badRequest, code: 26, "several subjects have this name; tell them apart with NETRA's own API")
        case (.deepStack, "ambiguous_name"):
            return PeerError(.badRequest, "several people have this userid; tell them apart with NETRA's own API")
        case (.compreFace, "invalid_parameter"), (.compreFace, "invalid_field"):
            return PeerError(.badRequest, code: 26, error.message)
        case (.compreFace, let code) where Self.imageCodes.contains(code):
            return PeerError(status, code: 21, error.message, headers: error.headers)
        case (.compreFace, _):
            return PeerError(status, code: status == .badRequest ? 26 : 0, error.message, headers: error.headers)
        case (.deepStack, "missing_api_key"), (.deepStack, "invalid_api_key"):
            return PeerError(.unauthorized, "Incorrect api key", headers: error.headers)
        case (.deepStack, _):
            return PeerError(status, error.message, headers: error.headers)
        }
    }

    /// NETRA's codes for an image it cannot use: CompreFace's code 21 (the file).
    private static let imageCodes: Set = ["empty_file", "image_file_too_large", "image_too_large", "not_an_image", "truncated_image",
                                          "image_too_costly", "invalid_image", "unsupported_content_type"]

    /// CompreFace names the service a key belongs to after the route.
    private static func compreFaceService(_ request: Request) -> String {
        let path = request.uri.path
        if path.hasPrefix("/api/v1/detection") { return "Detection" }
        if path.hasPrefix("/api/v1/verification") { return "Verification" }
        return "Recognition"
    }
}
