import CDNNL

/// A oneDNN int8 convolution (u8 activations x s8 weights, s32 accumulation) with fixed shapes,
/// created once at model load: a drop-in for `DNNLConvolution` where int8 accuracy is enough.
///
/// Why: on this machine (AVX-512 with VNNI) oneDNN's u8s8 kernels do about 4x the work per
/// cycle of its f32 ones. The interface stays float32 NHWC on both sides so the rest of the
/// plan does not change: `run` quantizes the (non-negative, post-ReLU) input to u8 with the
/// layer's calibrated `inputScale` into a caller-provided buffer, and oneDNN dequantizes the
/// s32 accumulator straight into f32 output through per-output-channel output scales
/// (`inputScale * weightScales[f]`), adds the bias and applies the fused ReLU.
///
/// oneDNN 2.x adds the bias to the accumulator *before* the output scales
/// (`dst = relu?(scale[f] * (acc_s32 + bias[f]))`), so the real bias is handed over divided
/// by `scale[f]`. Weights are reordered once into the layout oneDNN picks. Safe to run from
/// several threads at once: each caller passes its own scratchpad and quantized-input buffer.
final class DNNLQuantizedConvolution: @unchecked Sendable {
    let inputShape: TensorShape
    let outputShape: TensorShape
    /// Bytes of oneDNN scratch memory one `run` needs.
    let scratchpadByteCount: Int
    /// Bytes of the u8 input buffer the caller passes to `run` (one byte per input element).
    let quantizedInputByteCount: Int
    let threads: Int
    /// `1 / layer.inputScale`: `run` multiplies instead of dividing.
    let inverseInputScale: Float

    private let primitive: dnnl_primitive_t
    private let weights: dnnl_memory_t
    private let bias: dnnl_memory_t
    private var sourceDescriptor: dnnl_memory_desc_t
    private var destinationDescriptor: dnnl_memory_desc_t
    private let scratchpadDescriptor: dnnl_memory_desc_t

    init(input: TensorShape, layer: QuantizedConvolutionWeights, fusedReLU: Bool, threads: Int) throws(VisionError) {
        let weightCount = layer.filters * layer.channels * layer.kernelHeight * layer.kernelWidth
        guard input.channels == layer.channels, layer.weights.count == weightCount,
              layer.weightScales.count == layer.filters, layer.bias.count == layer.filters,
              layer.inputScale.isFinite, layer.inputScale > 0,
              layer.weightScales.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw .invalidModel(file: "network", reason: "a quantized convolution whose sizes or scales do not fit \(input)")
        }
        let engine = try DNNLEngine.shared()
        netra_omp_set_num_threads(Int32(threads))
        self.threads = threads
        let outputHeight = (input.height + 2 * layer.padding - layer.kernelHeight) / layer.stride + 1
        let outputWidth = (input.width + 2 * layer.padding - layer.kernelWidth) / layer.stride + 1
        inputShape = input
        outputShape = TensorShape(batch: input.batch, height: outputHeight, width: outputWidth, channels: layer.filters)
        quantizedInputByteCount = input.elementCount
        inverseInputScale = 1 / layer.inputScale

        sourceDescriptor = try Self.descriptor([input.batch, input.channels, input.height, input.width], dnnl_u8, dnnl_nhwc)
        destinationDescriptor = try Self.descriptor([input.batch, layer.filters, outputHeight, outputWidth], dnnl_f32, dnnl_nhwc)
        let weightDims = [layer.filters, layer.channels, layer.kernelHeight, layer.kernelWidth]
        var anyWeights = try Self.descriptor(weightDims, dnnl_s8, dnnl_format_tag_any)
        var biasDescriptor = try Self.descriptor([layer.filters], dnnl_f32, dnnl_x)

        var operation = dnnl_convolution_desc_t()
        let strides: [Int64] = [Int64(layer.stride), Int64(layer.stride)]
        let padding: [Int64] = [Int64(layer.padding), Int64(layer.padding)]
        try check(dnnl_convolution_forward_desc_init(
            &operation, dnnl_forward_inference, dnnl_convolution_direct,
            &sourceDescriptor, &anyWeights, &biasDescriptor, &destinationDescriptor, strides, padding, padding),
            "describe int8 convolution")

