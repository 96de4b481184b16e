import Foundation
import NetraDescriptor
import NetraImaging

/// The Siamese core: one set of ResNet weights maps every aligned 150x150 face chip to a
/// 128-d `FaceDescriptor`, so both sides of a comparison go through the same network.
///
/// Load once and share: the weights are read-only, and each concurrent call borrows its own
/// workspace (activation buffers, scratchpad) from a small pool. Several chips described
/// together (`descriptors(ofChips:)`) go through the network several per forward pass, with
/// the same results as one by one.
public final class FaceEmbedder: Sendable {
    public static let chipSize = ResNetArchitecture.inputSize
    /// The most chips one forward pass takes; more are split into passes of
    /// `batchSizes(for:)`.
    public static let maxBatch = 8

    /// The trained head applied after the backbone (`netra train`); `nil` is dlib's model as is.
    public let head: EmbeddingHead?
    private let plans: BatchedPlans
    private let means: [Float]

    /// Loads `dlib_face_recognition_resnet_model_v1.dat` and builds its convolutions for `threads` compute threads.
    public convenience init(modelFile: URL, head: EmbeddingHead? = nil, threads: Int = 1) throws(VisionError) {
        let file = try ModelFileReader.network(at: modelFile, layout: ResNetArchitecture.layers)
        try self.init(network: file, head: head, threads: threads)
    }

    /// `recorder`, when given, collects each convolution's input range (int8 calibration).
    package init(network: DlibNetworkFile, head: EmbeddingHead? = nil, threads: Int, recorder: ActivationRecorder? = nil) throws(VisionError) {
        self.head = head
        let size = ResNetArchitecture.inputSize
        plans = try BatchedPlans(layers: network.layers, chipShape: TensorShape(batch: 1, height: size, width: size, channels: 3),
                                 threads: threads, recorder: recorder)
        means = network.input.means
        guard plans.single.plan.outputShape.channels == ResNetArchitecture.descriptorLength else {
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
        try descriptors(averaging: [chips])[0]
    }

    /// The descriptor of an aligned 150x150 chip (see `FaceAligner`), through the head if there is one.
    public func descriptor(ofChip chip: RGBImage) throws(VisionError) -> FaceDescriptor {
        try descriptor(ofChip: chip, flipAveraged: false)
    }

    /// The descriptors of several aligned chips (one per face), through the head: the same
    /// values as `descriptor(ofChip:)` on each, computed several chips per forward pass.
    public func descriptors(ofChips chips: [RGBImage]) throws(VisionError) -> [FaceDescriptor] {
        try descriptors(averaging: chips.map { [$0] })
    }

    /// For each group of chips of one face (the chip, its mirror, jittered copies), the mean of
    /// their backbone descriptors through the head, as `descriptor(averaging:)` gives for each
    /// group; all groups' chips share forward passes.
    public func descriptors(averaging groups: [[RGBImage]]) throws(VisionError) -> [FaceDescriptor] {
        let backbone = try backboneDescriptors(ofChips: groups.flatMap { $0 })
        var next = 0
        return groups.map { group in
            var sum = [Float](repeating: 0, count: ResNetArchitecture.descriptorLength)
            for descriptor in backbone[next..<(next + group.count)] {
                for index in sum.indices { sum[index] += descriptor.values[index] }
            }
            next += group.count
            let mean = FaceDescriptor(values: sum.map { $0 / Float(max(1, group.count)) })
            return head?.apply(mean) ?? mean
        }
    }

    /// The ResNet's own descriptor of an aligned 150x150 chip, without the head: what the head is trained on.
    public func backboneDescriptor(ofChip chip: RGBImage) throws(VisionError) -> FaceDescriptor {
        try backboneDescriptors(ofChips: [chip])[0]
    }

    /// The ResNet's own descriptors of several aligned chips, without the head, in chip order:
    /// up to `maxBatch` chips per forward pass (see `batchSizes(for:)`).
    public func backboneDescriptors(ofChips chips: [RGBImage]) throws(VisionError) -> [FaceDescriptor] {
        let size = ResNetArchitecture.inputSize
        for chip in chips where chip.width != size || chip.height != size {
            throw .invalidInput("a face chip must be \(size) x \(size) pixels, not \(chip.width) x \(chip.height)")
        }
        var descriptors: [FaceDescriptor] = []
        descriptors.reserveCapacity(chips.count)
        var start = chips.startIndex
        for batch in Self.batchSizes(for: chips.count) {
            descriptors += try forward(chips[start..<(start + batch)])
            start += batch
        }
        return descriptors
    }

    /// How `count` chips are split into forward passes: the largest powers of two up to
    /// `maxBatch`, largest first (13 chips: 8, 4, 1), so only a handful of plans is ever compiled.
    public static func batchSizes(for count: Int) -> [Int] {
        var sizes: [Int] = [], left = count
        while left > 0 {
            var batch = 1
            while batch * 2 <= min(left, maxBatch) { batch *= 2 }
            sizes.append(batch)
            left -= batch
        }
        return sizes
    }

    /// One forward pass over `chips` (already checked to be chips), on the plan of their count.
    private func forward(_ chips: ArraySlice<RGBImage>) throws(VisionError) -> [FaceDescriptor] {
        let compiled = try plans.plan(batch: chips.count)
        let workspace = try compiled.workspaces.borrow()
        defer { compiled.workspaces.giveBack(workspace) }
        let pixelCount = ResNetArchitecture.inputSize * ResNetArchitecture.inputSize
        for (offset, chip) in chips.enumerated() {
            normalize(chip, into: workspace.buffer(0) + offset * 3 * pixelCount, pixelCount: pixelCount)
        }
        try compiled.plan.run(in: workspace)
        let output = workspace.buffer(compiled.plan.outputSlot), length = ResNetArchitecture.descriptorLength
        return (0..<chips.count).map { offset in
            FaceDescriptor(values: Array(UnsafeBufferPointer(start: output + offset * length, count: length)))
        }
    }

    /// dlib's input normalisation: each channel minus the model's mean, over 256.
    private func normalize(_ chip: RGBImage, into input: UnsafeMutablePointer<Float>, pixelCount: Int) {
        let (red, green, blue) = (means[0], means[1], means[2])
        chip.pixels.withUnsafeBufferPointer { pixels in
            for pixel in 0..<pixelCount {
                input[3 * pixel] = (Float(pixels[3 * pixel]) - red) / 256
                input[3 * pixel + 1] = (Float(pixels[3 * pixel + 1]) - green) / 256
                input[3 * pixel + 2] = (Float(pixels[3 * pixel + 2]) - blue) / 256
            }
        }
    }
}
