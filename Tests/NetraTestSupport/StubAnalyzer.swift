import NetraDescriptor
import NetraImaging
import NetraVision

/// A stand-in for the models where a test is about routing, authentication, rate limits or
/// error shapes, not about faces: every image shows one face covering its middle, described
/// by a fixed descriptor. It loads nothing and answers at once.
public struct StubAnalyzer: FaceAnalyzing {
    public var descriptor: FaceDescriptor

    public init(descriptor: FaceDescriptor = FaceDescriptor(values: (0..<128).map { Float($0 % 7) / 70 })) {
        self.descriptor = descriptor
    }

    public func detectFaces(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection] {
        [FaceDetection(rect: PixelRect(left: image.width / 4, top: image.height / 4, right: image.width * 3 / 4, bottom: image.height * 3 / 4),
                       score: 1)]
    }

    public func landmarks(of detection: FaceDetection, in image: RGBImage) -> [PixelPoint] {
        let rect = detection.rect
        return (0..<5).map { PixelPoint(x: rect.left + $0 * rect.width / 5, y: rect.top + rect.height / 2) }
    }

    public func describe(_ detection: FaceDetection, in image: RGBImage) throws(VisionError) -> AnalyzedFace {
        AnalyzedFace(detection: detection, landmarks: landmarks(of: detection, in: image),
                     chip: RGBImage(width: 1, height: 1, pixels: [0, 0, 0]), descriptor: descriptor)
    }
}
