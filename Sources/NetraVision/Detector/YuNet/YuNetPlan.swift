import CDNNL

/// YuNet compiled for one padded input size: its convolutions built once as oneDNN
/// primitives (ReLU fused), then a straight list of steps over numbered buffers.
///
/// The graph, as libfacedetection's `objectdetect_cnn` runs it:
/// stem (3x3 stride 2) -> separable -> pool -> stages 1, 2 -> pool -> stage 3 (`f8`) -> pool ->
/// stage 4 (`f16`) -> pool -> stage 5 -> neck 2 (`n32`); `n16 = neck1(up(n32) + f16)`,
/// `n8 = neck0(up(n16) + f8)`; each `n` feeds the heads of its level. The four heads of a
/// level (score, box, objectness, landmarks; each a separable convolution without ReLU) run
/// as one pointwise convolution of 16 filters and one 16-channel depthwise convolution: the
/// same arithmetic in two oneDNN calls instead of eight.
final class YuNetPlan: WorkspacePlan, @unchecked Sendable {
    enum Step {
        case convolution(DNNLConvolution, input: Int, output: Int)
        case maxPool(input: Int, shape: TensorShape, output: Int)
        case upsampleAdd(coarse: Int, fine: Int, shape: TensorShape, output: Int)
    }

    /// The input tensor: the image padded to a multiple of 32 on each side.
    let inputShape: TensorShape
    /// The buffer the caller fills with the input.
    let inputBuffer = 0
    /// Per level (strides 8, 16, 32): the buffer holding its `headChannels` outputs and its shape.
    private(set) var heads: [(buffer: Int, shape: TensorShape)] = []
    private(set) var steps: [Step] = []
    /// Floats of each buffer.
    private(set) var bufferSizes: [Int] = []
    private(set) var scratchpadByteCount = 0

    /// Below this many outputs per thread a convolution runs on one thread: waking a second
    /// costs more than it saves on the coarse levels' and the heads' small layers.
    static let minimumOutputsPerThread = 1 << 17

    /// Compiles YuNet for inputs of `paddedHeight x paddedWidth` (both multiples of 32).
    init(weights: YuNetWeights, paddedHeight: Int, paddedWidth: Int, threads: Int) throws(VisionError) {
        inputShape = TensorShape(batch: 1, height: paddedHeight, width: paddedWidth, channels: 3)
        let layers = weights.layers
        let input = newBuffer(inputShape)
        let ping = newBuffer(), pong = newBuffer()
        func spare(_ buffer: Int) -> Int { buffer == ping ? pong : ping }

        func convolution(_ x: Tensor, filters: Int, kernel: Int, stride: Int, weights filterWeights: [Float], bias: [Float],
                         relu: Bool, groups: Int = 1, into output: Int? = nil) throws(VisionError) -> Tensor {
            let outputs = ((x.shape.height - 1) / stride + 1) * ((x.shape.width - 1) / stride + 1) * filters
            let convolution = try DNNLConvolution(
                input: x.shape, filters: filters, kernelHeight: kernel, kernelWidth: kernel, stride: stride, padding: kernel / 2,
                source: dnnl_f32, weights: filterWeights, weightType: dnnl_f32, bias: bias, outputScales: nil,
                fusedReLU: relu, threads: outputs >= Self.minimumOutputsPerThread * threads ? threads : 1, groups: groups)
            scratchpadByteCount = max(scratchpadByteCount, convolution.scratchpadByteCount)
            let target = output ?? spare(x.buffer)
            steps.append(.convolution(convolution, input: x.buffer, output: target))
            return Tensor(buffer: target, shape: grow(target, to: convolution.outputShape))
        }
        /// Layer `index` (pointwise) and the depthwise layer after it.
        func separable(_ x: Tensor, _ index: Int, into output: Int? = nil) throws(VisionError) -> Tensor {
            let pointwise = layers[index], depthwise = layers[index + 1]
            let middle = try convolution(x, filters: pointwise.spec.filters, kernel: 1, stride: 1, weights: pointwise.weights,
                                         bias: pointwise.bias, relu: pointwise.spec.relu)
            return try convolution(middle, filters: depthwise.spec.filters, kernel: 3, stride: 1,
                                   weights: weights.depthwiseFilters(index + 1), bias: depthwise.bias,
                                   relu: depthwise.spec.relu, groups: depthwise.spec.channels, into: output)
        }
        func stage(_ x: Tensor, _ number: Int, into output: Int? = nil) throws(VisionError) -> Tensor {
            let first = YuNetArchitecture.stages[number]
            return try separable(separable(x, first), first + 2, into: output)
        }
        func maxPool(_ x: Tensor) -> Tensor {
            let shape = TensorShape(batch: 1, height: x.shape.height / 2, width: x.shape.width / 2, channels: x.shape.channels)
            let target = spare(x.buffer)
            steps.append(.maxPool(input: x.buffer, shape: x.shape, output: target))
            return Tensor(buffer: target, shape: grow(target, to: shape))
        }
        func upsampleAdd(_ coarse: Tensor, _ fine: Tensor) -> Tensor {
            steps.append(.upsampleAdd(coarse: coarse.buffer, fine: fine.buffer, shape: fine.shape, output: ping))
            return Tensor(buffer: ping, shape: grow(ping, to: fine.shape))
        }
        func headOutputs(_ x: Tensor, level: Int) throws(VisionError) -> Tensor {
            var pointwise: [Float] = [], depthwise: [Float] = [], pointwiseBias: [Float] = [], depthwiseBias: [Float] = []
            for head in YuNetArchitecture.Head.allCases {
                let index = YuNetArchitecture.head(head, level: level)
                pointwise += layers[index].weights
                pointwiseBias += layers[index].bias
                depthwise += weights.depthwiseFilters(index + 1)
                depthwiseBias += layers[index + 1].bias
            }
            let channels = YuNetArchitecture.headChannels
            let middle = try convolution(x, filters: channels, kernel: 1, stride: 1, weights: pointwise, bias: pointwiseBias, relu: false)
            return try convolution(middle, filters: channels, kernel: 3, stride: 1, weights: depthwise, bias: depthwiseBias,
                                   relu: false, groups: channels, into: newBuffer())
        }

        let stem = layers[YuNetArchitecture.stem]
        var x = try convolution(Tensor(buffer: input, shape: inputShape), filters: stem.spec.filters, kernel: 3, stride: 2,
                                weights: weights.stemFilters(), bias: stem.bias, relu: stem.spec.relu)
        x = try maxPool(separable(x, YuNetArchitecture.stem + 1))
        x = try stage(stage(x, 0), 1)
        let f8 = try stage(maxPool(x), 2, into: newBuffer())
        let f16 = try stage(maxPool(f8), 3, into: newBuffer())
        let f32 = try stage(maxPool(f16), 4)
        let n32 = try separable(f32, YuNetArchitecture.neck(level: 2), into: newBuffer())
        let n16 = try separable(upsampleAdd(n32, f16), YuNetArchitecture.neck(level: 1), into: newBuffer())
        let n8 = try separable(upsampleAdd(n16, f8), YuNetArchitecture.neck(level: 0), into: newBuffer())
        for (level, features) in [n8, n16, n32].enumerated() {
            let output = try headOutputs(features, level: level)
            heads.append((output.buffer, output.shape))
        }
    }

