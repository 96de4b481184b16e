import Foundation
import NetraDescriptor
import NetraImaging

/// The Siamese core: one set of ResNet weights maps every aligned 150x150 face chip to a
/// 128-d `FaceDescriptor`, so both sides of a comparison go through the same network.
///
/// Load once and share: the weights are read-only, and each concurrent call borrows its own
/// workspace (activation buffers, scratchpad) from a small pool.
public final class FaceEmbedder: Sendable {
    public static let chipSize = ResNetArchitecture.inputSize

    /// The trained head applied after the backbone (`netra train`); `nil` is dlib's model as is.
    public let head: EmbeddingHead?
    private let plan: NetworkPlan
    private let means: [Float]
    private let workspaces: WorkspacePool

    /// Loads `dlib_face_recognition_resnet_model_v1.dat` and builds its convolutions for `threads` compute threads.
    public convenience init(modelFile: URL, head: EmbeddingHead? = nil, threads: Int = 1) throws(VisionError) {
        let file = try ModelFileReader.network(at: modelFile, layout: ResNetArchitecture.layers)
        try self.init(network: file, head: head, threads: threads)
    }

    /// `recorder`, when given, collects each convolution's input range (int8 calibration).
    package init(network: DlibNetworkFile, head: EmbeddingHead? = nil, threads: Int, recorder: ActivationRecorder? = nil) throws(VisionError) {
        self.head = head
        let size = ResNetArchitecture.inputSize
        plan = try NetworkPlan(layers: network.layers, input: TensorShape(batch: 1, height: size, width: size, channels: 3),
                               threads: threads, recorder: recorder)
        means = network.input.means
        workspaces = WorkspacePool(plan: plan)
        guard plan.outputShape.channels == ResNetArchitecture.descriptorLength else {
            throw .invalidModel(file: "embedder", reason: "the network does not produce 128 values")
        }
    }

    /// The descriptor of an aligned 150x150 chip (see `FaceAligner`); with `flipAveraged`, the
    /// mean of the chip's and its mirror image's descriptors (an accuracy lever at twice the cost).
    public func descriptor(ofChip chip: RGBImage, flipAveraged: Bool) throws(VisionError) -> FaceDescriptor {
        try descriptor(averaging: flipAveraged ? [chip, chip.mirrored()] : [chip])
    }

    /// The mean of the backbone descriptors of several chips of one face (mirrored or
    /// jittered copies), through the head.
    public func descriptor(averaging chips: [RGBImage]) throws(VisionError) -> FaceDescriptor {
        var sum = [Float](repeating: 0, count: ResNetArchitecture.descriptorLength)
        for chip in chips {
            let values = try backboneDescriptor(ofChip: chip).values
            for index in sum.indices { sum[index] += values[index] }
        }
        let mean = FaceDescriptor(values: sum.map { $0 / Float(max(1, chips.count)) })
        return head?.apply(mean) ?? mean
    }

    /// The descriptor of an aligned 150x150 chip (see `FaceAligner`), through the head if there is one.
    public func descriptor(ofChip chip: RGBImage) throws(VisionError) -> FaceDescriptor {
        try descriptor(ofChip: chip, flipAveraged: false)
    }

    /// The ResNet's own descriptor of an aligned 150x150 chip, without the head: what the head is trained on.
    public func backboneDescriptor(ofChip chip: RGBImage) throws(VisionError) -> FaceDescriptor {
        let size = ResNetArchitecture.inputSize
        guard chip.width == size, chip.height == size else {
            throw .invalidInput("a face chip must be \(size) x \(size) pixels, not \(chip.width) x \(chip.height)")
        }
        let workspace = try workspaces.borrow()
        defer { workspaces.giveBack(workspace) }
        let input = workspace.buffer(0)
        let (red, green, blue) = (means[0], means[1], means[2])
        chip.pixels.withUnsafeBufferPointer { pixels in
            for pixel in 0..<(size * size) {
                input[3 * pixel] = (Float(pixels[3 * pixel]) - red) / 256
                input[3 * pixel + 1] = (Float(pixels[3 * pixel + 1]) - green) / 256
                input[3 * pixel + 2] = (Float(pixels[3 * pixel + 2]) - blue) / 256
            }
        }
        try plan.run(in: workspace)
        let output = workspace.buffer(plan.outputSlot)
        return FaceDescriptor(values: Array(UnsafeBufferPointer(start: output, count: ResNetArchitecture.descriptorLength)))
    }
}
