import NetraImaging

/// Image edits the tests make from public photos: crops and side-by-side "group photos".
extension RGBImage {
    /// The pixels of `x..<x+width`, `y..<y+height` (clamped to the image).
    public func cropped(x: Int, y: Int, width: Int, height: Int) -> RGBImage {
        let left = max(0, x), top = max(0, y)
        let right = min(self.width, x + width), bottom = min(self.height, y + height)
        var pixels: [UInt8] = []
        pixels.reserveCapacity((right - left) * (bottom - top) * 3)
        for row in top..<bottom {
            pixels += self.pixels[(row * self.width + left) * 3..<(row * self.width + right) * 3]
        }
        return RGBImage(width: right - left, height: bottom - top, pixels: pixels)
    }

    /// `images` scaled to `height` and placed left to right on a grey background, `gap` apart.
    public static func sideBySide(_ images: [RGBImage], height: Int, gap: Int = 40) -> RGBImage {
        let scaled = images.map { $0.resizedByAreaAverage(width: max(1, $0.width * height / $0.height), height: height) }
        let width = scaled.map(\.width).reduce(0, +) + gap * (scaled.count + 1)
        var pixels = [UInt8](repeating: 128, count: width * height * 3)
        var left = gap
        for image in scaled {
            for row in 0..<height {
                let source = image.pixels[row * image.width * 3..<(row + 1) * image.width * 3]
                pixels.replaceSubrange((row * width + left) * 3..<(row * width + left + image.width) * 3, with: source)
            }
            left += image.width + gap
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