    /// A tensor of the plan: which buffer holds it, and its shape.
    private struct Tensor {
        var buffer: Int
        var shape: TensorShape
    }

    private func newBuffer(_ shape: TensorShape? = nil) -> Int {
        bufferSizes.append(shape?.elementCount ?? 0)
        return bufferSizes.count - 1
    }

    /// Makes `buffer` large enough for `shape`, and returns the shape.
    private func grow(_ buffer: Int, to shape: TensorShape) -> TensorShape {
        bufferSizes[buffer] = max(bufferSizes[buffer], shape.elementCount)
        return shape
    }

    var workspaceByteCount: Int { 4 * bufferSizes.reduce(0, +) + scratchpadByteCount }

    func makeWorkspace() throws(VisionError) -> Workspace { try Workspace(for: self) }

    /// Runs the plan on `workspace`, whose input buffer the caller has filled.
    func run(in workspace: Workspace) throws(VisionError) {
        for step in steps {
            switch step {
            case let .convolution(convolution, input, output):
                try convolution.run(input: workspace.buffers[input], output: workspace.buffers[output],
                                    scratchpad: workspace.scratchpad, stream: workspace.stream)
            case let .maxPool(input, shape, output):
                YuNetKernels.maxPool(workspace.buffers[input], shape, into: workspace.buffers[output])
            case let .upsampleAdd(coarse, fine, shape, output):
                YuNetKernels.upsampleAdd(workspace.buffers[coarse], workspace.buffers[fine], shape, into: workspace.buffers[output])
            }
        }
    }

    /// The buffers, scratchpad and stream one caller needs to run the plan.
    final class Workspace {
        let buffers: [UnsafeMutablePointer<Float>]
        /// oneDNN's scratchpad.
        let scratchpad: UnsafeMutableRawPointer
        let stream: dnnl_stream_t

        init(for plan: YuNetPlan) throws(VisionError) {
            buffers = plan.bufferSizes.map {
                UnsafeMutableRawPointer.allocate(byteCount: 4 * max(16, $0), alignment: 64).bindMemory(to: Float.self, capacity: max(16, $0))
            }
            scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(64, plan.scratchpadByteCount), alignment: 64)
            stream = try DNNLEngine.makeStream()
        }

        deinit {
            buffers.forEach { $0.deallocate() }
            scratchpad.deallocate()
            dnnl_stream_destroy(stream)
        }
    }
}
