import CImageCodecs

/// Encodes an `RGBImage` as PNG through libpng (for plots and debugging output; face images
/// are never written anywhere).
public enum PNGEncoder {
    /// Why libpng refused to encode.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func encode(_ image: RGBImage) throws(Failure) -> [UInt8] {
        var file = netra_encoded_file()
        let status = image.pixels.withUnsafeBufferPointer { pixels in
            netra_png_encode_rgb(pixels.baseAddress, UInt32(image.width), UInt32(image.height), &file)
        }
        defer { netra_codec_free(file.data) }
        guard status == NETRA_CODEC_OK, let data = file.data else {
            let message = withUnsafeBytes(of: file.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw Failure(description: "PNG encoding failed: \(message)")
        }
        return Array(UnsafeBufferPointer(start: data, count: file.size))
    }
}
