import Foundation
import NetraImaging

extension RGBImage {
    /// The size `pyramidUp` gives an image of `width x height`: `(2W + 2) x (2H + 1)`.
    static func pyramidUpSize(width: Int, height: Int) -> (width: Int, height: Int) {
        (2 * width + 2, 2 * height + 1)
    }

    /// dlib's `pyramid_up` (with `pyramid_down<2>`): `(2H + 1) x (2W + 2)`, corner-aligned
    /// bilinear, reproducing dlib's arithmetic exactly: four columns at a time in float32
    /// with a float32-accumulated x position, the last columns in double, all truncated.
    func pyramidUp() -> RGBImage {
        let (outWidth, outHeight) = Self.pyramidUpSize(width: width, height: height)
        let xStep = Double(width - 1) / Double(max(outWidth - 1, 1))
        let yStep = Double(height - 1) / Double(max(outHeight - 1, 1))

        // Column positions of the four-lane float32 path, shared by every row.
        var lanes = (0..<4).map { Float(-4 * xStep + Double($0) * xStep) }
        let laneStep = Float(4 * xStep)
        var positions: [Float] = []
        while true {
            lanes = lanes.map { $0 + laneStep }
            if Int(lanes[3]) + 1 >= width { break }
            positions += lanes
        }
        let lefts = positions.map { Int($0) }
        let fractions = zip(positions, lefts).map { $0 - Float($1) }
        let inverse = fractions.map { 1 - $0 }
        let fastColumns = positions.count

        var output = [UInt8](repeating: 0, count: outWidth * outHeight * 3)
        pixels.withUnsafeBufferPointer { source in
            var y = -yStep
            for r in 0..<outHeight {
                y += yStep
                let top = Int(y.rounded(.down)), bottom = min(top + 1, height - 1)
                let ty = y - Double(top)
                let (ty32, inverseTy32) = (Float(ty), Float(1 - ty))
                let topRow = top * width * 3, bottomRow = bottom * width * 3
                let outRow = r * outWidth * 3
                for c in 0..<fastColumns {
                    let (tl, tr) = (inverseTy32 * inverse[c], inverseTy32 * fractions[c])
                    let (bl, br) = (ty32 * inverse[c], ty32 * fractions[c])
                    let left = lefts[c] * 3
                    for k in 0..<3 {
                        let value = ((tl * Float(source[topRow + left + k]) + tr * Float(source[topRow + left + 3 + k]))
                            + bl * Float(source[bottomRow + left + k])) + br * Float(source[bottomRow + left + 3 + k])
                        output[outRow + c * 3 + k] = UInt8(value)
                    }
                }
                var x = -xStep + Double(fastColumns) * xStep
                for c in fastColumns..<outWidth {
                    x += xStep
                    let left = Int(x.rounded(.down)), right = min(left + 1, width - 1)
                    let tx = x - Double(left)
                    for k in 0..<3 {
                        let upper = (1 - tx) * Double(source[topRow + left * 3 + k]) + tx * Double(source[topRow + right * 3 + k])
                        let lower = (1 - tx) * Double(source[bottomRow + left * 3 + k]) + tx * Double(source[bottomRow + right * 3 + k])
                        output[outRow + c * 3 + k] = UInt8((1 - ty) * upper + ty * lower)
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: output)
    }
}
