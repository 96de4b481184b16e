/// One wrapper of a dlib network type (`add_layer`, `add_tag_layer`, `add_skip_layer`), in
/// forward (input to output) order. A list of these is the network's architecture, which the
/// file does not record: the reader must know it, as dlib's C++ type does.
package enum DlibLayerSpec: Equatable, Sendable {
    case convolution(filters: Int, kernel: Int, stride: Int)
    case affine
    case relu
    case maxPool(kernel: Int, stride: Int)
    /// `kernel` 0 averages each whole channel (`avg_pool_everything`).
    case averagePool(kernel: Int, stride: Int)
    case addPrevious(tag: Int)
    case fullyConnected(outputs: Int)
    case tag(Int)
    case skip(Int)
}

/// The parameters of one layer as read from a file, in forward order.
enum DlibLayer: Sendable {
    case convolution(ConvolutionWeights)
    /// A convolution exported as int8 (`netra export --format int8`); never in dlib's files.
    case quantizedConvolution(QuantizedConvolutionWeights)
    /// `out = scale[k] * in + shift[k]` per channel (also frozen batch norm, already folded).
    case affine(scale: [Float], shift: [Float])
    case relu
    case maxPool(kernel: Int, stride: Int, padding: Int)
    case averagePool(kernel: Int, stride: Int, padding: Int)
    case addPrevious(tag: Int)
    /// `weights[i * outputs + o]`; no bias (the embedder's layer has none).
    case fullyConnected(inputs: Int, outputs: Int, weights: [Float])
    case tag(Int)
    case skip(Int)
}

/// A convolution's filters in dlib's `[filter][channel][row][column]` order, and its biases.
struct ConvolutionWeights: Sendable {
    let filters: Int
    let channels: Int
    let kernelHeight: Int
    let kernelWidth: Int
    let stride: Int
    let padding: Int
    var weights: [Float]
    var bias: [Float]

    /// A single-filter, stride-1 convolution (the detector's output layer) runs as one sgemm,
    /// in float32 whatever the export format.
    var isSingleFilter: Bool { filters == 1 && stride == 1 }

    /// `affine(conv(x))` as one convolution: filter f scaled by `scale[f]`, bias `scale[f] * b + shift[f]`.
    func folding(scale: [Float], shift: [Float]) -> ConvolutionWeights {
        var folded = self
        let perFilter = channels * kernelHeight * kernelWidth
        for filter in 0..<filters {
            for index in (filter * perFilter)..<((filter + 1) * perFilter) {
                folded.weights[index] *= scale[filter]
            }
            folded.bias[filter] = bias[filter] * scale[filter] + shift[filter]
        }
        return folded
    }
}

