import Foundation
import NetraImaging

/// dlib's MMOD CNN face detector, run natively: the image pyramid packed into one tensor,
/// one network pass, then dlib's decoding, threshold and non-max suppression.
///
/// Networks are compiled per tensor size on first use and kept (a camera sends one size),
/// so steady-state calls only run kernels. Safe to share between threads.
public final class FaceDetector: Sendable {
    private let network: DlibNetworkFile
    private let options: DlibNetworkFile.MMODOptions
    private let threads: Int
    /// Tensor position (x or y) = `positionScale * output position + positionOffset`.
    private let positionScale: Int
    private let positionOffset: Int
    private let plans = PlanCache<NetworkPlan>()
    private let recorder: ActivationRecorder?

    /// The detector's window: the size of the smallest face it finds at scale 1.
    public var windowSize: Int { options.windowWidth }

    public convenience init(modelFile: URL, threads: Int = 1) throws(VisionError) {
        try self.init(network: ModelFileReader.network(at: modelFile, layout: MMODArchitecture.layers), threads: threads)
    }

    /// `recorder`, when given, collects each convolution's input range (int8 calibration).
    package init(network: DlibNetworkFile, threads: Int, recorder: ActivationRecorder? = nil) throws(VisionError) {
        guard case let .mmod(options) = network.loss else {
            throw .invalidModel(file: "detector", reason: "not an MMOD detector")
        }
        self.network = network
        self.options = options
        self.threads = threads
        self.recorder = recorder
        var scale = 1, offset = 0
        for case let layer? in network.layers.reversed().map(\.convolutionGeometry) {
            offset = offset * layer.stride + (layer.kernelHeight / 2 - layer.padding)
            scale *= layer.stride
        }
        positionScale = scale
        positionOffset = offset
        // Compile the network for a small image now: a broken model fails at load, not at the first request.
        _ = try plan(for: TiledPyramid(imageHeight: options.windowHeight, imageWidth: options.windowWidth,
                                       padding: network.input.pyramidPadding, outerPadding: network.input.pyramidOuterPadding))
    }

    private func plan(for pyramid: TiledPyramid) throws(VisionError) -> (NetworkPlan, WorkspacePool) {
        try plans.plan(for: pyramid.shape) { shape throws(VisionError) in
            try NetworkPlan(layers: network.layers, input: shape, threads: threads, recorder: recorder)
        }
    }

    /// Inputs narrower or lower than this (after scaling) hold no detectable face.
    static let minimumInputSide = 16

    /// The faces in `image`, best first.
    public func detect(in image: RGBImage, options detection: DetectionOptions = DetectionOptions()) throws(VisionError) -> [FaceDetection] {
        let scaling = DetectionScaling(imageWidth: image.width, imageHeight: image.height,
                                       window: windowSize, options: detection)
        var working = image
        if let size = scaling.downscaledSize {
            working = image.resizedByAreaAverage(width: size.width, height: size.height)
        }
        for _ in 0..<scaling.upsampleCount { working = working.pyramidUp() }
        // The strided layers leave no output for an input a few pixels across (a 1 x 5000 strip,
        // a 2 x 2 icon, an image shrunk for a minimum face larger than itself); no face the
        // window can find fits there, so there is nothing to detect rather than an error.
        guard min(working.width, working.height) >= Self.minimumInputSide else { return [] }
        return try detectAtScale(working).map { detection in
            FaceDetection(rect: scaling.originalRect(of: detection.rect), score: detection.score)
        }
    }

    /// dlib's `net(img)`: detections in `image`'s own pixels.
    func detectAtScale(_ image: RGBImage) throws(VisionError) -> [FaceDetection] {
        let pyramid = TiledPyramid(imageHeight: image.height, imageWidth: image.width,
                                   padding: network.input.pyramidPadding, outerPadding: network.input.pyramidOuterPadding)
        let (plan, pool) = try plan(for: pyramid)
        let workspace = try pool.borrow()
        defer { pool.giveBack(workspace) }
        image.pixels.withUnsafeBufferPointer { pyramid.fill(workspace.buffer(0), from: $0, means: network.input.means) }
        try plan.run(in: workspace)

        let scores = workspace.buffer(plan.outputSlot)
        let outShape = plan.outputShape
        let half = Double(options.windowWidth - 1) / 2, halfHeight = Double(options.windowHeight - 1) / 2
        var candidates: [(score: Float, rect: RealRect)] = []
        for r in 0..<outShape.height {
            for c in 0..<outShape.width {
                let score = scores[r * outShape.width + c]
                guard score > 0 else { continue }
                let x = Double(c * positionScale + positionOffset), y = Double(r * positionScale + positionOffset)
                let window = RealRect(left: x - half, top: y - halfHeight, right: x + half, bottom: y + halfHeight)
                candidates.append((score, pyramid.imageRect(ofTensorRect: window)))
            }
        }
        candidates.sort { $0.score > $1.score }
        var kept: [FaceDetection] = []
        for candidate in candidates {
            let rect = candidate.rect.rounded
            if kept.contains(where: { overlaps($0.rect, rect) }) { continue }
            kept.append(FaceDetection(rect: rect, score: candidate.score))
        }
        return kept
    }

