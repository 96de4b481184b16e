import Foundation
import Hummingbird
import NetraIdentity
import NetraImaging

/// Decodes request images with HTTP errors a client can act on.
struct RequestImageDecoder: Sendable {
    let decoder: ImageDecoder

    /// The decoded image of field `field`; undecodable input is a 4xx naming the field.
    func decode(_ bytes: [UInt8], field: String) throws -> RGBImage {
        do {
            return try decoder.decode(bytes)
        } catch {
            let code: String, status: HTTPResponse.Status
            switch error {
            case .empty: (status, code) = (.badRequest, "empty_file")
            case .encodedSizeTooLarge: (status, code) = (.contentTooLarge, "image_file_too_large")
            case .tooManyPixels: (status, code) = (.unprocessableContent, "image_too_large")
            case .unrecognizedFormat: (status, code) = (.unprocessableContent, "not_an_image")
            case .truncated: (status, code) = (.unprocessableContent, "truncated_image")
            case .tooCostly: (status, code) = (.unprocessableContent, "image_too_costly")
            case .corrupt, .unreadableFile, .outOfMemory: (status, code) = (.unprocessableContent, "invalid_image")
            }
            throw APIError(status, code, "\(field): \(error)")
        }
    }
}

/// Runs a use case, answering its refusals in HTTP's terms. Failures of the models and the
/// store go on to `ErrorMiddleware`, which answers them (a 5xx is logged, its text withheld).
func identityCall<T>(_ body: () throws(IdentityError) -> T) throws -> T {
    do {
        return try body()
    } catch let .vision(error) {
        throw error
    } catch let .store(error) {
        throw error
    } catch {
        throw APIError(identityError: error)
    }
}

extension APIError {
    /// The HTTP form of a use case's refusal.
    init(identityError error: IdentityError) {
        switch error {
        case .noFace: self.init(.unprocessableContent, "no_face", error.description)
        case let .ambiguousName(name, count): self.init(.conflict, "ambiguous_name", "\(count) subjects are named \(name); use subject_id")
        case .notFound: self.init(.notFound, "not_found", error.description)
        case let .enrollmentRejected(rejection):
            switch rejection {
            case .doesNotMatchSubject: self.init(.conflict, rejection.reason, rejection.description)
            default: self.init(.unprocessableContent, rejection.reason, rejection.description)
            }
        case .vision: self.init(.internalServerError, "internal_error", "the face models failed; see the server log")
        case let .store(storeError): self.init(storeError: storeError)
        }
    }
}
