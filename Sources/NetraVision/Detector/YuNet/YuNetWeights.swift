import Foundation

/// YuNet's trained weights, read from libfacedetection's shared library by symbol name and
/// checked against `YuNetArchitecture`, with the conversions into the layouts oneDNN takes.
///
/// The library also exports `param_pConvInfo`, its own table of the 53 layers (per entry, 32
/// bytes: `int channels, int num_filters, bool is_depthwise, bool is_pointwise, bool
/// with_relu`, padding, then pointers to the weights and the bias). Its sizes, flags and
/// pointers must all agree with the architecture: a library of another YuNet version is
/// refused at load rather than run with the wrong graph.
struct YuNetWeights: Sendable {
    /// One layer's weights in the library's layout (`YuNetArchitecture.Layer.weightCount`) and its bias.
    struct Layer: Sendable {
        var spec: YuNetArchitecture.Layer
        var weights: [Float]
        var bias: [Float]
    }

    let layers: [Layer]

    private static let tableSymbol = "param_pConvInfo"
    private static let tableEntryBytes = 32

    /// Reads and checks the weights of the library at `url`.
    init(libraryFile url: URL) throws(VisionError) {
        try self.init(symbols: ELFSymbols(bytes: ModelFileReader.bytes(at: url), file: url.path))
    }

    init(symbols: ELFSymbols) throws(VisionError) {
        let file = symbols.file
        let architecture = YuNetArchitecture.layers
        let table = try symbols.symbol(Self.tableSymbol)
        guard table.size == UInt64(architecture.count * Self.tableEntryBytes) else {
            throw .invalidModel(file: file, reason: "its layer table has \(table.size / UInt64(Self.tableEntryBytes)) entries, not YuNet's \(architecture.count)")
        }
        let entries = [UInt8](try symbols.bytes(at: table.address, count: table.size))
        var layers: [Layer] = []
        for (index, spec) in architecture.enumerated() {
            let entry = entries[(index * Self.tableEntryBytes)..<((index + 1) * Self.tableEntryBytes)]
            func int32(_ at: Int) -> Int {
                Int(Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(entry[entry.startIndex + at + $1]) << (8 * $1) }))
            }
            func flag(_ at: Int) -> Bool { entry[entry.startIndex + at] != 0 }
            guard int32(0) == spec.channels, int32(4) == spec.filters, flag(8) == (spec.kind == .depthwise),
                  flag(9) == (spec.kind == .pointwise), flag(10) == spec.relu
            else {
                throw .invalidModel(file: file, reason: "layer \(index) (\(spec.symbol)) is not the one of the YuNet version NETRA runs")
            }
            let weightName = spec.symbol + "_weight", biasName = spec.symbol + "_bias"
            // The file's addresses may be anything: sums that overflow 64 bits are a damaged table, not a trap.
            let (address, pastEnd) = table.address.addingReportingOverflow(UInt64(index * Self.tableEntryBytes))
            let (weightPointer, weightOverflow) = address.addingReportingOverflow(16)
            let (biasPointer, biasOverflow) = address.addingReportingOverflow(24)
            guard !pastEnd, !weightOverflow, !biasOverflow else {
                throw .invalidModel(file: file, reason: "its layer table lies past the end of the address space")
            }
            guard try symbols.pointer(at: weightPointer) == symbols.symbol(weightName).address,
                  try symbols.pointer(at: biasPointer) == symbols.symbol(biasName).address
            else {
                throw .invalidModel(file: file, reason: "layer \(index) does not point at \(weightName) and \(biasName)")
            }
            let weights = try symbols.floats(of: weightName), bias = try symbols.floats(of: biasName)
            guard weights.count == spec.weightCount, bias.count == spec.filters else {
                throw .invalidModel(file: file, reason: "\(spec.symbol) holds \(weights.count) weights and \(bias.count) biases, not \(spec.weightCount) and \(spec.filters)")
            }
            guard weights.allSatisfy(\.isFinite), bias.allSatisfy(\.isFinite) else {
                throw .invalidModel(file: file, reason: "\(spec.symbol) holds a weight that is not a finite number")
            }
            layers.append(Layer(spec: spec, weights: weights, bias: bias))
        }
        self.layers = layers
    }

    /// The stem as a 3x3 convolution of an RGB image: OIHW `[filter][colour][row][column]`.
    ///
    /// The library gathers each output position's 3x3 neighbourhood into channel
    /// `(row * 3 + column) * 3 + colour` of a 32-channel 1x1 input, colours in its B, G, R
    /// order; these are the same weights, taken apart and with the colours reversed.
    func stemFilters() -> [Float] {
        let stem = layers[YuNetArchitecture.stem]
        var filters = [Float](repeating: 0, count: stem.spec.filters * 27)
        for filter in 0..<stem.spec.filters {
            for rgb in 0..<3 {
                for tap in 0..<9 {
                    filters[(filter * 3 + rgb) * 9 + tap] = stem.weights[filter * stem.spec.channels + tap * 3 + (2 - rgb)]
                }
            }
        }
        return filters
    }

    /// The depthwise layer `index` in GOIHW, one group per channel: `[channel][tap]`.
    func depthwiseFilters(_ index: Int) -> [Float] {
        let layer = layers[index]
        let channels = layer.spec.channels
        return (0..<(channels * 9)).map { layer.weights[($0 % 9) * channels + $0 / 9] }
    }
}
