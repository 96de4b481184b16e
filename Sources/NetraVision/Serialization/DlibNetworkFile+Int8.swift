extension DlibNetworkFile {
    /// This network with int8 convolutions wherever the recorded input range never goes below
    /// zero (post-ReLU): activation scale `maximum / 255`, per-filter weight scales. The first
    /// convolution (signed input) and single-filter heads stay float32.
    package func quantized(ranges: [Int: ActivationRecorder.Range]) -> DlibNetworkFile {
        let layers = layers.enumerated().map { index, layer -> DlibLayer in
            guard case let .convolution(weights) = layer, let range = ranges[index], range.minimum >= 0, range.maximum > 0,
                  !weights.isSingleFilter
            else { return layer }
            return .quantizedConvolution(QuantizedConvolutionWeights(quantizing: weights, inputScale: range.maximum / 255))
        }
        return DlibNetworkFile(loss: loss, input: input, layers: layers)
    }
}

extension ActivationRecorder.Range {
    /// A range read back from a file of recorded ranges (NETRA's committed activation scales).
    package static func recorded(minimum: Float, maximum: Float) -> Self {
        Self(minimum: minimum, maximum: maximum)
    }
}
