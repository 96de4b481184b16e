import Foundation

/// The range of values each convolution's input takes while networks run over sample images:
/// what int8 export needs to choose activation scales (calibration).
package final class ActivationRecorder: @unchecked Sendable {
    package struct Range {
        package var minimum: Float
        package var maximum: Float
    }

    package init() {}

    private let lock = NSLock()
    private var ranges: [Int: Range] = [:]

    /// Widens the range of layer `layer` (its index in the network's layer list) by `values`.
    func record(layer: Int, _ values: UnsafeMutablePointer<Float>, count: Int) {
        var minimum = Float.infinity, maximum = -Float.infinity
        for index in 0..<count {
            minimum = min(minimum, values[index])
            maximum = max(maximum, values[index])
        }
        lock.withLock {
            let known = ranges[layer] ?? Range(minimum: minimum, maximum: maximum)
            ranges[layer] = Range(minimum: min(known.minimum, minimum), maximum: max(known.maximum, maximum))
        }
    }

    /// The recorded range of each layer seen so far.
    package var recorded: [Int: Range] { lock.withLock { ranges } }
}
