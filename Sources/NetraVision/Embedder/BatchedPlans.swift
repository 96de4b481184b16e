import Foundation

/// The embedder's network compiled for each batch size asked of it: batch 1 at load (which
/// also checks the model), larger batches on first use, each with its own workspaces.
///
/// Why a cache: a plan's convolutions are oneDNN primitives JIT-compiled for one input shape,
/// batch included, and each holds its own copy of the reordered weights (about 22 MB in f32
/// for dlib's ResNet); so only the sizes of `FaceEmbedder.batchSizes(for:)` are ever compiled.
/// The layer list is kept to compile them.
final class BatchedPlans: @unchecked Sendable {
    /// A plan and the workspaces its callers borrow.
    struct Compiled {
        let plan: NetworkPlan
        let workspaces: WorkspacePool
    }

    private let layers: [DlibLayer]
    private let chipShape: TensorShape
    private let threads: Int
    private let recorder: ActivationRecorder?
    private let lock = NSLock()
    private var compiled: [Int: Compiled] = [:]
    /// The batch-1 plan, compiled at load.
    let single: Compiled

    /// Compiles the batch-1 plan of `layers` for one `chipShape` input (its batch is ignored).
    init(layers: [DlibLayer], chipShape: TensorShape, threads: Int, recorder: ActivationRecorder?) throws(VisionError) {
        self.layers = layers
        self.chipShape = chipShape
        self.threads = threads
        self.recorder = recorder
        single = try Self.compile(layers, TensorShape(batch: 1, height: chipShape.height, width: chipShape.width,
                                                      channels: chipShape.channels), threads: threads, recorder: recorder)
    }

    /// The plan for `batch` chips per pass, compiled now if no call has asked for it before.
    func plan(batch: Int) throws(VisionError) -> Compiled {
        guard batch > 1 else { return single }
        lock.lock()
        defer { lock.unlock() }
        if let found = compiled[batch] { return found }
        let shape = TensorShape(batch: batch, height: chipShape.height, width: chipShape.width, channels: chipShape.channels)
        let made = try Self.compile(layers, shape, threads: threads, recorder: recorder)
        compiled[batch] = made
        return made
    }

    private static func compile(_ layers: [DlibLayer], _ shape: TensorShape, threads: Int,
                                recorder: ActivationRecorder?) throws(VisionError) -> Compiled {
        let plan = try NetworkPlan(layers: layers, input: shape, threads: threads, recorder: recorder)
        return Compiled(plan: plan, workspaces: WorkspacePool(plan: plan))
    }
}
