/// YuNet's 53 convolution layers as libfacedetection numbers them (its `param_pConvInfo`
/// table): every layer is a 1x1 pointwise or a 3x3 depthwise convolution, and all but the
/// stem come in pointwise-then-depthwise pairs (a "separable" convolution: no ReLU between the
/// two, the pair's ReLU, if any, after the depthwise one).
///
/// - 0: the stem, a 3x3 stride-2 convolution of the image that the library runs as a 1x1
///   convolution of 32 channels (27 used: 3x3 taps x 3 colours), ReLU;
/// - 1-2: one separable layer of 16 channels; 3-22: five backbone stages of two separable
///   layers each (16->32, 32->64, then 64->64 three times), all with ReLU;
/// - 23-28: the neck, one separable layer per feature level (strides 8, 16, 32), ReLU;
/// - 29-52: the heads, one separable layer per output and level, no ReLU: class score (1),
///   box (4), objectness (1) and five landmarks (10).
package enum YuNetArchitecture {
    /// One convolution of the table.
    package struct Layer: Equatable, Sendable {
        package enum Kind: Sendable { case pointwise, depthwise }

        /// The name its weights and bias are exported under, without `_weight` / `_bias`.
        package var symbol: String
        package var kind: Kind
        package var channels: Int
        package var filters: Int
        package var relu: Bool

        /// Floats of its weights: `[filter][channel]` (pointwise) or `[tap][channel]` (depthwise, 3x3 taps).
        package var weightCount: Int { kind == .pointwise ? filters * channels : 9 * channels }
    }

    /// The heads' outputs, in the order their layers appear in the table.
    package enum Head: CaseIterable, Sendable {
        case score, box, objectness, landmarks

        /// The name part of its layers' symbols.
        var symbolPart: String {
            switch self {
            case .score: "cls"
            case .box: "bbox"
            case .objectness: "obj"
            case .landmarks: "kps"
            }
        }

        /// Channels per position.
        package var outputs: Int {
            switch self {
            case .score, .objectness: 1
            case .box: 4
            case .landmarks: 10
            }
        }

        /// Where its channels start when all four heads of a level run as one convolution
        /// (`headChannels` outputs, in `allCases` order).
        package var channelOffset: Int {
            Head.allCases.prefix { $0 != self }.reduce(0) { $0 + $1.outputs }
        }
    }

    /// The four heads' outputs of one level together: 1 + 4 + 1 + 10.
    package static let headChannels = Head.allCases.reduce(0) { $0 + $1.outputs }

    /// The feature levels the heads read, finest first.
    package static let strides = [8, 16, 32]

    /// Channels of every feature level.
    package static let featureChannels = 64

    /// The stem's input channels: 3x3 taps times 3 colours (27), padded to 32.
    package static let stemChannels = 32

    package static let layers: [Layer] = {
        var layers = [Layer(symbol: "backbone__model0_pw", kind: .pointwise, channels: stemChannels, filters: 16, relu: true)]
        layers += separable("backbone__model0_dp", 16, 16, relu: true)
        let stages = [(16, 16, 32), (32, 32, 64), (64, 64, 64), (64, 64, 64), (64, 64, 64)]
        for (number, (input, middle, output)) in stages.enumerated() {
            layers += separable("backbone__model\(number + 1)_dp1", input, middle, relu: true)
            layers += separable("backbone__model\(number + 1)_dp2", middle, output, relu: true)
        }
        for level in strides.indices {
            layers += separable("neck__lateral_convs__\(level)", featureChannels, featureChannels, relu: true)
        }
        for head in Head.allCases {
            for level in strides.indices {
                layers += separable("bbox_head__multi_level_\(head.symbolPart)__\(level)", featureChannels, head.outputs, relu: false)
            }
        }
        return layers
    }()

    /// The stem's layer.
    package static let stem = 0
    /// The first layer of each backbone stage's four (two separable pairs), after the stem's pair (1, 2).
    package static let stages = [3, 7, 11, 15, 19]

    /// The neck's pointwise layer for `level` (its depthwise layer follows).
    package static func neck(level: Int) -> Int { 23 + 2 * level }

    /// The pointwise layer of `head` at `level` (its depthwise layer follows).
    package static func head(_ head: Head, level: Int) -> Int {
        29 + 6 * Head.allCases.firstIndex(of: head)! + 2 * level
    }

    private static func separable(_ name: String, _ input: Int, _ output: Int, relu: Bool) -> [Layer] {
        [Layer(symbol: name + "_pw", kind: .pointwise, channels: input, filters: output, relu: false),
         Layer(symbol: name + "_dw", kind: .depthwise, channels: output, filters: output, relu: relu)]
    }
}
