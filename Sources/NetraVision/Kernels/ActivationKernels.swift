import CBLAS

/// The small non-convolution layers of dlib's networks, on NHWC float32 buffers.
enum ActivationKernels {
    /// Max or average pooling without padding (the average is over the whole window, which
    /// is always inside the input here).
    static func pool(_ input: UnsafePointer<Float>, _ inShape: TensorShape, into output: UnsafeMutablePointer<Float>,
                     _ outShape: TensorShape, kernel: Int, stride: Int, maximum: Bool) {
        let channels = inShape.channels
        let scale = 1 / Float(kernel * kernel)
        for n in 0..<outShape.batch {
            for y in 0..<outShape.height {
                for x in 0..<outShape.width {
                    let out = output + ((n * outShape.height + y) * outShape.width + x) * channels
                    for c in 0..<channels { out[c] = maximum ? -.infinity : 0 }
                    for ky in 0..<kernel {
                        for kx in 0..<kernel {
                            let inp = input + ((n * inShape.height + y * stride + ky) * inShape.width + x * stride + kx) * channels
                            if maximum {
                                for c in 0..<channels { out[c] = max(out[c], inp[c]) }
                            } else {
                                for c in 0..<channels { out[c] += inp[c] }
                            }
                        }
                    }
                    if !maximum { for c in 0..<channels { out[c] *= scale } }
                }
            }
        }
    }

    /// `output = a + b` where each input is zero outside its own shape; then ReLU if asked.
    static func addZeroExtended(_ a: UnsafePointer<Float>, _ aShape: TensorShape, _ b: UnsafePointer<Float>,
                                _ bShape: TensorShape, into output: UnsafeMutablePointer<Float>, _ outShape: TensorShape,
                                relu: Bool) {
        let c = outShape.channels
        if aShape == outShape, bShape == outShape {
            for index in 0..<outShape.elementCount {
                let sum = a[index] + b[index]
                output[index] = relu ? max(sum, 0) : sum
            }
            return
        }
        output.initialize(repeating: 0, count: outShape.elementCount)
        for (source, shape) in [(a, aShape), (b, bShape)] {
            for n in 0..<shape.batch {
                for y in 0..<shape.height {
                    for x in 0..<shape.width {
                        let out = output + ((n * outShape.height + y) * outShape.width + x) * c
                        let inp = source + ((n * shape.height + y) * shape.width + x) * shape.channels
                        for k in 0..<shape.channels { out[k] += inp[k] }
                    }
                }
            }
        }
        if relu { self.relu(output, count: outShape.elementCount) }
    }

    static func relu(_ buffer: UnsafeMutablePointer<Float>, count: Int) {
        for index in 0..<count { buffer[index] = max(buffer[index], 0) }
    }

    /// Mean of each channel over all rows and columns.
    static func globalAverage(_ input: UnsafePointer<Float>, _ shape: TensorShape, into output: UnsafeMutablePointer<Float>) {
        let plane = shape.height * shape.width
        for n in 0..<shape.batch {
            let out = output + n * shape.channels
            for c in 0..<shape.channels { out[c] = 0 }
            for p in 0..<plane {
                let inp = input + (n * plane + p) * shape.channels
                for c in 0..<shape.channels { out[c] += inp[c] }
            }
            for c in 0..<shape.channels { out[c] /= Float(plane) }
        }
    }

    /// `output[n][o] = Σ_i input[n][i] · weights[i][o]`. dlib flattens its input in
    /// `[k][r][c]` order; the inputs here are 1x1 spatially, so NHWC is the same order.
    static func fullyConnected(_ input: UnsafePointer<Float>, batch: Int, inputs: Int, weights: [Float], outputs: Int,
                               into output: UnsafeMutablePointer<Float>) {
        weights.withUnsafeBufferPointer { w in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(batch), Int32(outputs), Int32(inputs),
                        1, input, Int32(inputs), w.baseAddress, Int32(outputs), 0, output, Int32(outputs))
        }
    }
}
