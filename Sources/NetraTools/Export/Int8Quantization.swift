import NetraImaging
import NetraVision

/// Turns float32 networks into int8 ones for export, in two steps: `record` runs detector,
/// alignment and embedder over calibration photos noting each convolution's input range (the
/// activation scales, committed once as `Int8ActivationScales`); `quantize` then makes every
/// convolution whose input never goes below zero (post-ReLU) int8, with the activation scale
/// `maximum / 255` and per-filter weight scales. Convolutions on signed input (the first layer,
/// on the mean-subtracted image) and the detector's single-filter head stay float32. The second
/// step is a pure function of the weights and the ranges, so the same files always give the
/// same bundle.
package enum Int8Quantization {
    /// Calibration detects on at most this many pixels per photo, as the service does by default.
    package static let calibrationPixels = 4_000_000

    /// One calibration photo: its name (a path below the calibration folder), its file's
    /// SHA-256 and the decoded image.
    package struct Photo {
        package var name: String
        package var sha256: String
        package var image: RGBImage

        package init(name: String, sha256: String, image: RGBImage) {
            self.name = name
            self.sha256 = sha256
            self.image = image
        }
    }

    /// What `record` saw: each network's input ranges by layer index, and the faces per photo.
    package struct Recording {
        package var detector: [Int: ActivationRecorder.Range]
        package var embedder: [Int: ActivationRecorder.Range]
        package var photos: [Int8ActivationScales.Photo]
        package var faces: Int { photos.reduce(0) { $0 + $1.faces } }
    }

    /// Runs the float32 networks (affine layers already folded) over `photos`, each face
    /// detected, aligned and embedded as the service does, recording every convolution's input.
    package static func record(detector: DlibNetworkFile, embedder: DlibNetworkFile, landmarks: [UInt8], photos: some Sequence<Photo>,
                               threads: Int) throws(VisionError) -> Recording {
        let detectorRanges = ActivationRecorder(), embedderRanges = ActivationRecorder()
        let faceDetector = try FaceDetector(network: detector, threads: threads, recorder: detectorRanges)
        let faceEmbedder = try FaceEmbedder(network: embedder, threads: threads, recorder: embedderRanges)
        let shapePredictor: ShapePredictor
        do {
            shapePredictor = try ShapePredictor(bytes: landmarks)
        } catch {
            throw .invalidModel(file: "landmarks", reason: "\(error)")
        }
        var seen: [Int8ActivationScales.Photo] = []
        for photo in photos {
            var faces = 0
            for detection in try faceDetector.detect(in: photo.image, options: DetectionOptions(maxPixels: calibrationPixels)) {
                let landmarks = shapePredictor.landmarks(in: photo.image, box: detection.rect)
                let chip = FaceAligner.extractChip(from: photo.image, details: FaceAligner.chipDetails(for: landmarks))
                _ = try faceEmbedder.backboneDescriptor(ofChip: chip)
                faces += 1
            }
            seen.append(Int8ActivationScales.Photo(file: photo.name, sha256: photo.sha256, faces: faces))
        }
        let recording = Recording(detector: detectorRanges.recorded, embedder: embedderRanges.recorded, photos: seen)
        guard recording.faces > 0 else {
            throw .invalidInput("int8 calibration needs photos with faces: face photos like those the service will see")
        }
        return recording
    }

    /// Both networks with int8 convolutions at the recorded scales.
    package static func quantize(detector: DlibNetworkFile, embedder: DlibNetworkFile,
                                 scales: Int8ActivationScales) -> (detector: DlibNetworkFile, embedder: DlibNetworkFile) {
        (detector.quantized(ranges: Int8ActivationScales.ranges(scales.detector)),
         embedder.quantized(ranges: Int8ActivationScales.ranges(scales.embedder)))
    }
}
