import Foundation
import NetraImaging

/// YuNet, libfacedetection's face detector, run natively: one pass of a small network over
/// the whole image gives boxes, scores and five landmarks per face.
///
/// **Origin and licence.** YuNet and libfacedetection are by Shiqi Yu and contributors
/// (github.com/ShiqiYu/libfacedetection, 3-clause BSD). NETRA reads the trained weights from
/// `libfacedetection.so` of PyPI's `yuface` 2023.5.1 wheel, where they are exported float
/// arrays (53 layers, 53,184 floats; see `YuNetWeights`); it never loads or runs that
/// library. The computation follows the library's source and is checked against the library
/// itself (`scripts/yunet_reference.py`).
///
/// **The network** (`YuNetPlan`), on oneDNN convolutions over NHWC float32, with the image's
/// raw 0...255 values padded with zeros to a multiple of 32 on each side:
/// - a 3x3 stride-2 convolution of the image to 16 channels, ReLU;
/// - separable convolutions (1x1 pointwise, then 3x3 depthwise with ReLU) with 2x2 max
///   pooling between stages, to features at strides 8, 16 and 32 (64 channels);
/// - a neck: at each level a separable convolution of the coarser level upsampled (nearest,
///   x2) plus the level's own features;
/// - heads per level: separable convolutions without ReLU to a class score, objectness, a box
///   and five landmarks per position; then `YuNetDecoding` (priors, decoding, NMS at IoU 0.45).
///
/// Plans are compiled per padded image size on first use and kept, so a camera's frames only
/// run kernels. Safe to share between threads; `threads` is the oneDNN threads per call.
public final class YuNetDetector: Sendable {
    /// The lowest score libfacedetection reports: its own threshold.
    public static let libraryScoreThreshold: Float = YuNetDecoding.libraryMinimumScore
    /// The default threshold: that of the `yuface` wheel that ships the library (`detect(img, conf=0.5)`).
    public static let defaultScoreThreshold: Float = 0.5
    /// The largest padded image (in pixels) a call accepts: a workspace costs about 50 bytes
    /// per pixel, so larger images should be scaled down first.
    public static let maximumPixels = 4096 * 4096

    private let network: YuNetNetwork

    /// Loads the weights from libfacedetection's shared library at `libraryFile`.
    public init(libraryFile: URL, threads: Int = 1) throws(VisionError) {
        network = try YuNetNetwork(weights: YuNetWeights(libraryFile: libraryFile), threads: max(1, threads))
    }

    /// The faces in `image` scoring at least `scoreThreshold`, best first. An empty image has
    /// none; one larger than `maximumPixels` once padded is refused.
    public func detect(in image: RGBImage, scoreThreshold: Float = YuNetDetector.defaultScoreThreshold) throws(VisionError) -> [YuNetFace] {
        guard image.width > 0, image.height > 0 else { return [] }
        guard YuNetNetwork.padded(image.width) * YuNetNetwork.padded(image.height) <= Self.maximumPixels else {
            throw .invalidInput("YuNet takes images up to \(Self.maximumPixels) pixels; this one is \(image.width) x \(image.height)")
        }
        return try network.run(on: image) { levels in
            YuNetDecoding.faces(in: levels, scoreThreshold: scoreThreshold)
        }
    }
}
