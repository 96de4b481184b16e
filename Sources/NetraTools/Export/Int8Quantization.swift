import NetraImaging
import NetraVision

/// Turns float32 networks into int8 ones for export: runs detector, alignment and embedder
/// over calibration photos recording each convolution's input range, then quantizes every
/// convolution whose input never goes below zero (post-ReLU) with the activation scale
/// `maximum / 255` and per-filter weight scales. Convolutions on signed input (the first
/// layer, on the mean-subtracted image) and the detector's single-filter head stay float32.
package enum Int8Quantization {
    /// Calibration detects on at most this many pixels per photo, as the service does by default.
    package static let calibrationPixels = 4_000_000

    package static func quantize(detector: DlibNetworkFile, embedder: DlibNetworkFile, landmarks: [UInt8], calibrationImages: some Sequence<RGBImage>,
                         threads: Int) throws(VisionError) -> (detector: DlibNetworkFile, embedder: DlibNetworkFile) {
        let detectorRanges = ActivationRecorder(), embedderRanges = ActivationRecorder()
        let faceDetector = try FaceDetector(network: detector, threads: threads, recorder: detectorRanges)
        let faceEmbedder = try FaceEmbedder(network: embedder, threads: threads, recorder: embedderRanges)
        let shapePredictor: ShapePredictor
        do {
            shapePredictor = try ShapePredictor(bytes: landmarks)
        } catch {
            throw .invalidModel(file: "landmarks", reason: "\(error)")
        }
        var faces = 0
        for image in calibrationImages {
            for detection in try faceDetector.detect(in: image, options: DetectionOptions(maxPixels: calibrationPixels)) {
                let landmarks = shapePredictor.landmarks(in: image, box: detection.rect)
                let chip = FaceAligner.extractChip(from: image, details: FaceAligner.chipDetails(for: landmarks))
                _ = try faceEmbedder.backboneDescriptor(ofChip: chip)
                faces += 1
            }
        }
        guard faces > 0 else {
            throw .invalidInput("int8 export needs calibration images with faces: face photos like those the service will see")
        }
        return (detector.quantized(ranges: detectorRanges.recorded), embedder.quantized(ranges: embedderRanges.recorded))
    }
}
