/// Bounds checked before any pixel is decoded, so hostile uploads are rejected cheaply.
public struct DecodingLimits: Sendable, Equatable {
    /// Largest accepted encoded file, in bytes.
    public var maxEncodedBytes: Int
    /// Largest accepted `width * height`, read from the image header.
    public var maxPixels: Int

    public init(maxEncodedBytes: Int = 10 * 1024 * 1024, maxPixels: Int = 40_000_000) {
        self.maxEncodedBytes = maxEncodedBytes
        self.maxPixels = maxPixels
    }

    /// 10 MB encoded, 40 megapixels.
    public static let `default` = DecodingLimits()
}
