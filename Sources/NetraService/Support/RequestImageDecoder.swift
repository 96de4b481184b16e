import Foundation
import Hummingbird
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
