extension RGBImage {
    /// A smaller copy where each output pixel is the mean of the source pixels it covers
    /// (box filter), which avoids the aliasing of point sampling when shrinking a lot.
    /// Sizes larger than the image are clamped to it.
    public func resizedByAreaAverage(width newWidth: Int, height newHeight: Int) -> RGBImage {
        let outWidth = min(max(1, newWidth), width), outHeight = min(max(1, newHeight), height)
        if outWidth == width, outHeight == height { return self }
        let columnStarts = (0...outWidth).map { $0 * width / outWidth }
        let rowStarts = (0...outHeight).map { $0 * height / outHeight }
        var output = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        pixels.withUnsafeBufferPointer { source in
            for oy in 0..<outHeight {
                for ox in 0..<outWidth {
                    var sums = (0, 0, 0)
                    for y in rowStarts[oy]..<rowStarts[oy + 1] {
                        var offset = (y * width + columnStarts[ox]) * 3
                        for _ in columnStarts[ox]..<columnStarts[ox + 1] {
                            sums.0 += Int(source[offset])
                            sums.1 += Int(source[offset + 1])
                            sums.2 += Int(source[offset + 2])
                            offset += 3
                        }
                    }
                    let count = (rowStarts[oy + 1] - rowStarts[oy]) * (columnStarts[ox + 1] - columnStarts[ox])
                    let out = (oy * outWidth + ox) * 3
                    output[out] = UInt8((sums.0 + count / 2) / count)
                    output[out + 1] = UInt8((sums.1 + count / 2) / count)
                    output[out + 2] = UInt8((sums.2 + count / 2) / count)
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: output)
    }
}

extension RGBImage {
    /// The image mirrored left to right.
    public func mirrored() -> RGBImage {
        var output = [UInt8](repeating: 0, count: pixels.count)
        for y in 0..<height {
            for x in 0..<width {
                let from = (y * width + x) * 3, to = (y * width + width - 1 - x) * 3
                output[to] = pixels[from]
                output[to + 1] = pixels[from + 1]
                output[to + 2] = pixels[from + 2]
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }
}
