import CDNNL

/// A oneDNN convolution with fixed shapes, created once at model load.
///
/// Activations are NHWC float32 end to end (a decoded image already is); the weights are
/// reordered once into the layout oneDNN prefers for this machine. A following affine layer
/// is folded into the weights and a following ReLU is fused, so one call does
/// `relu?(affine(conv(x)))`. Safe to run from several threads at once: each caller passes
/// its own scratchpad. The same class runs the int8 convolutions of `DNNLQuantizedConvolution`
/// (u8 source, s8 weights, per-channel output scales).
final class DNNLConvolution: @unchecked Sendable {
    let inputShape: TensorShape
    let outputShape: TensorShape
    /// Bytes of scratch memory one `run` needs.
    let scratchpadByteCount: Int
    let threads: Int

    private let primitive: dnnl_primitive_t
    private let weights: dnnl_memory_t
    private let bias: dnnl_memory_t
    private var sourceDescriptor: dnnl_memory_desc_t
    private var destinationDescriptor: dnnl_memory_desc_t
    private let scratchpadDescriptor: dnnl_memory_desc_t

    /// A float32 convolution.
    convenience init(input: TensorShape, layer: ConvolutionWeights, fusedReLU: Bool, threads: Int) throws(VisionError) {
        try self.init(input: input, filters: layer.filters, kernelHeight: layer.kernelHeight, kernelWidth: layer.kernelWidth,
                      stride: layer.stride, padding: layer.padding, source: dnnl_f32, weights: layer.weights, weightType: dnnl_f32,
                      bias: layer.bias, outputScales: nil, fusedReLU: fusedReLU, threads: threads)
    }

    /// A convolution of `input.channels` channels with `source`-typed activations and
    /// `weightType` weights in dlib's `[filter][channel][row][column]` order (oneDNN's OIHW),
    /// float32 output. `outputScales` (one per filter) multiply the accumulator plus bias, as
    /// oneDNN 2.x applies them.
    ///
    /// `groups` splits channels and filters into that many independent convolutions (oneDNN's
    /// GOIHW: the weights are then `[group][filter of group][channel of group][row][column]`);
    /// `groups == input.channels == filters` is a depthwise convolution, as YuNet uses.
    init<Weight>(input: TensorShape, filters: Int, kernelHeight: Int, kernelWidth: Int, stride: Int, padding: Int,
                 source: dnnl_data_type_t, weights plainWeights: [Weight], weightType: dnnl_data_type_t, bias plainBias: [Float],
                 outputScales: [Float]?, fusedReLU: Bool, threads: Int, groups: Int = 1) throws(VisionError) {
        guard groups > 0, filters % groups == 0, input.channels % groups == 0,
              plainWeights.count == filters * (input.channels / groups) * kernelHeight * kernelWidth, plainBias.count == filters,
              outputScales.map({ $0.count == filters && $0.allSatisfy { $0.isFinite && $0 > 0 } }) ?? true
        else {
            throw .invalidModel(file: "network", reason: "a convolution whose weights, bias or scales do not fit its \(input) input")
        }
        let engine = try DNNLEngine.shared()
        netra_omp_set_num_threads(Int32(threads))
        self.threads = threads
        let outputHeight = (input.height + 2 * padding - kernelHeight) / stride + 1
        let outputWidth = (input.width + 2 * padding - kernelWidth) / stride + 1
        inputShape = input
        outputShape = TensorShape(batch: input.batch, height: outputHeight, width: outputWidth, channels: filters)

        sourceDescriptor = try Self.descriptor([input.batch, input.channels, input.height, input.width], source, dnnl_nhwc)
        destinationDescriptor = try Self.descriptor([input.batch, filters, outputHeight, outputWidth], dnnl_f32, dnnl_nhwc)
        let weightDims = groups == 1 ? [filters, input.channels, kernelHeight, kernelWidth]
            : [groups, filters / groups, input.channels / groups, kernelHeight, kernelWidth]
        var anyWeights = try Self.descriptor(weightDims, weightType, dnnl_format_tag_any)
        var biasDescriptor = try Self.descriptor([filters], dnnl_f32, dnnl_x)

        var operation = dnnl_convolution_desc_t()
        let strides: [Int64] = [Int64(stride), Int64(stride)]
        let paddings: [Int64] = [Int64(padding), Int64(padding)]
        try check(dnnl_convolution_forward_desc_init(
            &operation, dnnl_forward_inference, dnnl_convolution_direct,
            &sourceDescriptor, &anyWeights, &biasDescriptor, &destinationDescriptor, strides, paddings, paddings),
            "describe convolution")

        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), "create attributes")
        defer { dnnl_primitive_attr_destroy(attributes) }
        try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set scratchpad mode")
        if let outputScales {
            // Mask 1 << 1: one scale per index of destination dimension 1 (output channels).
            try check(dnnl_primitive_attr_set_output_scales(attributes, Int64(filters), 1 << 1, outputScales),
                      "set per-channel output scales")
        }
        if fusedReLU {
            var postOps: dnnl_post_ops_t?
            try check(dnnl_post_ops_create(&postOps), "create post-ops")
            defer { dnnl_post_ops_destroy(postOps) }
            try check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, 0, 0), "append ReLU")
            try check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set post-ops")
        }

        var descriptor: dnnl_primitive_desc_t?
        try check(dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil), "create convolution")
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var created: dnnl_primitive_t?
        try check(dnnl_primitive_create(&created, descriptor), "create convolution primitive")
        primitive = created!
        scratchpadDescriptor = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0).pointee
        var scratchpad = scratchpadDescriptor
        scratchpadByteCount = dnnl_memory_desc_get_size(&scratchpad)

        // Weights: reorder once from plain OIHW (GOIHW when grouped) into the chosen layout.
        let chosenWeights = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0).pointee
        weights = try Self.reordered(plainWeights, type: weightType, dims: weightDims, into: chosenWeights, engine: engine)
        bias = try Self.memory(copying: plainBias, descriptor: biasDescriptor, engine: engine)
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_memory_destroy(weights)
        dnnl_memory_destroy(bias)
    }

    /// `output = conv(input)`; buffers hold `inputShape` and `outputShape` elements (NHWC).
    func run(input: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
             scratchpad: UnsafeMutableRawPointer?, stream: dnnl_stream_t) throws(VisionError) {
        try run(source: UnsafeMutableRawPointer(input), output: output, scratchpad: scratchpad, stream: stream)
    }

    /// `output = conv(source)`, the source in the data type the convolution was made for.
    func run(source input: UnsafeMutableRawPointer, output: UnsafeMutablePointer<Float>,
             scratchpad: UnsafeMutableRawPointer?, stream: dnnl_stream_t) throws(VisionError) {
        let engine = try DNNLEngine.shared()
        var source: dnnl_memory_t?, destination: dnnl_memory_t?, scratch: dnnl_memory_t?
        var scratchDescriptor = scratchpadDescriptor
        try check(dnnl_memory_create(&source, &sourceDescriptor, engine, input), "bind input")
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
        try check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), arguments), "run convolution")
    }

    private static func descriptor(_ dims: [Int], _ type: dnnl_data_type_t, _ tag: dnnl_format_tag_t) throws(VisionError) -> dnnl_memory_desc_t {
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

    private static func reordered<Element>(_ values: [Element], type: dnnl_data_type_t, dims: [Int], into target: dnnl_memory_desc_t,
                                           engine: dnnl_engine_t) throws(VisionError) -> dnnl_memory_t {
        var plainDescriptor = try descriptor(dims, type, dims.count == 5 ? dnnl_goihw : dnnl_oihw)
        let plain = try memory(copying: values, descriptor: plainDescriptor, engine: engine)
        defer { dnnl_memory_destroy(plain) }
        var target = target
        var result: dnnl_memory_t?
        try check(dnnl_memory_create(&result, &target, engine, netra_dnnl_memory_allocate()), "allocate weights")
        var reorderDescriptor: dnnl_primitive_desc_t?
        try check(dnnl_reorder_primitive_desc_create(&reorderDescriptor, &plainDescriptor, engine, &target, engine, nil),
                  "describe weight reorder")
        defer { dnnl_primitive_desc_destroy(reorderDescriptor) }
        var reorder: dnnl_primitive_t?
        try check(dnnl_primitive_create(&reorder, reorderDescriptor), "create weight reorder")
        defer { dnnl_primitive_destroy(reorder) }
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, engine, UInt32(dnnl_stream_default_flags.rawValue)), "create stream")
        defer { dnnl_stream_destroy(stream) }
        let arguments = [dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_FROM, memory: plain),
                         dnnl_exec_arg_t(arg: NETRA_DNNL_ARG_TO, memory: result)]
        try check(dnnl_primitive_execute(reorder, stream, 2, arguments), "reorder weights")
        try check(dnnl_stream_wait(stream), "wait for weight reorder")
        return result!
    }
}

