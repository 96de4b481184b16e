/// The few steps of YuNet that are not convolutions, on NHWC float32 buffers: filling the
/// padded input, 2x2 max pooling and the neck's nearest-neighbour upsampling plus add.
///
/// YuNet's feature maps always have even sides (the input is padded to a multiple of 32), so
/// none of these meets a ragged edge.
enum YuNetKernels {
    /// Writes `image` (RGB, `width x height`) as floats 0...255 into a `paddedHeight x
    /// paddedWidth x 3` tensor, zero right of and below the image: libfacedetection's input,
    /// raw pixel values with no mean or scale.
    static func fillPadded(_ output: UnsafeMutablePointer<Float>, paddedHeight: Int, paddedWidth: Int,
                           from pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int) {
        let rowFloats = paddedWidth * 3, rowBytes = width * 3
        for y in 0..<height {
            let source = UnsafeRawPointer(pixels.baseAddress! + y * rowBytes)
            let row = output + y * rowFloats
            var index = 0
            while index + 16 <= rowBytes {
                let bytes = source.loadUnaligned(fromByteOffset: index, as: SIMD16<UInt8>.self)
                UnsafeMutableRawPointer(row + index).storeBytes(of: SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: bytes)),
                                                                as: SIMD16<Float>.self)
                index += 16
            }
            while index < rowBytes {
                row[index] = Float(source.load(fromByteOffset: index, as: UInt8.self))
                index += 1
            }
            (row + rowBytes).initialize(repeating: 0, count: rowFloats - rowBytes)
        }
        (output + height * rowFloats).initialize(repeating: 0, count: (paddedHeight - height) * rowFloats)
    }

    /// 2x2 max pooling with stride 2 of an input with even sides.
    static func maxPool(_ input: UnsafePointer<Float>, _ shape: TensorShape, into output: UnsafeMutablePointer<Float>) {
        let channels = shape.channels, rowFloats = shape.width * channels
        for y in 0..<(shape.height / 2) {
            for x in 0..<(shape.width / 2) {
                let a = input + (2 * y * shape.width + 2 * x) * channels, b = a + channels
                let c = a + rowFloats, d = c + channels
                let out = output + (y * (shape.width / 2) + x) * channels
                for k in 0..<channels {
                    // A select rather than `max` (which orders NaNs): this compiles to vector max instructions.
                    let top = a[k] > b[k] ? a[k] : b[k], bottom = c[k] > d[k] ? c[k] : d[k]
                    out[k] = top > bottom ? top : bottom
                }
            }
        }
    }

    /// `output = upsample2x(coarse) + fine`, where `fine` has `shape` and `coarse` half its sides.
    static func upsampleAdd(_ coarse: UnsafePointer<Float>, _ fine: UnsafePointer<Float>, _ shape: TensorShape,
                            into output: UnsafeMutablePointer<Float>) {
        let channels = shape.channels, coarseWidth = shape.width / 2
        for y in 0..<shape.height {
            for x in 0..<shape.width {
                let index = (y * shape.width + x) * channels
                let from = coarse + ((y / 2) * coarseWidth + x / 2) * channels
                var k = 0
                while k + 16 <= channels {
                    store(vector(from + k) + vector(fine + index + k), at: output + index + k)
                    k += 16
                }
                while k < channels {
                    output[index + k] = from[k] + fine[index + k]
                    k += 1
                }
            }
        }
    }

    private static func vector(_ pointer: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD16<Float>.self)
    }

    private static func store(_ value: SIMD16<Float>, at pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD16<Float>.self)
    }
}