/// A parsed dlib network file (`add_loss_layer<...>`): loss options, input normalisation and
/// the layers' parameters.
package struct DlibNetworkFile: Sendable {
    enum Loss: Sendable {
        case metric
        case mmod(MMODOptions)
    }

    struct MMODOptions: Sendable {
        let windowWidth: Int
        let windowHeight: Int
        /// Non-max suppression: a candidate is dropped when `inner / hull > iouThreshold` with a kept one.
        let nmsIoUThreshold: Double
        let nmsCoveredThreshold: Double
    }

    /// The `input_rgb_image_*` record: per-channel means (R, G, B) and, for the pyramid
    /// input, its padding between and around levels.
    struct Input: Sendable {
        let means: [Float]
        let pyramidPadding: Int
        let pyramidOuterPadding: Int
    }

    let loss: Loss
    let input: Input
    let layers: [DlibLayer]

    /// Parses `bytes` as a network with the architecture `layout` (forward order).
    static func parse(_ bytes: [UInt8], layout: [DlibLayerSpec]) throws(DlibFormatError) -> DlibNetworkFile {
        var reader = DlibReader(bytes)
        guard try reader.int() == 1 else { throw reader.error("unsupported add_loss_layer version") }
        let loss = try readLoss(&reader)

        // All wrappers write their version first, outermost first; their fields come later,
        // innermost first, which is forward order.
        var versions: [Int] = []
        for (index, spec) in layout.enumerated().reversed() {
            let version = try reader.int()
            let allowed: ClosedRange<Int>
            switch spec {
            case .tag, .skip: allowed = 1...1
            default: allowed = index == 0 ? 2...3 : 1...2
            }
            guard allowed.contains(version) else { throw reader.error("unexpected layer version \(version)") }
            versions.append(version)
        }
        versions.reverse()
        let input = try readInput(&reader)

        var layers: [DlibLayer] = []
        for (index, spec) in layout.enumerated() {
            if case let .tag(id) = spec { layers.append(.tag(id)); continue }
            if case let .skip(id) = spec { layers.append(.skip(id)); continue }
            layers.append(try readLayer(&reader, spec: spec))
            for _ in 0..<3 { _ = try reader.bool() }
            _ = try reader.tensor()
            _ = try reader.tensor()
            if index == 0 {
                _ = try reader.tensor()
                if versions[index] == 3 { _ = try reader.int() }
            } else if versions[index] == 2 {
                _ = try reader.tensor()
            }
        }
        guard reader.isAtEnd else { throw reader.error("unexpected data after the last layer") }
        return DlibNetworkFile(loss: loss, input: input, layers: layers)
    }

    private static func readLoss(_ reader: inout DlibReader) throws(DlibFormatError) -> Loss {
        switch try reader.expect("loss_metric_", "loss_metric_2", "loss_mmod_") {
        case "loss_metric_": return .metric
        case "loss_metric_2":
            _ = try reader.double()
            _ = try reader.double()
            return .metric
        default:
            let version = try reader.int()
            var windows: [(Int, Int)] = []
            if version == 1 {
                windows.append((try reader.int(), try reader.int()))
            } else {
                for _ in 0..<(try reader.count(atMost: 64)) {
                    let windowVersion = try reader.int()
                    windows.append((try reader.int(), try reader.int()))
                    if windowVersion == 2 { _ = try reader.string() }
                }
            }
            guard windows.count == 1 else { throw reader.error("only single-window MMOD detectors are supported") }
            _ = try reader.double()  // loss per false alarm
            _ = try reader.double()  // loss per missed target
            _ = try reader.double()  // truth match IoU threshold
            let nmsIoU = try reader.double(), nmsCovered = try reader.double()
            _ = try reader.double()  // overlaps_ignore
            _ = try reader.double()
            if version >= 3 { _ = try reader.byte() }
            if version >= 4, try reader.bool() { throw reader.error("bounding-box regression is not supported") }
            if version >= 4 { _ = try reader.double() }
            return .mmod(MMODOptions(windowWidth: windows[0].0, windowHeight: windows[0].1,
                                     nmsIoUThreshold: nmsIoU, nmsCoveredThreshold: nmsCovered))
        }
    }

    private static func readInput(_ reader: inout DlibReader) throws(DlibFormatError) -> Input {
        let kind = try reader.expect("input_rgb_image_sized", "input_rgb_image_pyramid", "input_rgb_image_pyramid2")
        let means = [try reader.float(), try reader.float(), try reader.float()]
        switch kind {
        case "input_rgb_image_sized":
            _ = try reader.int()
            _ = try reader.int()
            return Input(means: means, pyramidPadding: 0, pyramidOuterPadding: 0)
        case "input_rgb_image_pyramid":
            return Input(means: means, pyramidPadding: 10, pyramidOuterPadding: 11)
        default:
            return Input(means: means, pyramidPadding: try reader.int(), pyramidOuterPadding: try reader.int())
        }
    }

    private static func readLayer(_ reader: inout DlibReader, spec: DlibLayerSpec) throws(DlibFormatError) -> DlibLayer {
        switch spec {
        case let .convolution(expectedFilters, expectedKernel, expectedStride):
            let version = try reader.expect("con_4", "con_5", "con_6")
            let parameters = try reader.tensor()
            let filters = try reader.int(), rows = try reader.int(), columns = try reader.int()
            let strideY = try reader.int(), strideX = try reader.int()
            let paddingY = try reader.int(), paddingX = try reader.int()
            let filterShape = try reader.aliasShape()
            _ = try reader.aliasShape()
            for _ in 0..<4 { _ = try reader.double() }
            var useBias = true
            if version != "con_4" { useBias = try reader.bool() }
            if version == "con_6" { _ = try reader.bool() }
            guard filters == expectedFilters, rows == expectedKernel, columns == expectedKernel,
                  strideY == expectedStride, strideX == expectedStride, paddingX == paddingY,
                  filterShape[0] == filters, filterShape[2] == rows, filterShape[3] == columns
            else { throw reader.error("convolution does not match the expected architecture") }
            let weightCount = filterShape.reduce(1, *)
            guard parameters.count >= weightCount + (useBias ? filters : 0) else {
                throw reader.error("convolution parameters are too short")
            }
            return .convolution(ConvolutionWeights(
                filters: filters, channels: filterShape[1], kernelHeight: rows, kernelWidth: columns,
                stride: strideY, padding: paddingY,
                weights: Array(parameters[0..<weightCount]),
                bias: useBias ? Array(parameters[weightCount..<(weightCount + filters)]) : [Float](repeating: 0, count: filters)))
        case .affine:
            let version = try reader.expect("affine_", "affine_2", "bn_con2")
            let parameters = try reader.tensor()
            let channels = try reader.aliasShape().reduce(1, *)
            _ = try reader.aliasShape()
            guard parameters.count >= 2 * channels else { throw reader.error("affine parameters are too short") }
            let gamma = Array(parameters[0..<channels]), beta = Array(parameters[channels..<(2 * channels)])
            if version == "bn_con2" {
                _ = try reader.tensor()  // batch means and inverse deviations: training only
                _ = try reader.tensor()
                let runningMeans = try reader.tensor(), runningVariances = try reader.tensor()
                _ = try reader.int()
                _ = try reader.int()
                for _ in 0..<4 { _ = try reader.double() }
                let epsilon = Float(try reader.double())
                guard runningMeans.count == channels, runningVariances.count == channels else {
                    throw reader.error("batch-norm statistics do not match its channels")
                }
                let scale = (0..<channels).map { gamma[$0] / (runningVariances[$0] + epsilon).squareRoot() }
                let shift = (0..<channels).map { beta[$0] - scale[$0] * runningMeans[$0] }
                return .affine(scale: scale, shift: shift)
            }
            guard try reader.int() == 0 else { throw reader.error("only per-channel affine layers are supported") }
            if version == "affine_2" { _ = try reader.bool() }
            return .affine(scale: gamma, shift: beta)
        case .relu:
            if try reader.expect("relu_", "relu_2") == "relu_2" { _ = try reader.bool() }
            return .relu
        case let .maxPool(kernel, stride), let .averagePool(kernel, stride):
            let isMax: Bool
            if case .maxPool = spec { isMax = true } else { isMax = false }
            try reader.expect(isMax ? "max_pool_2" : "avg_pool_2")
            let rows = try reader.int(), columns = try reader.int()
            let strideY = try reader.int(), strideX = try reader.int()
            let paddingY = try reader.int(), paddingX = try reader.int()
            guard rows == kernel, columns == kernel, strideY == stride, strideX == stride, paddingX == paddingY else {
                throw reader.error("pooling does not match the expected architecture")
            }
            return isMax ? .maxPool(kernel: kernel, stride: stride, padding: paddingY)
                : .averagePool(kernel: kernel, stride: stride, padding: paddingY)
        case let .addPrevious(tag):
            try reader.expect("add_prev_")
            return .addPrevious(tag: tag)
        case let .fullyConnected(expectedOutputs):
            let version = try reader.expect("fc_2", "fc_3")
            let outputs = try reader.int(), inputs = try reader.int()
            let parameters = try reader.tensor()
            _ = try reader.aliasShape()
            _ = try reader.aliasShape()
            let biasMode = try reader.int()
            for _ in 0..<4 { _ = try reader.double() }
            var useBias = biasMode == 0
            if version == "fc_3" { useBias = try reader.bool() && useBias }
            guard outputs == expectedOutputs, !useBias, parameters.count >= inputs * outputs else {
                throw reader.error("fully connected layer does not match the expected architecture")
            }
            return .fullyConnected(inputs: inputs, outputs: outputs, weights: Array(parameters[0..<(inputs * outputs)]))
        case .tag, .skip:
            preconditionFailure("tags and skips have no fields")
        }
    }
}

extension DlibNetworkFile {
    /// The same network with each affine layer that follows a convolution folded into it:
    /// what export stores, so that quantization sees the weights that are really applied.
    package func foldingAffineLayers() -> DlibNetworkFile {
        var folded: [DlibLayer] = []
        for layer in layers {
            if case let .affine(scale, shift) = layer, case let .convolution(weights)? = folded.last {
                folded[folded.count - 1] = .convolution(weights.folding(scale: scale, shift: shift))
            } else {
                folded.append(layer)
            }
        }
        return DlibNetworkFile(loss: loss, input: input, layers: folded)
    }
}

extension DlibLayer {
    /// Stride, kernel height and padding of a convolution of either precision; `nil` for other layers.
    var convolutionGeometry: (stride: Int, kernelHeight: Int, padding: Int)? {
        switch self {
        case let .convolution(weights): (weights.stride, weights.kernelHeight, weights.padding)
        case let .quantizedConvolution(weights): (weights.stride, weights.kernelHeight, weights.padding)
        default: nil
        }
    }
}