/// oneDNN's CPU engine, created once per process.
///
/// oneDNN's own primitive cache is turned off when the engine is made. NETRA already keeps the
/// primitives it reuses (a plan per tensor shape, `PlanCache` and `BatchedPlans`); oneDNN's
/// cache (1024 primitives by default) would also keep every primitive of every plan evicted
/// since, and its int8 (AMX) convolutions hold tens of megabytes each: a server fed photos of
/// many sizes grew to over 2 GB resident with it and stays near the float32 figure without.
enum DNNLEngine {
    nonisolated(unsafe) private static let creation: Result<dnnl_engine_t, VisionError> = {
        let cacheStatus = dnnl_set_primitive_cache_capacity(0)
        guard cacheStatus == dnnl_success else {
            return .failure(.computeLibrary("oneDNN could not turn off its primitive cache (status \(cacheStatus.rawValue))"))
        }
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success, let engine else {
            return .failure(.computeLibrary("oneDNN could not create its CPU engine (status \(status.rawValue))"))
        }
        return .success(engine)
    }()

    static func shared() throws(VisionError) -> dnnl_engine_t {
        try creation.get()
    }

    /// A new in-order stream on the engine (one per concurrent caller).
    static func makeStream() throws(VisionError) -> dnnl_stream_t {
        var stream: dnnl_stream_t?
        try check(dnnl_stream_create(&stream, try shared(), UInt32(dnnl_stream_default_flags.rawValue)), "create stream")
        return stream!
    }
}

/// Turns a oneDNN status into a `VisionError` naming the step that failed.
func check(_ status: dnnl_status_t, _ step: String) throws(VisionError) {
    guard status == dnnl_success else {
        throw .computeLibrary("oneDNN failed to \(step) (status \(status.rawValue))")
    }
}
