import CDNNL
import Foundation

/// A dlib network compiled for one input shape: a straight list of steps over numbered
/// activation buffers, with the convolutions built once (affine folded, ReLU fused).
///
/// The dlib layer list is interpreted once, here; running the plan is then only kernel calls.
/// Tags and skips become buffer references, so residual wiring costs nothing.
final class NetworkPlan: @unchecked Sendable {
    enum Step {
        case convolution(DNNLConvolution, input: Int, output: Int)
        case quantizedConvolution(DNNLQuantizedConvolution, input: Int, output: Int)
        case singleFilterConvolution(SingleFilterConvolution, input: Int, output: Int)
        case maxPool(kernel: Int, stride: Int, input: Int, output: Int)
        case averagePool(kernel: Int, stride: Int, input: Int, output: Int)
        /// dlib's `add_prev` for unequal shapes: each dimension is the larger one, missing elements count as 0.
        case addZeroExtended(Int, Int, output: Int, relu: Bool)
        case relu(Int)
        case globalAverage(input: Int, output: Int)
        case fullyConnected(weights: [Float], inputs: Int, outputs: Int, input: Int, output: Int)
    }

    let inputShape: TensorShape
    private(set) var shapes: [TensorShape] = []
    private(set) var steps: [Step] = []
    private(set) var outputSlot = 0
    private(set) var scratchpadByteCount = 0
    /// Floats of scratch memory for the kernels that are not oneDNN's.
    private(set) var scratchFloatCount = 0
    /// Bytes of the u8 buffer int8 convolutions quantize their input into.
    private(set) var quantizedInputByteCount = 0
    private let recorder: ActivationRecorder?
    /// For calibration: the layer index (in `layers`) of each convolution step's layer.
    private var convolutionLayerOfStep: [Int: Int] = [:]
    /// The physical buffer each activation slot lives in, and each buffer's size in floats:
    /// slots whose lifetimes do not overlap share a buffer (see `assignBuffers`).
    private(set) var bufferOfSlot: [Int] = []
    private(set) var bufferSizes: [Int] = []

    init(layers: [DlibLayer], input: TensorShape, threads: Int, recorder: ActivationRecorder? = nil) throws(VisionError) {
        inputShape = input
        self.recorder = recorder
        shapes = [input]
        var current = 0
        var tags: [Int: Int] = [:]
        var index = 0
        while index < layers.count {
            switch layers[index] {
            case let .tag(id):
                tags[id] = current
            case let .skip(id):
                guard let slot = tags[id] else { throw .invalidModel(file: "network", reason: "skip to unknown tag \(id)") }
                current = slot
            case var .convolution(weights):
                try Self.requireChannels(weights.channels, of: shapes[current], layer: index)
                convolutionLayerOfStep[steps.count] = index
                var relu = false
                if index + 1 < layers.count, case let .affine(scale, shift) = layers[index + 1] {
                    weights = weights.folding(scale: scale, shift: shift)
                    index += 1
                }
                if Self.isReLU(layers, at: index + 1) {
                    relu = true
                    index += 1
                }
                if weights.isSingleFilter {
                    let convolution = SingleFilterConvolution(input: shapes[current], layer: weights, relu: relu)
                    scratchFloatCount = max(scratchFloatCount, convolution.scratchFloatCount)
                    current = try append(.singleFilterConvolution(convolution, input: current, output: shapes.count),
                                     shape: convolution.outputShape)
                } else {
                    let convolution = try DNNLConvolution(input: shapes[current], layer: weights, fusedReLU: relu, threads: threads)
                    scratchpadByteCount = max(scratchpadByteCount, convolution.scratchpadByteCount)
                    current = try append(.convolution(convolution, input: current, output: shapes.count), shape: convolution.outputShape)
                }
            case let .quantizedConvolution(weights):
                try Self.requireChannels(weights.channels, of: shapes[current], layer: index)
                convolutionLayerOfStep[steps.count] = index
                let relu = Self.isReLU(layers, at: index + 1)
                if relu { index += 1 }
                let convolution = try DNNLQuantizedConvolution(input: shapes[current], layer: weights, fusedReLU: relu, threads: threads)
                scratchpadByteCount = max(scratchpadByteCount, convolution.scratchpadByteCount)
                quantizedInputByteCount = max(quantizedInputByteCount, convolution.quantizedInputByteCount)
                current = try append(.quantizedConvolution(convolution, input: current, output: shapes.count), shape: convolution.outputShape)
            case let .maxPool(kernel, stride, _):
                current = try append(.maxPool(kernel: kernel, stride: stride, input: current, output: shapes.count),
                                 shape: Self.pooledShape(shapes[current], kernel: kernel, stride: stride))
            case let .averagePool(kernel, stride, _) where kernel > 0:
                current = try append(.averagePool(kernel: kernel, stride: stride, input: current, output: shapes.count),
                                 shape: Self.pooledShape(shapes[current], kernel: kernel, stride: stride))
            case .averagePool:
                let inShape = shapes[current]
                current = try append(.globalAverage(input: current, output: shapes.count),
                                 shape: TensorShape(batch: inShape.batch, height: 1, width: 1, channels: inShape.channels))
            case let .addPrevious(tag):
                guard let other = tags[tag] else { throw .invalidModel(file: "network", reason: "add to unknown tag \(tag)") }
                var relu = false
                if Self.isReLU(layers, at: index + 1) {
                    relu = true
                    index += 1
                }
                let (a, b) = (shapes[current], shapes[other])
                let shape = TensorShape(batch: a.batch, height: max(a.height, b.height), width: max(a.width, b.width),
                                        channels: max(a.channels, b.channels))
                current = try append(.addZeroExtended(current, other, output: shapes.count, relu: relu), shape: shape)
            case .relu:
                steps.append(.relu(current))
            case let .fullyConnected(inputs, outputs, weights):
                let inShape = shapes[current]
                guard inShape.height == 1, inShape.width == 1, inShape.channels == inputs else {
                    throw .invalidModel(file: "network", reason: "fully connected layer expects \(inputs) pooled inputs")
                }
                current = try append(.fullyConnected(weights: weights, inputs: inputs, outputs: outputs, input: current, output: shapes.count),
                                 shape: TensorShape(batch: inShape.batch, height: 1, width: 1, channels: outputs))
            case .affine:
                throw .invalidModel(file: "network", reason: "an affine layer that does not follow a convolution")
            }
            index += 1
        }
        outputSlot = current
        (bufferOfSlot, bufferSizes) = Self.assignBuffers(steps: steps, sizes: shapes.map(\.elementCount), output: outputSlot)
    }

