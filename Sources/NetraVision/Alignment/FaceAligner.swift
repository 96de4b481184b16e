import Foundation
import NetraImaging

/// Where and how to cut a face chip out of an image: dlib's `chip_details`.
public struct ChipDetails: Sendable, Equatable {
    public let left: Double
    public let top: Double
    public let right: Double
    public let bottom: Double
    /// Rotation of the chip in the image, radians.
    public let angle: Double
    public let size: Int

    var rect: RealRect { RealRect(left: left, top: top, right: right, bottom: bottom) }

    /// A slightly different crop of the same face, for jittered descriptors: the centre moved
    /// by up to 2 % of the chip's side, the side scaled by 0.97 to 1.03, the angle turned by up
    /// to 5 degrees.
    func jittered(using generator: inout SeededGenerator) -> ChipDetails {
        let side = right - left
        let center = (x: (left + right) / 2 + side * Double.random(in: -0.02...0.02, using: &generator),
                      y: (top + bottom) / 2 + side * Double.random(in: -0.02...0.02, using: &generator))
        let half = side * Double.random(in: 0.97...1.03, using: &generator) / 2
        return ChipDetails(left: center.x - half, top: center.y - half, right: center.x + half, bottom: center.y + half,
                           angle: angle + Double.random(in: -5...5, using: &generator) * .pi / 180, size: size)
    }
}

/// Aligns a face for the embedder: rotates, scales and crops it so the eyes and nose land on
/// a fixed template, giving the 150x150 chip dlib's ResNet was trained on (padding 0.25).
///
/// Reproduces dlib's `get_face_chip_details` and `extract_image_chip` pixel for pixel,
/// including the pre-shrinking of large faces with `pyramid_down<2>`.
public enum FaceAligner {
    public static let chipSize = 150
    public static let padding = 0.25

    /// The 5-point template in unit coordinates, in the shape predictor's point order.
    static let template: [Point] = [
        Point(x: 0.8595674595992, y: 0.2134981538014), Point(x: 0.6460604764104, y: 0.2289674387677),
        Point(x: 0.1205750620789, y: 0.2137274526848), Point(x: 0.3340850613712, y: 0.2290642403242),
        Point(x: 0.4901123135679, y: 0.6277975316475),
    ]

    /// The chip that puts `landmarks` (5 points from `ShapePredictor`) on the template.
    public static func chipDetails(for landmarks: [PixelPoint], size: Int = chipSize, padding: Double = padding) -> ChipDetails {
        let side = Double(size)
        let targets = template.map {
            Point(x: (padding + $0.x) / (2 * padding + 1) * side, y: (padding + $0.y) / (2 * padding + 1) * side)
        }
        let transform = SimilarityTransform(mapping: targets, to: landmarks.map { Point(x: Double($0.x), y: Double($0.y)) })
        let angle = atan2(transform.b, transform.a)
        let scale = (transform.a * transform.a + transform.b * transform.b).squareRoot()
        let center = transform.apply(Point(x: side / 2, y: side / 2))
        let rect = RealRect.centered(at: center, width: side * scale, height: side * scale)
        return ChipDetails(left: rect.left, top: rect.top, right: rect.right, bottom: rect.bottom, angle: angle, size: size)
    }

    /// Cuts the chip described by `details` out of `image` (bilinear, black outside).
    public static func extractChip(from image: RGBImage, details: ChipDetails) -> RGBImage {
        let rect = details.rect
        let pixelCount = Double(details.size * details.size)

        var depth = 0, grow = 2.0
        var shrunk = rect.halved
        while shrunk.area > pixelCount {
            shrunk = shrunk.halved
            depth += 1
            grow = grow * 2 + 2
        }

        // The part of the image the rotated chip can touch, grown for the pyramid filter.
        let center = rect.center
        let corners = [Point(x: rect.left, y: rect.top), Point(x: rect.right, y: rect.top),
                       Point(x: rect.left, y: rect.bottom), Point(x: rect.right, y: rect.bottom)]
            .map { rotate($0, about: center, by: details.angle) }
        let bounds = RealRect(left: corners.map(\.x).min()! - grow, top: corners.map(\.y).min()! - grow,
                              right: corners.map(\.x).max()! + grow, bottom: corners.map(\.y).max()! + grow).rounded
            .intersection(PixelRect(left: 0, top: 0, right: image.width - 1, bottom: image.height - 1))
        var levels: [RGBImage] = []
        let region = image.cropped(to: bounds)
        if depth > 0 {
            levels.append(region.pyramidDown())
            for _ in 1..<depth { levels.append(levels[levels.count - 1].pyramidDown()) }
        }

        var level = -1
        var local = RealRect(left: rect.left - Double(bounds.left), top: rect.top - Double(bounds.top),
                             right: rect.right - Double(bounds.left), bottom: rect.bottom - Double(bounds.top))
        while local.halved.area > pixelCount {
            level += 1
            local = local.halved
        }
        let source = level < 0 ? region : levels[level]

        // The exact affine map taking chip corners (0,0), (n-1,0), (0,n-1) to the rotated rectangle.
        let localCenter = local.center
        let topLeft = rotate(Point(x: local.left, y: local.top), about: localCenter, by: details.angle)
        let topRight = rotate(Point(x: local.right, y: local.top), about: localCenter, by: details.angle)
        let bottomLeft = rotate(Point(x: local.left, y: local.bottom), about: localCenter, by: details.angle)
        let last = Double(details.size - 1)
        let column = Point(x: (topRight.x - topLeft.x) / last, y: (topRight.y - topLeft.y) / last)
        let row = Point(x: (bottomLeft.x - topLeft.x) / last, y: (bottomLeft.y - topLeft.y) / last)
        return source.sampledBilinearly(size: details.size) { c, r in
            Point(x: column.x * c + row.x * r + topLeft.x, y: column.y * c + row.y * r + topLeft.y)
        }
    }

