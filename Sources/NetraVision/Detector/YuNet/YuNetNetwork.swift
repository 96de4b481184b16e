import Foundation
import NetraImaging

/// YuNet's forward pass on NETRA's kernels, with a compiled plan per padded input size.
///
/// libfacedetection pads the image with zeros on the right and at the bottom to a multiple of
/// 32 on each side, so every image of one padded size shares a plan. Plans are compiled on
/// first use and kept (the last few sizes: a camera sends one); their workspaces are pooled,
/// so steady-state calls allocate no activation memory and create no oneDNN primitive. Safe
/// to share between threads.
final class YuNetNetwork: @unchecked Sendable {
    /// The side every input is padded to a multiple of (the network's coarsest stride).
    static let padding = 32
    private static let cachedSizes = 4

    private let weights: YuNetWeights
    private let threads: Int
    private let lock = NSLock()
    private var plans: [(height: Int, width: Int, plan: YuNetPlan, pool: PlanWorkspacePool<YuNetPlan>)] = []

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
        if let hit = lock.withLock({ plans.first { $0.height == paddedHeight && $0.width == paddedWidth } }) {
            return (hit.plan, hit.pool)
        }
        let plan = try YuNetPlan(weights: weights, paddedHeight: paddedHeight, paddedWidth: paddedWidth, threads: threads)
        let pool = PlanWorkspacePool(plan: plan)
        lock.withLock {
            plans.append((paddedHeight, paddedWidth, plan, pool))
            if plans.count > Self.cachedSizes { plans.removeFirst() }
        }
        return (plan, pool)
    }
}
