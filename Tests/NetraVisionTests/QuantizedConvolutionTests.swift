import CDNNL
import NetraTestSupport
@testable import NetraVision
import Testing

/// The int8 oneDNN convolution against the f32 one on the same seeded data, plus the weight
/// quantization and the u8 input quantization on their own. Their speed is measured by
/// `netra bench vision` on an int8 bundle against an f32 one (BENCHMARKS.md), not here.
@Suite("The int8 oneDNN convolution", .tags(.unit))
struct QuantizedConvolutionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let input: TensorShape
        let filters: Int
        let kernel: Int
        let stride: Int
        let padding: Int
        let relu: Bool
        var testDescription: String {
            "\(kernel)x\(kernel)/\(stride) \(input.channels)->\(filters) on \(input.height)x\(input.width)\(relu ? " + ReLU" : "")"
        }
    }

    static let cases: [Case] = [
        Case(input: TensorShape(batch: 1, height: 20, width: 20, channels: 32), filters: 32, kernel: 3, stride: 1, padding: 1, relu: false),
        Case(input: TensorShape(batch: 1, height: 20, width: 20, channels: 32), filters: 32, kernel: 3, stride: 1, padding: 1, relu: true),
        Case(input: TensorShape(batch: 1, height: 20, width: 20, channels: 32), filters: 64, kernel: 3, stride: 2, padding: 1, relu: false),
        Case(input: TensorShape(batch: 1, height: 20, width: 20, channels: 32), filters: 64, kernel: 3, stride: 2, padding: 1, relu: true),
        // Odd sizes: a 5x5 stride-2 unpadded layer like the detector's downsampling ones.
        Case(input: TensorShape(batch: 1, height: 23, width: 31, channels: 16), filters: 32, kernel: 5, stride: 2, padding: 0, relu: true),
    ]

    @Test("agrees with the f32 convolution on post-ReLU-like data", .offCooperativePool, arguments: cases)
    func agreesWithFloat(_ testCase: Case) throws {
        var generator = SeededGenerator(seed: 0x5EED_0000 + UInt64(testCase.filters * 10 + testCase.stride + (testCase.relu ? 1 : 0)))
        let layer = Self.randomLayer(channels: testCase.input.channels, filters: testCase.filters, kernel: testCase.kernel,
                                     stride: testCase.stride, padding: testCase.padding, using: &generator)
        let input = Self.postReLUActivations(count: testCase.input.elementCount, using: &generator)
        let inputScale = (input.max() ?? 1) / 255

        let reference = try Self.runFloat(layer, input: input, shape: testCase.input, relu: testCase.relu)
        let quantized = try Self.runInt8(QuantizedConvolutionWeights(quantizing: layer, inputScale: inputScale),
                                         input: input, shape: testCase.input, relu: testCase.relu)

        #expect(reference.count == quantized.count)
        let maxOutput = reference.map(abs).max() ?? 0
        let maxError = zip(reference, quantized).map { abs($0 - $1) }.max() ?? .infinity
        let cosine = Self.cosine(reference, quantized)
        #expect(maxOutput > 0.5, "the reference output is degenerate")
        #expect(maxError <= 0.02 * maxOutput, "max abs error \(maxError) vs max abs output \(maxOutput)")
        #expect(cosine >= 0.999, "cosine \(cosine)")
        if testCase.relu { #expect(quantized.allSatisfy { $0 >= 0 }) }
        print("[int8 conv] \(testCase.testDescription): max abs error \(maxError) = \(100 * maxError / maxOutput) % of max |output| \(maxOutput), cosine \(cosine)")
    }

    /// With all-zero weights the output is exactly the bias (ReLU'd if fused): this pins down
    /// how oneDNN 2.x combines the bias with the output scales.
    @Test("all-zero weights give the f32 bias back", .offCooperativePool, arguments: [false, true])
    func biasOnly(relu: Bool) throws {
        let shape = TensorShape(batch: 1, height: 6, width: 7, channels: 16)
        var generator = SeededGenerator(seed: 42)
        let bias = (0..<32).map { _ in Float.random(in: -3...3, using: &generator) }
        let layer = ConvolutionWeights(filters: 32, channels: 16, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1,
                                       weights: [Float](repeating: 0, count: 32 * 16 * 9), bias: bias)
        let quantizedLayer = QuantizedConvolutionWeights(quantizing: layer, inputScale: 0.01)
        #expect(quantizedLayer.weightScales.allSatisfy { $0 == 1 })
        let output = try Self.runInt8(quantizedLayer, input: Self.postReLUActivations(count: shape.elementCount, using: &generator),
                                      shape: shape, relu: relu)
        for (index, value) in output.enumerated() {
            let expected = relu ? max(bias[index % 32], 0) : bias[index % 32]
            #expect(abs(value - expected) <= 1e-5 * max(1, abs(expected)), "channel \(index % 32): \(value) instead of \(expected)")
            if abs(value - expected) > 1e-5 * max(1, abs(expected)) { break }
        }
    }

    /// Every tap at the largest input times the largest weight: without VNNI, oneDNN adds each
    /// pair of u8 x s8 products in 16 bits with saturation, so 8-bit input codes came out
    /// clipped to about half (`DNNLQuantizedConvolution.largestInputCode`).
    @Test("the largest inputs times the largest weights come out exact: no 16-bit saturation", .offCooperativePool,
          arguments: [Float(0.25), -0.25])
    func largestProducts(weight: Float) throws {
        let shape = TensorShape(batch: 1, height: 5, width: 6, channels: 32)
        let layer = ConvolutionWeights(filters: 16, channels: 32, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 0,
                                       weights: [Float](repeating: weight, count: 16 * 32 * 9), bias: [Float](repeating: 0, count: 16))
        let largest: Float = 3
        let output = try Self.runInt8(QuantizedConvolutionWeights(quantizing: layer, inputScale: largest / 255),
                                      input: [Float](repeating: largest, count: shape.elementCount), shape: shape, relu: false)
        let expected = largest * weight * Float(32 * 9)
        #expect(output.count == 3 * 4 * 16)
        let worst = output.map { abs($0 - expected) }.max() ?? .infinity
        #expect(worst <= 1e-4 * abs(expected), "\(output.first ?? .nan) instead of \(expected) (largest input code \(DNNLQuantizedConvolution.largestInputCode))")
    }

    @Test("weight quantization round-trips within half a step per filter", .offCooperativePool)
    func weightRoundTrip() {
        var generator = SeededGenerator(seed: 7)
        var layer = Self.randomLayer(channels: 24, filters: 40, kernel: 3, stride: 1, padding: 1, using: &generator)
        let perFilter = 24 * 9
        // Filter 0 all zero (scale 1), filter 1 a single large weight, filter 2 tiny weights.
        for index in 0..<perFilter {
            layer.weights[index] = 0
            layer.weights[perFilter + index] = index == 5 ? -40 : 0.001
            layer.weights[2 * perFilter + index] *= 1e-6
        }
        let quantized = QuantizedConvolutionWeights(quantizing: layer, inputScale: 0.5)
        #expect(quantized.weights.count == layer.weights.count)
        #expect(quantized.bias == layer.bias && quantized.inputScale == 0.5)
        #expect(quantized.weightScales[0] == 1 && quantized.weights[0..<perFilter].allSatisfy { $0 == 0 })
        #expect(quantized.weights[perFilter + 5] == -127)
        #expect(quantized.weights.allSatisfy { $0 >= -127 })
        for filter in 0..<40 {
            let scale = quantized.weightScales[filter]
            let largest = layer.weights[(filter * perFilter)..<((filter + 1) * perFilter)].map(abs).max()!
            if largest > 0 { #expect(abs(scale - largest / 127) <= 1e-6 * scale) }
            var worst: Float = 0
            for index in (filter * perFilter)..<((filter + 1) * perFilter) {
                worst = max(worst, abs(Float(quantized.weights[index]) * scale - layer.weights[index]))
            }
            #expect(worst <= scale / 2 * (1 + 1e-5), "filter \(filter): error \(worst), step \(scale)")
        }
        let copy = QuantizedConvolutionWeights(filters: 40, channels: 24, kernelHeight: 3, kernelWidth: 3, stride: 1, padding: 1,
                                               weights: quantized.weights, weightScales: quantized.weightScales,
                                               bias: quantized.bias, inputScale: 0.5)
        #expect(copy == quantized)
    }

    @Test("the u8 input quantization is min(largest code, Int(x / scale + 0.5)), negatives giving 0", .offCooperativePool,
          arguments: [255, 127])
    func inputQuantization(largestCode: Int) {
        let scale: Float = 0.037
        var generator = SeededGenerator(seed: 3)
        var values: [Float] = [0, -0, -1, -1e-9, -0.01, 1e-9, scale * 0.4999, scale * 0.5, scale * 0.5001, scale * 254.5,
                               scale * 254.49, scale * 255, scale * 255.49, scale * 300, 1e30, -1e30, .infinity, -.infinity]
        values += (0..<10_000).map { _ in Float.random(in: -1...(scale * 270), using: &generator) }
        values += (0..<256).map { Float($0) * scale }
        var output = [UInt8](repeating: 0, count: values.count)
        output.withUnsafeMutableBufferPointer { out in
            values.withUnsafeBufferPointer {
                DNNLQuantizedConvolution.quantize($0.baseAddress!, count: $0.count, inverseScale: 1 / scale, largestCode: Float(largestCode),
                                                  into: out.baseAddress!)
            }
        }
        var offByOne = 0
        for (value, q) in zip(values, output) {
            // Exactly the multiply-by-reciprocal formula...
            let product = value * (1 / scale) + 0.5
            let exact = product <= 0 ? 0 : min(largestCode, Int(min(product, 256)))
            #expect(Int(q) == exact, "\(value) -> \(q), expected \(exact)")
            // ...and within one step of the divide formula (the reciprocal rounds differently at ties).
            let divided = value <= 0 ? 0 : min(largestCode, Int(min(value / scale + 0.5, 256)))
            #expect(abs(Int(q) - divided) <= 1)
            if Int(q) != divided { offByOne += 1 }
        }
        #expect(offByOne <= values.count / 1000, "\(offByOne) values differ from the divide formula")
    }

    static func randomLayer(channels: Int, filters: Int, kernel: Int, stride: Int, padding: Int,
                            using generator: inout SeededGenerator) -> ConvolutionWeights {
        let fanIn = Float(channels * kernel * kernel)
        let bound = (6 / fanIn).squareRoot()
        // Per-filter gains as after folding a batch norm, so the per-filter scales matter.
        let gains = (0..<filters).map { _ in Float.random(in: 0.2...2, using: &generator) }
        var weights = [Float](repeating: 0, count: filters * channels * kernel * kernel)
        for index in weights.indices {
            weights[index] = gains[index / (channels * kernel * kernel)] * Float.random(in: -bound...bound, using: &generator)
        }
        let bias = (0..<filters).map { _ in Float.random(in: -0.5...0.5, using: &generator) }
        return ConvolutionWeights(filters: filters, channels: channels, kernelHeight: kernel, kernelWidth: kernel,
                                  stride: stride, padding: padding, weights: weights, bias: bias)
    }

    /// About half zeros, the rest a skewed positive distribution up to about 4.
    static func postReLUActivations(count: Int, using generator: inout SeededGenerator) -> [Float] {
        (0..<count).map { _ in
            let value = Float.random(in: -1...1, using: &generator)
            return value <= 0 ? 0 : 4 * value * value
        }
    }

    static func runFloat(_ layer: ConvolutionWeights, input: [Float], shape: TensorShape, relu: Bool) throws -> [Float] {
        let convolution = try DNNLConvolution(input: shape, layer: layer, fusedReLU: relu, threads: 1)
        let stream = try DNNLEngine.makeStream()
        defer { dnnl_stream_destroy(stream) }
        let scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(64, convolution.scratchpadByteCount), alignment: 64)
        defer { scratchpad.deallocate() }
        var input = input
        var output = [Float](repeating: .nan, count: convolution.outputShape.elementCount)
        try input.withUnsafeMutableBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { destination in
                try convolution.run(input: source.baseAddress!, output: destination.baseAddress!, scratchpad: scratchpad, stream: stream)
            }
        }
        try check(dnnl_stream_wait(stream), "wait")
        return output
    }

    static func runInt8(_ layer: QuantizedConvolutionWeights, input: [Float], shape: TensorShape, relu: Bool) throws -> [Float] {
        let convolution = try DNNLQuantizedConvolution(input: shape, layer: layer, fusedReLU: relu, threads: 1)
        #expect(convolution.quantizedInputByteCount == shape.elementCount)
        let stream = try DNNLEngine.makeStream()
        defer { dnnl_stream_destroy(stream) }
        let scratchpad = UnsafeMutableRawPointer.allocate(byteCount: max(64, convolution.scratchpadByteCount), alignment: 64)
        defer { scratchpad.deallocate() }
        let quantizedInput = UnsafeMutablePointer<UInt8>.allocate(capacity: convolution.quantizedInputByteCount)
        defer { quantizedInput.deallocate() }
        var input = input
        var output = [Float](repeating: .nan, count: convolution.outputShape.elementCount)
        try input.withUnsafeMutableBufferPointer { source in
            try output.withUnsafeMutableBufferPointer { destination in
                try convolution.run(input: source.baseAddress!, output: destination.baseAddress!, quantizedInput: quantizedInput,
                                    scratchpad: scratchpad, stream: stream)
            }
        }
        try check(dnnl_stream_wait(stream), "wait")
        return output
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Double {
        var dot = 0.0, normA = 0.0, normB = 0.0
        for (x, y) in zip(a, b) {
            dot += Double(x) * Double(y)
            normA += Double(x) * Double(x)
            normB += Double(y) * Double(y)
        }
        return dot / (normA.squareRoot() * normB.squareRoot())
    }
}