    var outputShape: TensorShape { shapes[outputSlot] }

    /// Bytes one `Workspace` of this plan holds.
    var workspaceByteCount: Int {
        4 * (bufferSizes.reduce(0, +) + scratchFloatCount) + scratchpadByteCount + quantizedInputByteCount
    }

    /// The slots a step reads and the slot it writes.
    private static func slots(of step: Step) -> (reads: [Int], writes: Int) {
        switch step {
        case let .convolution(_, input, output), let .quantizedConvolution(_, input, output),
             let .singleFilterConvolution(_, input, output), let .maxPool(_, _, input, output),
             let .averagePool(_, _, input, output), let .globalAverage(input, output),
             let .fullyConnected(_, _, _, input, output):
            return ([input], output)
        case let .addZeroExtended(a, b, output, _):
            return ([a, b], output)
        case let .relu(slot):
            return ([slot], slot)
        }
    }

    /// Gives every slot a physical buffer, reusing the buffers of slots no later step reads
    /// (a residual's tagged input stays alive until its add). A step's output never shares a
    /// buffer with its inputs; the network's output slot is never reused. Without this, every
    /// layer's activations would stay allocated: about 200 MB per megapixel for the detector.
    static func assignBuffers(steps: [Step], sizes: [Int], output: Int) -> (bufferOfSlot: [Int], bufferSizes: [Int]) {
        var lastRead = [Int](repeating: -1, count: sizes.count)
        for (number, step) in steps.enumerated() {
            for slot in slots(of: step).reads { lastRead[slot] = number }
        }
        lastRead[output] = Int.max
        var bufferOfSlot = [Int](repeating: -1, count: sizes.count)
        var bufferSizes: [Int] = []
        var free: [Int] = []
        func place(_ slot: Int) {
            let fitting = free.filter { bufferSizes[$0] >= sizes[slot] }.min { bufferSizes[$0] < bufferSizes[$1] }
            let chosen = fitting ?? free.max { bufferSizes[$0] < bufferSizes[$1] }
            if let chosen {
                free.removeAll { $0 == chosen }
                bufferSizes[chosen] = max(bufferSizes[chosen], sizes[slot])
                bufferOfSlot[slot] = chosen
            } else {
                bufferSizes.append(max(1, sizes[slot]))
                bufferOfSlot[slot] = bufferSizes.count - 1
            }
        }
        place(0)
        for (number, step) in steps.enumerated() {
            let (reads, writes) = slots(of: step)
            if bufferOfSlot[writes] < 0 { place(writes) }
            // A buffer holds one live slot at a time: when that slot is read for the last time, the buffer is free.
            for slot in Set(reads + [writes]) where lastRead[slot] <= number && !free.contains(bufferOfSlot[slot]) {
                free.append(bufferOfSlot[slot])
            }
        }
        return (bufferOfSlot, bufferSizes)
    }

    private static func requireChannels(_ channels: Int, of input: TensorShape, layer: Int) throws(VisionError) {
        guard channels == input.channels else {
            throw .invalidModel(file: "network", reason: "layer \(layer) expects \(channels) channels, its input has \(input.channels)")
        }
    }

