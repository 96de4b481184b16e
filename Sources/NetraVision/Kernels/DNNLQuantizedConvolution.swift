import CDNNL

/// A oneDNN int8 convolution (u8 activations x s8 weights, s32 accumulation) with fixed shapes,
/// created once at model load: a drop-in for `DNNLConvolution` where int8 accuracy is enough.
///
/// Why: with AVX-512 VNNI oneDNN's u8s8 kernels do about 4x the work per cycle of its f32 ones;
/// without VNNI (AVX2) int8 detection and embedding are still 1.3-1.9x faster end to end
/// (BENCHMARKS.md). The interface stays float32 NHWC on both sides so the rest of the plan does
/// not change: `run` quantizes the (non-negative, post-ReLU) input to u8 codes
/// (`largestInputCode` at most) with the layer's calibrated `inputScale` into a caller-provided
/// buffer, and oneDNN dequantizes the s32 accumulator straight into f32 output through
/// per-output-channel output scales (`codeScale * weightScales[f]`), adds the bias and applies
/// the fused ReLU.
///
/// oneDNN 2.x adds the bias to the accumulator *before* the output scales
/// (`dst = relu?(scale[f] * (acc_s32 + bias[f]))`), so the real bias is handed over divided
/// by `scale[f]`. The convolution itself is a `DNNLConvolution` made for u8 and s8. Safe to run
/// from several threads at once: each caller passes its own scratchpad and quantized-input buffer.
final class DNNLQuantizedConvolution: @unchecked Sendable {
    /// The oneDNN convolution itself: u8 source, s8 weights, f32 output.
    private let convolution: DNNLConvolution
    /// Bytes of the u8 input buffer the caller provides (one per input element).
    let quantizedInputByteCount: Int
    /// `1 / codeScale`, where `codeScale` is the real activation one input code stands for:
    /// the calibrated range `[0, 255 * layer.inputScale]` spread over `[0, largestInputCode]`.
    let inverseInputScale: Float

    /// The largest code an input is quantized to: 255 where oneDNN accumulates u8 x s8 products
    /// in 32 bits (VNNI, AMX), 127 where it cannot.
    ///
    /// Without VNNI (AVX2, AVX-512 before Cascade Lake) oneDNN multiplies with `vpmaddubsw`,
    /// which adds each pair of adjacent products in 16 bits with saturation (oneDNN's "Nuances
    /// of int8 computations"): 255 x 127 x 2 = 64770 does not fit in 32767, so wherever large
    /// activations met large weights the sum was silently clipped (seen on an AVX2 EPYC: errors
    /// of 7-14 % of the largest output on seeded layers). With 7-bit codes a pair is at most
    /// 127 x 127 x 2 = 32258, so nothing saturates; the price is half the input resolution.
    static let largestInputCode: Float = accumulatesPairsIn16Bits ? 127 : 255

    /// Whether the oneDNN ISA this process runs lacks VNNI (read once from oneDNN itself).
    private static let accumulatesPairsIn16Bits: Bool = {
        switch dnnl_get_effective_cpu_isa() {
        case dnnl_cpu_isa_avx512_core_vnni, dnnl_cpu_isa_avx512_core_bf16, dnnl_cpu_isa_avx512_core_amx, dnnl_cpu_isa_avx2_vnni:
            return false
        default:
            return true
        }
    }()

    var inputShape: TensorShape { convolution.inputShape }
    var outputShape: TensorShape { convolution.outputShape }
    /// Bytes of oneDNN scratch memory one `run` needs.
    var scratchpadByteCount: Int { convolution.scratchpadByteCount }

    init(input: TensorShape, layer: QuantizedConvolutionWeights, fusedReLU: Bool, threads: Int) throws(VisionError) {
        guard input.channels == layer.channels, layer.inputScale.isFinite, layer.inputScale > 0 else {
            throw .invalidModel(file: "network", reason: "a quantized convolution whose sizes or scales do not fit \(input)")
        }
        let codeScale = layer.inputScale * 255 / Self.largestInputCode
        // Real output = codeScale * weightScales[f] * (acc + bias'[f]), so bias' = bias / that scale.
        let outputScales = layer.weightScales.map { codeScale * $0 }
        let scaledBias = zip(layer.bias, outputScales).map { $0 / $1 }
        convolution = try DNNLConvolution(input: input, filters: layer.filters, kernelHeight: layer.kernelHeight,
                                          kernelWidth: layer.kernelWidth, stride: layer.stride, padding: layer.padding,
                                          source: dnnl_u8, weights: layer.weights, weightType: dnnl_s8, bias: scaledBias,
                                          outputScales: outputScales, fusedReLU: fusedReLU, threads: threads)
        quantizedInputByteCount = input.elementCount
        inverseInputScale = 1 / codeScale
    }

