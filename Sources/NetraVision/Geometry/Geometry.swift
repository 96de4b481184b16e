import Foundation

/// A point in image coordinates (x to the right, y down).
public struct Point: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double

    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// An integer pixel rectangle with inclusive edges, as dlib uses: `right = left + width - 1`.
public struct PixelRect: Sendable, Equatable, Codable, CustomStringConvertible {
    public var left: Int
    public var top: Int
    public var right: Int
    public var bottom: Int

    public init(left: Int, top: Int, right: Int, bottom: Int) {
        self.left = left
        self.top = top
        self.right = right
        self.bottom = bottom
    }

    public var width: Int { right - left + 1 }
    public var height: Int { bottom - top + 1 }
    /// Pixel count, 0 when empty.
    public var area: Int { right < left || bottom < top ? 0 : width * height }

    public func intersection(_ other: PixelRect) -> PixelRect {
        PixelRect(left: max(left, other.left), top: max(top, other.top),
                  right: min(right, other.right), bottom: min(bottom, other.bottom))
    }

    /// The smallest rectangle holding both.
    public func hull(_ other: PixelRect) -> PixelRect {
        PixelRect(left: min(left, other.left), top: min(top, other.top),
                  right: max(right, other.right), bottom: max(bottom, other.bottom))
    }

    public var description: String { "(\(left), \(top), \(right), \(bottom))" }
}

/// A rectangle with real-valued, inclusive edges (dlib's `drectangle`: width is `right - left + 1`).
struct RealRect: Equatable {
    var left: Double
    var top: Double
    var right: Double
    var bottom: Double

    var center: Point { Point(x: (left + right) / 2, y: (top + bottom) / 2) }

    /// 0 when empty.
    var area: Double { left > right || top > bottom ? 0 : (right - left + 1) * (bottom - top + 1) }

    /// A rectangle of `width` x `height` (dlib's sizes) centred on `center`.
    static func centered(at center: Point, width: Double, height: Double) -> RealRect {
        RealRect(left: center.x - (width - 1) / 2, top: center.y - (height - 1) / 2,
                 right: center.x + (width - 1) / 2, bottom: center.y + (height - 1) / 2)
    }

    /// One level down dlib's `pyramid_down<2>`.
    var halved: RealRect {
        RealRect(left: left / 2 - 1.25, top: top / 2 - 0.75, right: right / 2 - 1.25, bottom: bottom / 2 - 0.75)
    }

    /// Rounded to pixels with `lround` (halves away from zero), as dlib converts.
    var rounded: PixelRect {
        PixelRect(left: lround(left), top: lround(top), right: lround(right), bottom: lround(bottom))
    }
}

/// A least-squares similarity transform (rotation, uniform scale, translation):
/// `p -> [[a, -b], [b, a]] p + t`.
struct SimilarityTransform {
    var a: Double
    var b: Double
    var translation: Point

    /// The transform that best maps `source[i]` to `destination[i]` (Umeyama's solution,
    /// closed form for 2-D, as dlib's `find_similarity_transform`).
    init(mapping source: [Point], to destination: [Point]) {
        let count = Double(source.count)
        let sourceMean = Point(x: source.map(\.x).reduce(0, +) / count, y: source.map(\.y).reduce(0, +) / count)
        let destinationMean = Point(x: destination.map(\.x).reduce(0, +) / count, y: destination.map(\.y).reduce(0, +) / count)
        var variance = 0.0, dot = 0.0, cross = 0.0
        for (s, d) in zip(source, destination) {
            let (sx, sy) = (s.x - sourceMean.x, s.y - sourceMean.y)
            let (dx, dy) = (d.x - destinationMean.x, d.y - destinationMean.y)
            variance += sx * sx + sy * sy
            dot += sx * dx + sy * dy
            cross += sx * dy - sy * dx
        }
        a = dot / variance
        b = cross / variance
        translation = Point(x: destinationMean.x - (a * sourceMean.x - b * sourceMean.y),
                            y: destinationMean.y - (b * sourceMean.x + a * sourceMean.y))
    }

    func apply(_ p: Point) -> Point {
        Point(x: a * p.x - b * p.y + translation.x, y: b * p.x + a * p.y + translation.y)
    }
}

/// `floor(v + 0.5)`: dlib's rounding of a real point to a pixel.
@inline(__always)
func roundToPixel(_ value: Double) -> Int {
    Int((value + 0.5).rounded(.down))
}
