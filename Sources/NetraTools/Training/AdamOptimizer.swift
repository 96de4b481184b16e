import Foundation
import NetraVision

/// Adam (Kingma & Ba): per-weight step sizes from running means of the gradient and of its
/// square, with the usual bias correction.
public struct AdamOptimizer: Sendable {
    public let learningRate: Float
    public let beta1: Float = 0.9
    public let beta2: Float = 0.999
    public let epsilon: Float = 1e-8
    private var firstMoment: [Float]
    private var secondMoment: [Float]
    private var steps = 0

    public init(learningRate: Float, parameterCount: Int) {
        self.learningRate = learningRate
        firstMoment = [Float](repeating: 0, count: parameterCount)
        secondMoment = [Float](repeating: 0, count: parameterCount)
    }

    /// Moves `parameters` one step against `gradient`.
    public mutating func step(_ parameters: inout [Float], gradient: [Float]) {
        precondition(parameters.count == gradient.count && gradient.count == firstMoment.count)
        steps += 1
        let correction1 = 1 - Float(pow(Double(beta1), Double(steps)))
        let correction2 = 1 - Float(pow(Double(beta2), Double(steps)))
        for index in parameters.indices {
            let g = gradient[index]
            firstMoment[index] = beta1 * firstMoment[index] + (1 - beta1) * g
            secondMoment[index] = beta2 * secondMoment[index] + (1 - beta2) * g * g
            let m = firstMoment[index] / correction1
            let v = secondMoment[index] / correction2
            parameters[index] -= learningRate * m / (v.squareRoot() + epsilon)
        }
    }
}
