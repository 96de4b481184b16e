import Foundation

/// Why an image could not be decoded; every message says what was wrong with the input.
public enum ImageDecodingError: Error, Equatable, Sendable {
    /// The input has no bytes.
    case empty
    /// The input starts with neither a JPEG nor a PNG signature.
    case unrecognizedFormat
    /// The encoded input is larger than `DecodingLimits.maxEncodedBytes`.
    case encodedSizeTooLarge(bytes: Int, limit: Int)
    /// The header declares more pixels than `DecodingLimits.maxPixels`.
    case tooManyPixels(width: Int, height: Int, limit: Int)
    /// The data ends before the image does.
    case truncated(ImageFormat)
    /// The data is damaged or not valid for its format; `detail` is the codec's explanation.
    case corrupt(ImageFormat, detail: String)
    /// The data asks for more work than its size or the limits allow: more pixels than its
    /// bytes can encode (a decompression bomb), too many JPEG scans, or too much CPU time.
    case tooCostly(ImageFormat, detail: String)
    /// The decoder could not allocate memory for the pixels.
    case outOfMemory
    /// The file could not be read at all.
    case unreadableFile(path: String, reason: String)
}

extension ImageDecodingError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case .empty:
            return "image data is empty"
        case .unrecognizedFormat:
            return "not a JPEG or PNG image"
        case let .encodedSizeTooLarge(bytes, limit):
            return "image file is \(bytes) bytes, the limit is \(limit) bytes"
        case let .tooManyPixels(width, height, limit):
            return "image is \(width) x \(height) pixels, the limit is \(Self.megapixels(limit)) megapixels"
        case let .truncated(format):
            return "\(format.rawValue) data is truncated"
        case let .corrupt(format, detail):
            return "\(format.rawValue) data is corrupt: \(detail)"
        case let .tooCostly(format, detail):
            return "\(format.rawValue) refused: \(detail)"
        case .outOfMemory:
            return "not enough memory to decode the image"
        case let .unreadableFile(path, reason):
            return "cannot read \(path): \(reason)"
        }
    }

    public var errorDescription: String? { description }

    private static func megapixels(_ pixels: Int) -> String {
        let value = Double(pixels) / 1_000_000
        return value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