        // Real output = inputScale * weightScales[f] * (acc + bias'[f]), so bias' = bias / that scale.
        let outputScales = layer.weightScales.map { layer.inputScale * $0 }
        let scaledBias = zip(layer.bias, outputScales).map { $0 / $1 }

        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "create attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set scratchpad mode")
        // Mask 1 << 1: one scale per index of destination dimension 1 (output channels).
        try check(dnnl_primitive_attr_set_output_scales(attributes, Int64(layer.filters), 1 << 1, outputScales),
                  "set per-channel output scales")
        if fusedReLU {
            var postOps: dnnl_post_ops_t?
            try check(dnnl_post_ops_create(&postOps), "create post-ops")
            defer { dnnl_post_ops_destroy(postOps) }
            try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "append ReLU")
            try check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set post-ops")
        }

        var descriptor: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil), "create int8 convolution")
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var created: dnnl_primitive_t?
        try check(dnnl_primitive_create(&created, descriptor), "create int8 convolution primitive")
        primitive = created!
        scratchpadDescriptor = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
        var scratchpad = scratchpadDescriptor
        scratchpadByteCount = dnnl_memory_desc_get_size(&scratchpad)

        // Weights: dlib's [f][c][ky][kx] is oneDNN's OIHW; reorder (s8 to s8) into the chosen layout.
        let chosenWeights = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0).pointee
        weights = try Self.reordered(layer.weights, dims: weightDims, into: chosenWeights, engine: engine)
        bias = try Self.memory(copying: scaledBias, descriptor: biasDescriptor, engine: engine)
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_memory_destroy(weights)
        dnnl_memory_destroy(bias)
    }

    /// `output = conv(input)`: `input` (f32 NHWC, `inputShape`, values >= 0) is first quantized
    /// into `quantizedInput` (`quantizedInputByteCount` bytes), then convolved into `output`
    /// (f32 NHWC, `outputShape`).
    func run(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
             quantizedInput: UnsafeMutablePointer<UInt8>, scratchpad: UnsafeMutableRawPointer?,
             stream: dnnl_stream_t) throws(VisionError) {
        Self.quantize(input, count: quantizedInputByteCount, inverseScale: inverseInputScale, into: quantizedInput)
        let engine = try DNNLEngine.shared()
        var source: dnnl_memory_t?, destination: dnnl_memory_t?, scratch: dnnl_memory_t?
        var scratchDescriptor = scratchpadDescriptor
        try check(dnnl_memory_create(&source, &sourceDescriptor, engine, quantizedInput), "bind quantized input")
        defer { dnnl_memory_destroy(source) }
        try check(dnnl_memory_create(&destination, &destinationDescriptor, engine, output), "bind output")
        defer { dnnl_memory_destroy(destination) }
        try check(dnnl_memory_create(&scratch, &scratchDescriptor, engine, scratchpad), "bind scratchpad")
        defer { dnnl_memory_destroy(scratch) }
        let arguments = [
            dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_SRC, memory: source),
            dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_WEIGHTS, memory: weights),
            dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_BIAS, memory: bias),
            dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_DST, memory: destination),
            dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_SCRATCHPAD, memory: scratch),
        ]
        netra_omp_set_num_threads(Int32(threads))
        try check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "run int8 convolution")
    }

    /// `output[i] = min(255, Int(input[i] * inverseScale + 0.5))`, negative inputs giving 0.
    ///
    /// Written to vectorize on baseline x86-64 (SSE2): no float-to-int conversion (Swift's traps
    /// on out-of-range values and blocks vectorization) and no `rounded(.down)` (a `floorf`
    /// call per element without SSE4.1). After clamping to [0, 255], adding 2^23 rounds to the
    /// nearest integer and leaves it in the low mantissa bits; a select turns that into floor.
    @inline(__always)
    static func quantize(_ input: UnsafePointer<Float>, count: Int, inverseScale: Float,
                         into output: UnsafeMutablePointer<UInt8>) {
        let magic: Float = 8_388_608  // 2^23: the spacing of floats in [2^23, 2^24) is 1
        for index in 0..<count {
            var value = input[index] * inverseScale + 0.5
            value = value < 0 ? 0 : value
            value = value > 255 ? 255 : value
            let shifted = value + magic                   // 2^23 + round(value), exactly
            let floored = shifted - magic > value ? shifted - 1 : shifted
            output[index] = UInt8(truncatingIfNeeded: floored.bitPattern)
        }
    }

    private static func descriptor(_ dims: [Int], _ type: dnnl_data_type_t,
                                   _ tag: dnnl_format_tag_t) throws(VisionError) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dims64 = dims.map(Int64.init)
        try check(dnnl_memory_desc_init_by_tag(&descriptor, Int32(dims.count), dims64, type, tag), "describe memory")
        return descriptor
    }

    private static func memory<Element>(copying values: [Element], descriptor: dnnl_memory_desc_t,
                                        engine: dnnl_engine_t) throws(VisionError) -> dnnl_memory_t {
        var descriptor = descriptor
        var memory: dnnl_memory_t?
        try check(dnnl_memory_create(&memory, &descriptor, engine, netra_dnnl_memory_allocate()), "allocate memory")
        var handle: UnsafeMutableRawPointer?
        try check(dnnl_memory_get_data_handle(memory, &handle), "map memory")
        values.withUnsafeBytes { handle!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        return memory!
    }

    private static func reordered(_ values: [Int8], dims: [Int], into target: dnnl_memory_desc_t,
                                  engine: dnnl_engine_t) throws(VisionError) -> dnnl_memory_t {
        var plainDescriptor = try descriptor(dims, dnnl_s8, dnnl_oihw)
        let plain = try memory(copying: values, descriptor: plainDescriptor, engine: engine)
        defer { dnnl_memory_destroy(plain) }
        var target = target
        var result: dnnl_memory_t?
        try check(dnnl_memory_create(&result, &target, engine, netra_dnnl_memory_allocate()), "allocate int8 weights")
        var reorderDescriptor: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&reorderDescriptor, &plainDescriptor, engine, &target, engine, nil),
                  "describe int8 weight reorder")
        defer { dnnl_primitive_desc_destroy(reorderDescriptor) }
        var reorder: dnnl_primitive_t?
        try check(dnnl_primitive_create(&reorder, reorderDescriptor), "create int8 weight reorder")
        defer { dnnl_primitive_destroy(reorder) }
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)), "create stream")
        defer { dnnl_stream_destroy(stream) }
        let arguments = [dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_FROM, memory: plain),
                         dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_TO, memory: result)]
        try check(dnnl_primitive_execute(reorder, stream, 2, arguments), "reorder int8 weights")
        try check(dnnl_stream_wait(stream), "wait for int8 weight reorder")
        return result!
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
