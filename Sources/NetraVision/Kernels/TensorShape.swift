/// The shape of an NHWC float32 activation tensor.
struct TensorShape: Equatable, Sendable, CustomStringConvertible {
    var batch: Int
    var height: Int
    var width: Int
    var channels: Int

    var elementCount: Int { batch * height * width * channels }

    var description: String { "\(batch)x\(height)x\(width)x\(channels)" }
}