    private static func isReLU(_ layers: [DlibLayer], at index: Int) -> Bool {
        guard index < layers.count, case .relu = layers[index] else { return false }
        return true
    }

    private static func pooledShape(_ input: TensorShape, kernel: Int, stride: Int) -> TensorShape {
        TensorShape(batch: input.batch, height: (input.height - kernel) / stride + 1,
                    width: (input.width - kernel) / stride + 1, channels: input.channels)
    }

    /// Adds a step writing a new slot of `shape`; a layer that leaves nothing (a kernel or
    /// stride larger than its input) is a broken model, not a crash.
    private func append(_ step: Step, shape: TensorShape) throws(VisionError) -> Int {
        guard shape.height > 0, shape.width > 0, shape.channels > 0 else {
            throw .invalidModel(file: "network", reason: "layer \(steps.count) leaves an empty \(shape.height) x \(shape.width) x \(shape.channels) tensor")
        }
        steps.append(step)
        shapes.append(shape)
        return shapes.count - 1
    }

    /// Runs the plan on `workspace`, whose slot 0 the caller has filled with the input.
    func run(in workspace: Workspace) throws(VisionError) {
        for (number, step) in steps.enumerated() {
            switch step {
            case let .convolution(convolution, input, output):
                if let recorder, let layer = convolutionLayerOfStep[number] {
                    recorder.record(layer: layer, workspace.buffer(input), count: shapes[input].elementCount)
                }
                try convolution.run(input: workspace.buffer(input), output: workspace.buffer(output),
                                    scratchpad: workspace.scratchpad, stream: workspace.stream)
            case let .quantizedConvolution(convolution, input, output):
                try convolution.run(input: workspace.buffer(input), output: workspace.buffer(output), quantizedInput: workspace.quantizedInput,
                                    scratchpad: workspace.scratchpad, stream: workspace.stream)
            case let .singleFilterConvolution(convolution, input, output):
                convolution.run(input: workspace.buffer(input), output: workspace.buffer(output), scratch: workspace.scratch)
            case let .maxPool(kernel, stride, input, output):
                ActivationKernels.pool(workspace.buffer(input), shapes[input], into: workspace.buffer(output), shapes[output],
                                       kernel: kernel, stride: stride, maximum: true)
            case let .averagePool(kernel, stride, input, output):
                ActivationKernels.pool(workspace.buffer(input), shapes[input], into: workspace.buffer(output), shapes[output],
                                       kernel: kernel, stride: stride, maximum: false)
            case let .addZeroExtended(a, b, output, relu):
                ActivationKernels.addZeroExtended(workspace.buffer(a), shapes[a], workspace.buffer(b), shapes[b],
                                                  into: workspace.buffer(output), shapes[output], relu: relu)
            case let .relu(slot):
                ActivationKernels.relu(workspace.buffer(slot), count: shapes[slot].elementCount)
            case let .globalAverage(input, output):
                ActivationKernels.globalAverage(workspace.buffer(input), shapes[input], into: workspace.buffer(output))
            case let .fullyConnected(weights, inputs, outputs, input, output):
                ActivationKernels.fullyConnected(workspace.buffer(input), batch: shapes[input].batch, inputs: inputs,
                                                 weights: weights, outputs: outputs, into: workspace.buffer(output))
            }
        }
    }

    /// The activation buffers, scratchpad and stream one caller needs to run this plan.
    final class Workspace {
        private let buffers: [UnsafeMutablePointer<Float>]
        private let bufferOfSlot: [Int]
        /// oneDNN's scratchpad.
        let scratchpad: UnsafeMutableRawPointer
        /// Scratch for NETRA's own kernels.
        let scratch: UnsafeMutablePointer<Float>
        /// Where int8 convolutions put their quantized input.
        let quantizedInput: UnsafeMutablePointer<UInt8>
        let stream: dnnl_stream_t

        init(for plan: NetworkPlan) throws(VisionError) {
            buffers = plan.bufferSizes.map { UnsafeMutablePointer<Float>.allocate(capacity: $0) }
            bufferOfSlot = plan.bufferOfSlot
            scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(64, plan.scratchpadByteCount), alignment: 64)
            scratch = UnsafeMutablePointer<Float>.allocate(capacity: max(1, plan.scratchFloatCount))
            quantizedInput = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, plan.quantizedInputByteCount))
            stream = try DNNLEngine.makeStream()
        }

        deinit {
            buffers.forEach { $0.deallocate() }
            scratchpad.deallocate()
            scratch.deallocate()
            quantizedInput.deallocate()
            dnnl_stream_destroy(stream)
        }

        func buffer(_ slot: Int) -> UnsafeMutablePointer<Float> { buffers[bufferOfSlot[slot]] }
    }
}
