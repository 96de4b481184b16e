import NetraImaging

/// Turns float32 networks into int8 ones for export: runs detector, alignment and embedder
/// over calibration photos recording each convolution's input range, then quantizes every
/// convolution whose input never goes below zero (post-ReLU) with the activation scale
/// `maximum / 255` and per-filter weight scales. Convolutions on signed input (the first
/// layer, on the mean-subtracted image) and the detector's single-filter head stay float32.
enum Int8Quantization {
    /// Calibration detects on at most this many pixels per photo, as the service does by default.
    static let calibrationPixels = 4_000_000

    static func quantize(detector: DlibNetworkFile, embedder: DlibNetworkFile, landmarks: [UInt8], calibrationImages: some Sequence<RGBImage>,
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
        return (quantized(detector, ranges: detectorRanges.recorded), quantized(embedder, ranges: embedderRanges.recorded))
    }

    static func quantized(_ network: DlibNetworkFile, ranges: [Int: ActivationRecorder.Range]) -> DlibNetworkFile {
        let layers = network.layers.enumerated().map { index, layer -> DlibLayer in
            guard case let .convolution(weights) = layer, let range = ranges[index], range.minimum >= 0, range.maximum > 0,
                  !weights.isSingleFilter
            else { return layer }
            return .quantizedConvolution(QuantizedConvolutionWeights(quantizing: weights, inputScale: range.maximum / 255))
        }
        return DlibNetworkFile(loss: network.loss, input: network.input, layers: layers)
    }
}