    private static func rotate(_ p: Point, about center: Point, by angle: Double) -> Point {
        let (c, s) = (cos(angle), sin(angle))
        let (x, y) = (p.x - center.x, p.y - center.y)
        return Point(x: center.x + c * x - s * y, y: center.y + s * x + c * y)
    }
}

extension RGBImage {
    /// The pixels inside `rect` (inclusive); empty when `rect` is.
    func cropped(to rect: PixelRect) -> RGBImage {
        guard rect.area > 0 else { return RGBImage(width: 0, height: 0, pixels: []) }
        var output = [UInt8]()
        output.reserveCapacity(rect.area * 3)
        for y in rect.top...rect.bottom {
            let start = (y * width + rect.left) * 3
            output += pixels[start..<(start + rect.width * 3)]
        }
        return RGBImage(width: rect.width, height: rect.height, pixels: output)
    }

    /// dlib's `pyramid_down<2>`: a 5-tap [1 4 6 4 1] filter in both directions keeping every
    /// second sample, in integers, truncated; `(H-3)/2 x (W-3)/2`, empty for 8 pixels or fewer.
    func pyramidDown() -> RGBImage {
        guard width > 8, height > 8 else { return RGBImage(width: 0, height: 0, pixels: []) }
        let outWidth = (width - 3) / 2, outHeight = (height - 3) / 2
        var rows = [Int32](repeating: 0, count: height * outWidth * 3)
        pixels.withUnsafeBufferPointer { source in
            for y in 0..<height {
                for x in 0..<outWidth {
                    for c in 0..<3 {
                        let i = (y * width + 2 * x) * 3 + c
                        rows[(y * outWidth + x) * 3 + c] = Int32(source[i]) + 4 * Int32(source[i + 3]) + 6 * Int32(source[i + 6])
                            + 4 * Int32(source[i + 9]) + Int32(source[i + 12])
                    }
                }
            }
        }
        var output = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        let stride = outWidth * 3
        for y in 0..<outHeight {
            for i in 0..<stride {
                let base = 2 * y * stride + i
                let sum = rows[base] + 4 * rows[base + stride] + 6 * rows[base + 2 * stride]
                    + 4 * rows[base + 3 * stride] + rows[base + 4 * stride]
                output[y * stride + i] = UInt8(sum / 256)
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: output)
    }

    /// A `size` x `size` image whose pixel (c, r) is this image sampled bilinearly at
    /// `position(c, r)`, truncated; black where the 2x2 neighbourhood is not all inside.
    func sampledBilinearly(size: Int, at position: (Double, Double) -> Point) -> RGBImage {
        var output = [UInt8](repeating: 0, count: size * size * 3)
        guard width >= 2, height >= 2 else { return RGBImage(width: size, height: size, pixels: output) }
        pixels.withUnsafeBufferPointer { source in
            for r in 0..<size {
                for c in 0..<size {
                    let p = position(Double(c), Double(r))
                    let x0 = p.x.rounded(.down), y0 = p.y.rounded(.down)
                    guard x0 >= 0, y0 >= 0, x0 + 1 < Double(width), y0 + 1 < Double(height) else { continue }
                    let (fx, fy) = (p.x - x0, p.y - y0)
                    let topLeft = (Int(y0) * width + Int(x0)) * 3, bottomLeft = topLeft + width * 3
                    for k in 0..<3 {
                        let top = (1 - fx) * Double(source[topLeft + k]) + fx * Double(source[topLeft + 3 + k])
                        let bottom = (1 - fx) * Double(source[bottomLeft + k]) + fx * Double(source[bottomLeft + 3 + k])
                        output[(r * size + c) * 3 + k] = UInt8((1 - fy) * top + fy * bottom)
                    }
                }
            }
        }
        return RGBImage(width: size, height: size, pixels: output)
    }
}