    /// `output = conv(input)`: `input` (f32 NHWC, `inputShape`, values >= 0) is first quantized
    /// into `quantizedInput` (`quantizedInputByteCount` bytes), then convolved into `output`
    /// (f32 NHWC, `outputShape`).
    func run(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
             quantizedInput: UnsafeMutablePointer<UInt8>, scratchpad: UnsafeMutableRawPointer?,
             stream: dnnl_stream_t) throws(VisionError) {
        Self.quantize(input, count: quantizedInputByteCount, inverseScale: inverseInputScale, largestCode: Self.largestInputCode,
                      into: quantizedInput)
        try convolution.run(source: UnsafeMutableRawPointer(quantizedInput), output: output, scratchpad: scratchpad, stream: stream)
    }

    /// `output[i] = min(largestCode, Int(input[i] * inverseScale + 0.5))`, negative inputs
    /// giving 0 (`largestCode` at most 255).
    ///
    /// Written to vectorize on baseline x86-64 (SSE2): no float-to-int conversion (Swift's traps
    /// on out-of-range values and blocks vectorization) and no `rounded(.down)` (a `floorf`
    /// call per element without SSE4.1). After clamping to [0, largestCode], adding 2^23 rounds
    /// to the nearest integer and leaves it in the low mantissa bits; a select turns that into
    /// floor.
    @inline(__always)
    static func quantize(_ input: UnsafePointer<Float>, count: Int, inverseScale: Float, largestCode: Float,
                         into output: UnsafeMutablePointer<UInt8>) {
        let magic: Float = 8_388_608  // 2^23: the spacing of floats in [2^23, 2^24) is 1
        for index in 0..<count {
            var value = input[index] * inverseScale + 0.5
            value = value < 0 ? 0 : value
            value = value > largestCode ? largestCode : value
            let shifted = value + magic                   // 2^23 + round(value), exactly
            let floored = shifted - magic > value ? shifted - 1 : shifted
            output[index] = UInt8(truncatingIfNeeded: floored.bitPattern)
        }
    }
}

/// Per-output-channel symmetric int8 weights of one convolution (affine already folded in),
/// the f32 bias, and the activation scale of its input.
struct QuantizedConvolutionWeights: Sendable, Equatable {
    let filters: Int
    let channels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let stride: Int
    let padding: Int
    /// dlib's `[filter][channel][row][column]` order (oneDNN's OIHW).
    var weights: [Int8]
    /// One per filter: real weight = `Float(q) * weightScales[f]`.
    var weightScales: [Float]
    /// Real (f32) bias per filter.
    var bias: [Float]
    /// Real activation = `Float(u8) * inputScale`.
    var inputScale: Float

    /// Quantizes f32 weights per filter: scale = max|w| / 127 (1 if all zero),
    /// q = round(w / scale) clamped to [-127, 127].
    init(quantizing layer: ConvolutionWeights, inputScale: Float) {
        let perFilter = layer.channels * layer.kernelHeight * layer.kernelWidth
        var quantized = [Int8](repeating: 0, count: layer.filters * perFilter)
        var scales = [Float](repeating: 1, count: layer.filters)
        for filter in 0..<layer.filters {
            let range = (filter * perFilter)..<((filter + 1) * perFilter)
            let largest = layer.weights[range].reduce(Float(0)) { max($0, abs($1)) }
            let scale: Float = largest > 0 ? largest / 127 : 1
            scales[filter] = scale
            for index in range {
                quantized[index] = Int8(max(-127, min(127, (layer.weights[index] / scale).rounded())))
            }
        }
        self.init(filters: layer.filters, channels: layer.channels, kernelHeight: layer.kernelHeight,
                  kernelWidth: layer.kernelWidth, stride: layer.stride, padding: layer.padding,
                  weights: quantized, weightScales: scales, bias: layer.bias, inputScale: inputScale)
    }

    /// Memberwise, for loading already quantized weights from a file.
    init(filters: Int, channels: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int,
         weights: [Int8], weightScales: [Float], bias: [Float], inputScale: Float) {
        self.filters = filters
        self.channels = channels
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.stride = stride
        self.padding = padding
        self.weights = weights
        self.weightScales = weightScales
        self.bias = bias
        self.inputScale = inputScale
    }
}
