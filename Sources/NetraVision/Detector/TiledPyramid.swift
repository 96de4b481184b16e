import Foundation

/// dlib's `input_rgb_image_pyramid<pyramid_down<6>>`: the image and its 5/6-scaled copies
/// packed into one tensor, so a single network pass scans every scale.
///
/// See `docs/dlib-models.md` §4.4 for the packing rules reproduced here.
struct TiledPyramid {
    /// Where each level sits in the tensor (inclusive), level 0 = the image itself.
    let levels: [PixelRect]
    let rows: Int
    let columns: Int

    init(imageHeight: Int, imageWidth: Int, padding: Int, outerPadding: Int) {
        var sizes = [(height: imageHeight, width: imageWidth)]
        var (height, width) = (imageHeight, imageWidth)
        while true {
            height = Int((5.0 / 6.0 * Double(height)).rounded(.down))
            width = Int((5.0 / 6.0 * Double(width)).rounded(.down))
            if height * width == 0 || height < 5 { break }
            sizes.append((height, width))
        }
        let totalHeight = sizes.reduce(0) { $0 + $1.height + padding } - 2 * padding
        var columnHeight = 0, previousWidth = 0
        for size in sizes {
            if size.width <= imageWidth - previousWidth - padding, 2 * (columnHeight - imageHeight) >= totalHeight - imageHeight {
                break
            }
            columnHeight += size.height + padding
            previousWidth = size.width
        }
        columnHeight -= padding
        rows = columnHeight + 2 * outerPadding
        columns = imageWidth + 2 * outerPadding

        var rects: [PixelRect] = []
        var y = outerPadding, index = 0
        while y < columnHeight + outerPadding, index < sizes.count {
            let size = sizes[index]
            rects.append(PixelRect(left: outerPadding, top: y, right: outerPadding + size.width - 1, bottom: y + size.height - 1))
            y += size.height + padding
            index += 1
        }
        y -= padding
        let right = outerPadding + imageWidth - 1
        while index < sizes.count {
            let size = sizes[index]
            let rect = PixelRect(left: right - (size.width - 1), top: y - 1 - (size.height - 1), right: right, bottom: y - 1)
            if rect.intersection(rects[0]).area > 0 { break }
            rects.append(rect)
            y -= size.height + padding
            index += 1
        }
        levels = rects
    }

    var shape: TensorShape { TensorShape(batch: 1, height: rows, width: columns, channels: 3) }

    /// Writes the normalised image into level 0 of an NHWC tensor (zeroed first), then each
    /// level as a corner-aligned bilinear resize of the previous level's tensor region.
    func fill(_ tensor: UnsafeMutablePointer<Float>, from pixels: UnsafeBufferPointer<UInt8>, means: [Float]) {
        tensor.initialize(repeating: 0, count: shape.elementCount)
        let base = levels[0]
        for y in 0..<base.height {
            let row = tensor + ((base.top + y) * columns + base.left) * 3
            let source = y * base.width * 3
            for x in 0..<base.width {
                for c in 0..<3 {
                    row[3 * x + c] = (Float(pixels[source + 3 * x + c]) - means[c]) / 256
                }
            }
        }
        for index in levels.indices.dropFirst() {
            resize(tensor, from: levels[index - 1], to: levels[index])
        }
    }

    private func resize(_ tensor: UnsafeMutablePointer<Float>, from source: PixelRect, to destination: PixelRect) {
        let xScale = Double(source.width - 1) / Double(max(destination.width - 1, 1))
        let yScale = Double(source.height - 1) / Double(max(destination.height - 1, 1))
        for r in 0..<destination.height {
            let y = Double(r) * yScale
            let top = Int(y), bottom = min(top + 1, source.height - 1)
            let fy = Float(y - Double(top))
            let topRow = tensor + ((source.top + top) * columns + source.left) * 3
            let bottomRow = tensor + ((source.top + bottom) * columns + source.left) * 3
            let out = tensor + ((destination.top + r) * columns + destination.left) * 3
            for c in 0..<destination.width {
                let x = Double(c) * xScale
                let left = Int(x), right = min(left + 1, source.width - 1)
                let fx = Float(x - Double(left))
                for k in 0..<3 {
                    let upper = (1 - fx) * topRow[3 * left + k] + fx * topRow[3 * right + k]
                    let lower = (1 - fx) * bottomRow[3 * left + k] + fx * bottomRow[3 * right + k]
                    out[3 * c + k] = (1 - fy) * upper + fy * lower
                }
            }
        }
    }

    /// Maps a window in tensor coordinates back to the image: to the level holding its
    /// centre (or the nearest level), then up by 6/5 per level.
    func imageRect(ofTensorRect rect: RealRect) -> RealRect {
        let center = (x: lround(rect.center.x), y: lround(rect.center.y))
        var chosen = 0, best = Double.infinity
        for (index, level) in levels.enumerated() {
            if (level.left...level.right).contains(center.x), (level.top...level.bottom).contains(center.y) {
                chosen = index
                break
            }
            let dx = Double(min(max(center.x, level.left), level.right) - center.x)
            let dy = Double(min(max(center.y, level.top), level.bottom) - center.y)
            let distance = (dx * dx + dy * dy).squareRoot()
            if distance < best {
                best = distance
                chosen = index
            }
        }
        let origin = levels[chosen]
        var mapped = RealRect(left: rect.left - Double(origin.left), top: rect.top - Double(origin.top),
                              right: rect.right - Double(origin.left), bottom: rect.bottom - Double(origin.top))
        for _ in 0..<chosen {
            mapped = RealRect(left: mapped.left * 1.2 + 0.3, top: mapped.top * 1.2 + 0.3,
                              right: mapped.right * 1.2 + 0.3, bottom: mapped.bottom * 1.2 + 0.3)
        }
        return mapped
    }
}
