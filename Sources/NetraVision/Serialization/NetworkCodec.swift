/// NETRA's own encoding of a network (`DlibNetworkFile`): the loss and input records and
/// each layer with its parameters, self-describing so the reader needs no architecture
/// list. Used inside exported model bundles, where weights may be float16.
enum NetworkCodec {
    private enum LayerKind: UInt8 {
        case convolution = 0, affine, relu, maxPool, averagePool, addPrevious, fullyConnected, tag, skip, quantizedConvolution
    }

    static func encode(_ network: DlibNetworkFile, precision: WeightPrecision) -> [UInt8] {
        var writer = BinaryWriter()
        switch network.loss {
        case .metric:
            writer.append(UInt8(0))
        case let .mmod(options):
            writer.append(UInt8(1))
            writer.append(options.windowWidth)
            writer.append(options.windowHeight)
            writer.append(options.nmsIoUThreshold)
            writer.append(options.nmsCoveredThreshold)
        }
        writer.append(network.input.means, as: .float32)
        writer.append(network.input.pyramidPadding)
        writer.append(network.input.pyramidOuterPadding)
        writer.append(network.layers.count)
        for layer in network.layers {
            switch layer {
            case let .convolution(weights):
                writer.append(LayerKind.convolution.rawValue)
                for value in [weights.filters, weights.channels, weights.kernelHeight, weights.kernelWidth, weights.stride, weights.padding] {
                    writer.append(value)
                }
                writer.append(weights.weights, as: precision)
                writer.append(weights.bias, as: .float32)
            case let .quantizedConvolution(weights):
                writer.append(LayerKind.quantizedConvolution.rawValue)
                for value in [weights.filters, weights.channels, weights.kernelHeight, weights.kernelWidth, weights.stride, weights.padding] {
                    writer.append(value)
                }
                writer.append(weights.weights)
                writer.append(weights.weightScales, as: .float32)
                writer.append(weights.bias, as: .float32)
                writer.append([weights.inputScale], as: .float32)
            case let .affine(scale, shift):
                writer.append(LayerKind.affine.rawValue)
                writer.append(scale, as: .float32)
                writer.append(shift, as: .float32)
            case .relu:
                writer.append(LayerKind.relu.rawValue)
            case let .maxPool(kernel, stride, padding), let .averagePool(kernel, stride, padding):
                if case .maxPool = layer { writer.append(LayerKind.maxPool.rawValue) } else { writer.append(LayerKind.averagePool.rawValue) }
                writer.append(kernel)
                writer.append(stride)
                writer.append(padding)
            case let .addPrevious(tag):
                writer.append(LayerKind.addPrevious.rawValue)
                writer.append(tag)
            case let .fullyConnected(inputs, outputs, weights):
                writer.append(LayerKind.fullyConnected.rawValue)
                writer.append(inputs)
                writer.append(outputs)
                writer.append(weights, as: precision)
            case let .tag(id):
                writer.append(LayerKind.tag.rawValue)
                writer.append(id)
            case let .skip(id):
                writer.append(LayerKind.skip.rawValue)
                writer.append(id)
            }
        }
        return writer.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(BinaryReader.Failure) -> DlibNetworkFile {
        var reader = BinaryReader(bytes)
        let loss: DlibNetworkFile.Loss
        switch try reader.byte() {
        case 0: loss = .metric
        case 1:
            loss = .mmod(.init(windowWidth: try reader.int(in: 1...1024, "window width"), windowHeight: try reader.int(in: 1...1024, "window height"),
                               nmsIoUThreshold: try reader.double(), nmsCoveredThreshold: try reader.double()))
        default: throw reader.failure("unknown loss")
        }
        let means = try reader.floats()
        guard means.count == 3 else { throw reader.failure("the input needs 3 channel means, not \(means.count)") }
        let input = DlibNetworkFile.Input(means: means, pyramidPadding: try reader.int(in: 0...1024, "pyramid padding"),
                                          pyramidOuterPadding: try reader.int(in: 0...1024, "pyramid outer padding"))
        let count = try reader.int(in: 1...1000, "layer count")
        var layers: [DlibLayer] = []
        var lastFilters: Int?
        for _ in 0..<count {
            guard let kind = LayerKind(rawValue: try reader.byte()) else { throw reader.failure("unknown layer kind") }
            switch kind {
            case .convolution, .quantizedConvolution:
                let (filters, channels) = (try reader.int(in: 1...4096, "filters"), try reader.int(in: 1...4096, "channels"))
                let (height, width) = (try reader.int(in: 1...64, "kernel height"), try reader.int(in: 1...64, "kernel width"))
                let (stride, padding) = (try reader.int(in: 1...16, "stride"), try reader.int(in: 0...64, "padding"))
                let weightCount = filters * channels * height * width
                lastFilters = filters
                if kind == .convolution {
                    let weights = try reader.floats(), bias = try reader.floats()
                    guard weights.count == weightCount, bias.count == filters else {
                        throw reader.failure("a convolution's weights do not match its shape")
                    }
                    layers.append(.convolution(ConvolutionWeights(filters: filters, channels: channels, kernelHeight: height, kernelWidth: width,
                                                                  stride: stride, padding: padding, weights: weights, bias: bias)))
                } else {
                    let weights = try reader.int8s(), scales = try reader.floats(), bias = try reader.floats(), inputScale = try reader.floats()
                    guard weights.count == weightCount, scales.count == filters, bias.count == filters, inputScale.count == 1 else {
                        throw reader.failure("an int8 convolution's weights do not match its shape")
                    }
                    layers.append(.quantizedConvolution(QuantizedConvolutionWeights(
                        filters: filters, channels: channels, kernelHeight: height, kernelWidth: width, stride: stride, padding: padding,
                        weights: weights, weightScales: scales, bias: bias, inputScale: inputScale[0])))
                }
            case .affine:
                let scale = try reader.floats(), shift = try reader.floats()
                guard let lastFilters, scale.count == lastFilters, shift.count == lastFilters else {
                    throw reader.failure("an affine layer must follow a convolution and match its filters")
                }
                layers.append(.affine(scale: scale, shift: shift))
            case .relu:
                layers.append(.relu)
            case .maxPool, .averagePool:
                let (kernel, stride) = (try reader.int(in: 0...64, "pool size"), try reader.int(in: 1...16, "pool stride"))
                let padding = try reader.int(in: 0...64, "pool padding")
                guard kind == .averagePool || kernel > 0 else { throw reader.failure("a max pool needs a size") }
                layers.append(kind == .maxPool ? .maxPool(kernel: kernel, stride: stride, padding: padding)
                    : .averagePool(kernel: kernel, stride: stride, padding: padding))
            case .addPrevious:
                layers.append(.addPrevious(tag: try reader.int()))
            case .fullyConnected:
                let (inputs, outputs) = (try reader.int(in: 1...65536, "inputs"), try reader.int(in: 1...65536, "outputs"))
                let weights = try reader.floats()
                guard weights.count == inputs * outputs else { throw reader.failure("a fully connected layer's weights do not match its shape") }
                layers.append(.fullyConnected(inputs: inputs, outputs: outputs, weights: weights))
            case .tag:
                layers.append(.tag(try reader.int()))
            case .skip:
                layers.append(.skip(try reader.int()))
            }
        }
        guard reader.isAtEnd else { throw reader.failure("unexpected data after the last layer") }
        return DlibNetworkFile(loss: loss, input: input, layers: layers)
    }
}
