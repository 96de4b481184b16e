/// An 8-bit RGB picture: the one pixel format every NETRA stage consumes.
///
/// Pixels are stored row-major, top row first, as interleaved R, G, B bytes, so a decoded
/// image is already in the channels-last (NHWC) order the networks read.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height * 3` bytes.
    public let pixels: [UInt8]

    /// Wraps pixels that are already interleaved RGB; `pixels.count` must be `width * height * 3`.
    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage needs width * height * 3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// The pixel at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> RGBPixel {
        let offset = (y * width + x) * 3
        return RGBPixel(red: pixels[offset], green: pixels[offset + 1], blue: pixels[offset + 2])
    }

    /// Number of pixels (`width * height`).
    public var pixelCount: Int { width * height }
}

/// One RGB pixel.
public struct RGBPixel: Sendable, Equatable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public var description: String { "(\(red), \(green), \(blue))" }
}
