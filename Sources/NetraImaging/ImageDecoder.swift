import CImageCodecs
import Foundation

/// Turns encoded JPEG or PNG bytes into an upright `RGBImage`, within `limits`.
///
/// The format is recognised from the leading bytes. Sizes are checked against the limits
/// before any pixel is decoded, and the work an input asks for (pixels for its bytes, JPEG
/// scans, CPU time) is bounded; every failure is an `ImageDecodingError`, never a crash.
/// Data that ends before the image does is an error, never a grey-padded image.
/// Decoding happens in memory only: image bytes are never written anywhere.
public struct ImageDecoder: Sendable {
    public var limits: DecodingLimits

    public init(limits: DecodingLimits = .default) {
        self.limits = limits
    }

    /// Decodes an image held in memory.
    public func decode(_ data: [UInt8]) throws(ImageDecodingError) -> RGBImage {
        guard !data.isEmpty else { throw .empty }
        guard data.count <= limits.maxEncodedBytes else {
            throw .encodedSizeTooLarge(bytes: data.count, limit: limits.maxEncodedBytes)
        }
        guard let format = ImageFormat.detect(data) else { throw .unrecognizedFormat }
        if let declared = ImageHeader.dimensions(of: data, format: format) {
            // A PNG header may declare 2^32 - 1 by 2^32 - 1: the product overflows (found by fuzzing).
            let (pixels, overflow) = declared.width.multipliedReportingOverflow(by: declared.height)
            if overflow || pixels > limits.maxPixels {
                throw .tooManyPixels(width: declared.width, height: declared.height, limit: limits.maxPixels)
            }
        }
        let image = try decodePixels(data, format: format)
        switch format {
        case .jpeg: return image.applying(ExifOrientation.read(fromJPEG: data))
        case .png: return image
        }
    }

    /// Decodes an image held in memory.
    public func decode(_ data: Data) throws(ImageDecodingError) -> RGBImage {
        try decode([UInt8](data))
    }

    /// Reads and decodes a file; its size is checked before it is read.
    public func decode(contentsOf url: URL) throws(ImageDecodingError) -> RGBImage {
        let path = url.path
        let size: Int
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        } catch {
            throw .unreadableFile(path: path, reason: Self.reason(for: error))
        }
        guard size <= limits.maxEncodedBytes else {
            throw .encodedSizeTooLarge(bytes: size, limit: limits.maxEncodedBytes)
        }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: path, reason: Self.reason(for: error))
        }
        return try decode(data)
    }

    private func decodePixels(_ data: [UInt8], format: ImageFormat) throws(ImageDecodingError) -> RGBImage {
        var decoded = netra_decoded_image()
        let codecLimits = netra_codec_limits(max_pixels: UInt64(max(0, limits.maxPixels)),
                                             max_scans: UInt32(clamping: max(0, limits.maxScans)),
                                             max_cpu_seconds: max(0, limits.maxCPUSeconds))
        let status = data.withUnsafeBufferPointer { bytes in
            switch format {
            case .jpeg: netra_jpeg_decode(bytes.baseAddress, bytes.count, codecLimits, &decoded)
            case .png: netra_png_decode(bytes.baseAddress, bytes.count, codecLimits, &decoded)
            }
        }
        defer { netra_codec_free(decoded.pixels) }
        switch status {
        case NETRA_CODEC_OK:
            let width = Int(decoded.width), height = Int(decoded.height)
            let pixels = [UInt8](UnsafeBufferPointer(start: decoded.pixels, count: width * height * 3))
            return RGBImage(width: width, height: height, pixels: pixels)
        case NETRA_CODEC_TOO_LARGE:
            throw .tooManyPixels(width: Int(decoded.width), height: Int(decoded.height), limit: limits.maxPixels)
        case NETRA_CODEC_TRUNCATED:
            throw .truncated(format)
        case NETRA_CODEC_OUT_OF_MEMORY:
            throw .outOfMemory
        case NETRA_CODEC_EXCESSIVE:
            throw .tooCostly(format, detail: Self.message(of: &decoded))
        default:
            throw .corrupt(format, detail: Self.message(of: &decoded))
        }
    }

    private static func message(of decoded: inout netra_decoded_image) -> String {
        withUnsafeBytes(of: &decoded.message) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func reason(for error: Error) -> String {
        let nsError = error as NSError
        return nsError.localizedFailureReason ?? nsError.localizedDescription
    }
}
