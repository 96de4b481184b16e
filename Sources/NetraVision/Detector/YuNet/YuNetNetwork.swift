import Foundation
import NetraImaging

/// YuNet's forward pass on NETRA's kernels, with a compiled plan per padded input size.
///
/// libfacedetection pads the image with zeros on the right and at the bottom to a multiple of
/// 32 on each side, so every image of one padded size shares a plan. Plans are compiled on
/// first use and kept (the last 8 sizes: a camera sends one, and `YuNetFaceDetector`'s halving
/// pyramid runs 2-3 per image size); their workspaces are pooled,
/// so steady-state calls allocate no activation memory and create no oneDNN primitive. Safe
/// to share between threads.
final class YuNetNetwork: @unchecked Sendable {
    /// The side every input is padded to a multiple of (the network's coarsest stride).
    static let padding = 32
    private static let cachedSizes = 8

    private let weights: YuNetWeights
    private let threads: Int
    private let plans = PlanCache<YuNetPlan>(capacity: cachedSizes)

    init(weights: YuNetWeights, threads: Int) throws(VisionError) {
        self.weights = weights
        self.threads = threads
        // Compile the smallest size now: a model or library that cannot run fails at load, not at the first request.
        _ = try plan(paddedHeight: Self.padding, paddedWidth: Self.padding)
    }

    /// The padded side for an image side.
    static func padded(_ side: Int) -> Int { (side + padding - 1) / padding * padding }

    /// Runs the network on `image` and hands `read` each level's head outputs (valid only during the call).
    func run<Result>(on image: RGBImage, read: ([YuNetDecoding.Level]) -> Result) throws(VisionError) -> Result {
        let (plan, pool) = try plan(paddedHeight: Self.padded(image.height), paddedWidth: Self.padded(image.width))
        let workspace = try pool.borrow()
        defer { pool.giveBack(workspace) }
        image.pixels.withUnsafeBufferPointer { pixels in
            YuNetKernels.fillPadded(workspace.buffers[plan.inputBuffer], paddedHeight: plan.inputShape.height,
                                    paddedWidth: plan.inputShape.width, from: pixels, width: image.width, height: image.height)
        }
        try plan.run(in: workspace)
        let levels = zip(plan.heads, YuNetArchitecture.strides).map { head, stride in
            YuNetDecoding.Level(outputs: workspace.buffers[head.buffer], rows: head.shape.height, columns: head.shape.width, stride: stride)
        }
        return read(levels)
    }

    private func plan(paddedHeight: Int, paddedWidth: Int) throws(VisionError) -> (YuNetPlan, PlanWorkspacePool<YuNetPlan>) {
        try plans.plan(for: TensorShape(batch: 1, height: paddedHeight, width: paddedWidth, channels: 3)) { shape throws(VisionError) in
            try YuNetPlan(weights: weights, paddedHeight: shape.height, paddedWidth: shape.width, threads: threads)
        }
    }
}
