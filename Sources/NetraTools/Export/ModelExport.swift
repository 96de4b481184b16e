import Foundation
import NetraImaging
import NetraVision

/// dlib's three models as export reads them from a model directory: both networks with their
/// affine layers folded into the convolutions, the landmark predictor's bytes, and the SHA-256
/// of each file read (what a bundle records in `built_from`).
package struct DlibModels {
    package let detector: DlibNetworkFile
    package let embedder: DlibNetworkFile
    package let landmarks: [UInt8]
    package let sha256: [String: String]

    package init(modelDirectory: URL) throws(VisionError) {
        func url(_ file: ModelFile) -> URL { modelDirectory.appendingPathComponent(file.fileName) }
        detector = try ModelFileReader.network(at: url(ModelCatalog.detector), layout: MMODArchitecture.layers).foldingAffineLayers()
        embedder = try ModelFileReader.network(at: url(ModelCatalog.embedder), layout: ResNetArchitecture.layers).foldingAffineLayers()
        landmarks = try ModelFileReader.bytes(at: url(ModelCatalog.landmarks))
        var digests: [String: String] = [:]
        for file in ModelCatalog.files {
            guard let digest = try? SHA256Digest.hex(ofFileAt: url(file)) else { throw .invalidModel(file: url(file).path, reason: "it cannot be read") }
            digests[file.fileName] = digest
        }
        sha256 = digests
    }
}

extension ModelBundle {
    /// A bundle of dlib's three models from `modelDirectory` (affine layers folded into the
    /// convolutions), with `head` and the threshold in force. int8 needs `calibrationImages`:
    /// face photos like those the service will see, to choose the activation scales.
    public static func exporting(modelDirectory: URL, head: EmbeddingHeadFile?, format: ExportFormat, baseModelVersion: String,
                                 threshold: Double, thresholdSource: String, calibrationImages: some Sequence<RGBImage> = [RGBImage](),
                                 threads: Int = 1) throws(VisionError) -> ModelBundle {
        let models = try DlibModels(modelDirectory: modelDirectory)
        var scales: Int8ActivationScales?
        if format == .int8 {
            let photos = calibrationImages.enumerated().lazy.map { Int8Quantization.Photo(name: "image \($0.offset)", sha256: "", image: $0.element) }
            scales = Int8ActivationScales(
                recording: try Int8Quantization.record(detector: models.detector, embedder: models.embedder, landmarks: models.landmarks,
                                                       photos: photos, threads: threads),
                models: models.sha256, command: "ModelBundle.exporting(calibrationImages:)")
        }
        return try exporting(models, head: head, format: format, baseModelVersion: baseModelVersion, threshold: threshold,
                             thresholdSource: thresholdSource, activationScales: scales)
    }

    /// A bundle of `models` in `format`; int8 takes its activation scales from `activationScales`.
    /// The model version is `baseModelVersion`, plus `-f16`, or for int8 `-int8-` and the first
    /// 12 hex of the scales' canonical SHA-256 (`Int8ActivationScales.int8ModelVersion`).
    ///
    /// - Parameters:
    ///   - createdAt: the header's date; a fixed one (the bundle `netra models fetch` builds uses
    ///     the scales file's) makes the bundle a pure function of its inputs, byte for byte.
    ///   - builtFrom: extra inputs to record beside the model files (the scales file's SHA-256).
    package static func exporting(_ models: DlibModels, head: EmbeddingHeadFile?, format: ExportFormat, baseModelVersion: String,
                                  threshold: Double, thresholdSource: String, activationScales: Int8ActivationScales?,
                                  createdAt: String? = nil, builtFrom: [String: String] = [:]) throws(VisionError) -> ModelBundle {
        let modelVersion: String
        switch format {
        case .f32: modelVersion = baseModelVersion
        case .int8:
            guard let activationScales else { throw .invalidInput("an int8 export needs activation scales") }
            modelVersion = try activationScales.int8ModelVersion(baseModelVersion: baseModelVersion)
        case .f16: modelVersion = baseModelVersion + "-\(format.rawValue)"
        }
        let header = Header(format: format, modelVersion: modelVersion,
                            threshold: threshold, thresholdSource: thresholdSource,
                            createdAt: createdAt ?? ISO8601DateFormatter().string(from: Date()), components: [],
                            builtFrom: models.sha256.merging(builtFrom) { _, extra in extra })
        guard format == .int8 else {
            return ModelBundle(header: header, detector: models.detector, embedder: models.embedder, landmarks: models.landmarks, head: head)
        }
        guard let activationScales else { throw .invalidInput("an int8 export needs activation scales") }
        let quantized = Int8Quantization.quantize(detector: models.detector, embedder: models.embedder, scales: activationScales)
        return ModelBundle(header: header, detector: quantized.detector, embedder: quantized.embedder, landmarks: models.landmarks, head: head)
    }
}