    /// dlib's `test_box_overlap` for non-max suppression: the intersection measured against
    /// the bounding box of both (stricter than IoU) or against either rectangle.
    private func overlaps(_ a: PixelRect, _ b: PixelRect) -> Bool {
        let inner = Double(a.intersection(b).area)
        guard inner > 0 else { return false }
        return inner / Double(a.hull(b).area) > options.nmsIoUThreshold
            || inner / Double(a.area) > options.nmsCoveredThreshold
            || inner / Double(b.area) > options.nmsCoveredThreshold
    }
}

/// How an image is rescaled before detection and how rectangles map back.
///
/// Upsampling doubles the image (`pyramid_up`) `upsample` times, as dlib does. A minimum
/// face size lowers that: doublings that only find faces smaller than it are skipped, and
/// when even scale 1 finds only faces smaller than the minimum the image is shrunk so that a
/// face of the minimum size fills the detector window. A pixel bound then lowers the
/// upsampling, and shrinks the image further, until the detector's input fits in it.
struct DetectionScaling {
    var upsampleCount: Int
    var downscaledSize: (width: Int, height: Int)?
    private var downscale = (x: 1.0, y: 1.0)
    /// More doublings than this are refused (each is 4x the pixels).
    static let maximumUpsample = 8

    init(imageWidth: Int, imageHeight: Int, window: Int, options: DetectionOptions) {
        upsampleCount = min(max(0, options.upsample), Self.maximumUpsample)
        var scale = 1.0
        if let minFace = options.minFaceSize, minFace > 0 {
            scale = Double(window) / Double(minFace)
            while upsampleCount > 0, scale < Double(1 << upsampleCount) { upsampleCount -= 1 }
        }
        let pixels = Double(imageWidth) * Double(imageHeight)
        if let maxPixels = options.maxPixels, maxPixels > 0 {
            while upsampleCount > 0, pixels * Double(1 << (2 * upsampleCount)) > Double(maxPixels) { upsampleCount -= 1 }
            if upsampleCount == 0 { scale = min(scale, (Double(maxPixels) / pixels).squareRoot()) }
        }
        if upsampleCount == 0, scale < 1 {
            scale = max(scale, 1.0 / Double(max(imageWidth, imageHeight)))
            let size = (width: max(1, Int((Double(imageWidth) * scale).rounded())),
                        height: max(1, Int((Double(imageHeight) * scale).rounded())))
            downscaledSize = size
            downscale = (Double(size.width) / Double(imageWidth), Double(size.height) / Double(imageHeight))
        }
    }

    /// A rectangle found on the rescaled image, in original pixels.
    func originalRect(of rect: PixelRect) -> PixelRect {
        var real = RealRect(left: Double(rect.left), top: Double(rect.top), right: Double(rect.right), bottom: Double(rect.bottom))
        if upsampleCount > 0 {
            for _ in 0..<upsampleCount { real = real.halved }
            return real.rounded
        }
        if downscaledSize != nil {
            return PixelRect(left: lround(real.left / downscale.x), top: lround(real.top / downscale.y),
                             right: lround((real.right + 1) / downscale.x) - 1, bottom: lround((real.bottom + 1) / downscale.y) - 1)
        }
        return rect
    }
}

/// Compiled plans (and their workspaces) per tensor shape, built on first use; the last
/// `capacity` shapes are kept. Safe to share between threads.
final class PlanCache<Plan: WorkspacePlan>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(shape: TensorShape, plan: Plan, pool: PlanWorkspacePool<Plan>)] = []
    private let capacity: Int

    init(capacity: Int = 4) {
        self.capacity = max(1, capacity)
    }

    /// The plan for `shape`, built by `build` when no kept one has it.
    func plan(for shape: TensorShape, build: (TensorShape) throws(VisionError) -> Plan) throws(VisionError) -> (Plan, PlanWorkspacePool<Plan>) {
        if let hit = lock.withLock({ entries.first { $0.shape == shape } }) { return (hit.plan, hit.pool) }
        let plan = try build(shape)
        let pool = PlanWorkspacePool(plan: plan)
        lock.withLock {
            entries.append((shape, plan, pool))
            if entries.count > capacity { entries.removeFirst() }
        }
        return (plan, pool)
    }
}
