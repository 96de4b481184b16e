import CBLAS

/// A stride-1 convolution with one output channel (the detector's 9x9 45 -> 1 score layer),
/// as one GEMM on OpenBLAS.
///
/// oneDNN pads a single output channel to 16 and wastes 15/16 of its work here. Instead:
/// with the input zero-padded to `Hp x Wp`, one `sgemm` gives, for every padded position q
/// and every kernel tap t, `taps[q][t] = Σ_c input[q][c] · w[c][t]`; the output at (y, x)
/// is then the bias plus the sum of `taps[(y + ky) · Wp + x + kx][ky · kw + kx]` over the taps.
struct SingleFilterConvolution {
    let inputShape: TensorShape
    let outputShape: TensorShape
    let kernelHeight: Int
    let kernelWidth: Int
    let padding: Int
    /// `[channel][ky][kx]`, dlib's order for one filter: the GEMM's right-hand matrix as is.
    let weights: [Float]
    let bias: Float
    let relu: Bool

    init(input: TensorShape, layer: ConvolutionWeights, relu: Bool) {
        precondition(layer.filters == 1 && layer.stride == 1, "a single-filter, stride-1 convolution")
        inputShape = input
        kernelHeight = layer.kernelHeight
        kernelWidth = layer.kernelWidth
        padding = layer.padding
        outputShape = TensorShape(batch: input.batch, height: input.height + 2 * layer.padding - layer.kernelHeight + 1,
                                  width: input.width + 2 * layer.padding - layer.kernelWidth + 1, channels: 1)
        weights = layer.weights
        bias = layer.bias[0]
        self.relu = relu
    }

    private var paddedHeight: Int { inputShape.height + 2 * padding }
    private var paddedWidth: Int { inputShape.width + 2 * padding }
    private var taps: Int { kernelHeight * kernelWidth }

    /// Floats of scratch memory one image needs: the padded input and the tap matrix.
    var scratchFloatCount: Int { paddedHeight * paddedWidth * (inputShape.channels + taps) }

    func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let channels = inputShape.channels
        let (hp, wp) = (paddedHeight, paddedWidth)
        let padded = scratch
        let tapSums = scratch + hp * wp * channels
        for n in 0..<inputShape.batch {
            let image = input + n * inputShape.height * inputShape.width * channels
            padded.initialize(repeating: 0, count: hp * wp * channels)
            for y in 0..<inputShape.height {
                (padded + ((y + padding) * wp + padding) * channels)
                    .update(from: image + y * inputShape.width * channels, count: inputShape.width * channels)
            }
            weights.withUnsafeBufferPointer { w in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(hp * wp), Int32(taps), Int32(channels),
                            1, padded, Int32(channels), w.baseAddress, Int32(taps), 0, tapSums, Int32(taps))
            }
            let out = output + n * outputShape.height * outputShape.width
            for y in 0..<outputShape.height {
                for x in 0..<outputShape.width {
                    var sum = bias
                    for ky in 0..<kernelHeight {
                        let row = tapSums + ((y + ky) * wp + x) * taps + ky * kernelWidth
                        for kx in 0..<kernelWidth { sum += row[kx * taps + kx] }
                    }
                    out[y * outputShape.width + x] = relu ? max(sum, 0) : sum
                }
            }
        }
    }
}
