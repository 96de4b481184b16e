import Foundation
import NetraImaging
import NetraVision

extension ModelBundle {
    /// A bundle of dlib's three models from `modelDirectory` (affine layers folded into the
    /// convolutions), with `head` and the threshold in force. int8 needs `calibrationImages`:
    /// face photos like those the service will see, to choose the activation scales.
    public static func exporting(modelDirectory: URL, head: EmbeddingHeadFile?, format: ExportFormat, baseModelVersion: String,
                                 threshold: Double, thresholdSource: String, calibrationImages: some Sequence<RGBImage> = [RGBImage](),
                                 threads: Int = 1) throws(VisionError) -> ModelBundle {
        let detector = try ModelFileReader.network(at: modelDirectory.appendingPathComponent(ModelCatalog.detector.fileName),
                                                   layout: MMODArchitecture.layers)
        let embedder = try ModelFileReader.network(at: modelDirectory.appendingPathComponent(ModelCatalog.embedder.fileName),
                                                   layout: ResNetArchitecture.layers)
        let landmarks = try ModelFileReader.bytes(at: modelDirectory.appendingPathComponent(ModelCatalog.landmarks.fileName))
        let header = Header(format: format, modelVersion: baseModelVersion + (format == .f32 ? "" : "-\(format.rawValue)"),
                            threshold: threshold, thresholdSource: thresholdSource,
                            createdAt: ISO8601DateFormatter().string(from: Date()), components: [])
        guard format == .int8 else {
            return ModelBundle(header: header, detector: detector.foldingAffineLayers(), embedder: embedder.foldingAffineLayers(),
                               landmarks: landmarks, head: head)
        }
        let quantized = try Int8Quantization.quantize(detector: detector.foldingAffineLayers(), embedder: embedder.foldingAffineLayers(),
                                                      landmarks: landmarks, calibrationImages: calibrationImages, threads: threads)
        return ModelBundle(header: header, detector: quantized.detector, embedder: quantized.embedder, landmarks: landmarks, head: head)
    }

}
