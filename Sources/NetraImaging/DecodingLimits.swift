/// Bounds on what one decode may cost, checked before (and while) pixels are decoded, so a
/// hostile upload is refused cheaply instead of costing seconds and hundreds of megabytes.
public struct DecodingLimits: Sendable, Equatable {
    /// Largest accepted encoded file, in bytes.
    public var maxEncodedBytes: Int
    /// Largest accepted `width * height`, read from the image header.
    public var maxPixels: Int
    /// Most scans a JPEG may hold; each costs a pass over the whole image. Real encoders
    /// write at most a few dozen.
    public var maxScans: Int
    /// CPU time one decode may take, seconds; 0 places no bound.
    public var maxCPUSeconds: Double

    public init(maxEncodedBytes: Int = 10 * 1024 * 1024, maxPixels: Int = 40_000_000, maxScans: Int = 100,
                maxCPUSeconds: Double = 3) {
        self.maxEncodedBytes = maxEncodedBytes
        self.maxPixels = maxPixels
        self.maxScans = maxScans
        self.maxCPUSeconds = maxCPUSeconds
    }

    /// 10 MB encoded, 40 megapixels, 100 scans, 3 CPU seconds.
    public static let `default` = DecodingLimits()
}
