import Foundation
import NetraDescriptor
import NetraImaging

/// One face found and described by `FaceAnalyzer`.
public struct AnalyzedFace: Sendable {
    public init(detection: FaceDetection, landmarks: [PixelPoint], chip: RGBImage, descriptor: FaceDescriptor) {
        self.detection = detection
        self.landmarks = landmarks
        self.chip = chip
        self.descriptor = descriptor
    }

    public let detection: FaceDetection
    /// Five landmarks in the shape predictor's order, in image pixels.
    public let landmarks: [PixelPoint]
    /// The aligned 150x150 chip the descriptor was computed from.
    public let chip: RGBImage
    public let descriptor: FaceDescriptor
}

/// What the identity layer needs of the vision pipeline: find faces, place their landmarks,
/// describe them. `FaceAnalyzer` is the real one; tests of routing, authentication and rate
/// limits use a stand-in that needs no models.
public protocol FaceAnalyzing: Sendable {
    /// The faces in `image`, best detector score first, without describing them.
    func detectFaces(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection]
    /// The five landmarks of the face inside `detection`.
    func landmarks(of detection: FaceDetection, in image: RGBImage) -> [PixelPoint]
    /// Aligns and describes one detected face.
    func describe(_ detection: FaceDetection, in image: RGBImage) throws(VisionError) -> AnalyzedFace
    /// Aligns and describes several detected faces of one image, in detection order: what
    /// `describe(_:in:)` gives for each, with the chance to embed them together.
    func describe(_ detections: [FaceDetection], in image: RGBImage) throws(VisionError) -> [AnalyzedFace]
    /// Aligns and describes detected faces of several images (each with its image), in order:
    /// what `describe(_:in:)` gives for each, with the chance to embed them together.
    func describe(_ faces: [(detection: FaceDetection, image: RGBImage)]) throws(VisionError) -> [AnalyzedFace]
}

extension FaceAnalyzing {
    /// One by one, for analyzers with nothing to gain from describing faces together.
    public func describe(_ detections: [FaceDetection], in image: RGBImage) throws(VisionError) -> [AnalyzedFace] {
        try detections.map { detection throws(VisionError) in try describe(detection, in: image) }
    }

    /// One by one, for analyzers with nothing to gain from describing faces together.
    public func describe(_ faces: [(detection: FaceDetection, image: RGBImage)]) throws(VisionError) -> [AnalyzedFace] {
        try faces.map { face throws(VisionError) in try describe(face.detection, in: face.image) }
    }

    /// Detections in an image expected to show a face (a portrait, an enrollment photo): when
    /// none is found and the image is small (at most `FaceAnalyzer.retryPixelLimit` pixels),
    /// detection is tried once more at double resolution, which finds faces down to about 40 px.
    public func detectFacesExpectingOne(in image: RGBImage, options: DetectionOptions = DetectionOptions()) throws(VisionError) -> [FaceDetection] {
        let detections = try detectFaces(in: image, options: options)
        guard detections.isEmpty, image.pixelCount <= FaceAnalyzer.retryPixelLimit, options.minFaceSize == nil else { return detections }
        return try detectFaces(in: image, options: DetectionOptions(upsample: options.upsample + 1, maxPixels: options.maxPixels))
    }
}

/// The whole vision pipeline: image -> faces (box, score, landmarks, chip, descriptor).
///
/// Holds the three models, loaded once and shared read-only; safe to use from many
/// concurrent requests. `threads` is the number of compute threads each call uses: 1 when
/// requests run in parallel, all cores for a single request at a time.
public final class FaceAnalyzer: FaceAnalyzing {
    /// MMOD from the model files or bundle, unless another detector was given (YuNet).
    public let detector: any FaceDetecting
    public let shapePredictor: ShapePredictor
    public let embedder: FaceEmbedder
    public let threads: Int
    /// Describe each face by the mean of its chip's and the mirrored chip's descriptors.
    public let flipAveraged: Bool
    /// When above 0, describe each face by the mean descriptor of this many jittered crops
    /// (each also mirrored at random), the same crops for the same face every time.
    public let jitterCount: Int

    /// Loads the three model files from `modelDirectory` (see `ModelCatalog`); `head` is a
    /// trained embedding head applied after the ResNet; `detector`, when given, finds the faces
    /// instead of the MMOD file (which is then not loaded).
    public init(modelDirectory: URL, head: EmbeddingHead? = nil, threads: Int = 1, flipAveraged: Bool = false,
                jitterCount: Int = 0, detector: (any FaceDetecting)? = nil) throws(VisionError) {
        self.threads = max(1, threads)
        self.flipAveraged = flipAveraged
        self.jitterCount = max(0, jitterCount)
        ComputeEnvironment.setBLASThreads(self.threads)
        if let detector {
            self.detector = detector
        } else {
            self.detector = try FaceDetector(modelFile: modelDirectory.appendingPathComponent(ModelCatalog.detector.fileName),
                                             threads: self.threads)
        }
        shapePredictor = try ShapePredictor(modelFile: modelDirectory.appendingPathComponent(ModelCatalog.landmarks.fileName))
        embedder = try FaceEmbedder(modelFile: modelDirectory.appendingPathComponent(ModelCatalog.embedder.fileName),
                                    head: head, threads: self.threads)
    }

    /// Loads the models of an exported bundle (`netra export`), head included; `detector`, when
    /// given, finds the faces instead of the bundle's MMOD network.
    public init(bundle: ModelBundle, threads: Int = 1, flipAveraged: Bool = false, jitterCount: Int = 0,
                detector: (any FaceDetecting)? = nil) throws(VisionError) {
        self.threads = max(1, threads)
        self.flipAveraged = flipAveraged
        self.jitterCount = max(0, jitterCount)
        ComputeEnvironment.setBLASThreads(self.threads)
        if let detector {
            self.detector = detector
        } else {
            self.detector = try FaceDetector(network: bundle.detector, threads: self.threads)
        }
        do {
            shapePredictor = try ShapePredictor(bytes: bundle.landmarks)
        } catch {
            throw .invalidModel(file: "bundle landmarks", reason: "\(error)")
        }
        embedder = try FaceEmbedder(network: bundle.embedder, head: bundle.head?.head, threads: self.threads)
    }

    /// The faces in `image`, best detector score first, without describing them.
    public func detectFaces(in image: RGBImage, options: DetectionOptions = DetectionOptions()) throws(VisionError) -> [FaceDetection] {
        try detector.detect(in: image, options: options)
    }

    /// Landmarks and aligned chip of the face inside `detection`.
    public func align(_ detection: FaceDetection, in image: RGBImage) -> (landmarks: [PixelPoint], chip: RGBImage) {
        let landmarks = shapePredictor.landmarks(in: image, box: detection.rect)
        let chip = FaceAligner.extractChip(from: image, details: FaceAligner.chipDetails(for: landmarks))
        return (landmarks, chip)
    }

    /// Every face in `image`, detected, aligned and described.
    public func analyze(_ image: RGBImage, options: DetectionOptions = DetectionOptions()) throws(VisionError) -> [AnalyzedFace] {
        try describe(try detectFaces(in: image, options: options), in: image)
    }

    /// The five landmarks of the face inside `detection`.
    public func landmarks(of detection: FaceDetection, in image: RGBImage) -> [PixelPoint] {
        shapePredictor.landmarks(in: image, box: detection.rect)
    }

    /// Images up to this size get a second, upsampled detection pass when no face is found.
    public static let retryPixelLimit = 1_000_000

    /// Aligns and describes one detected face.
    public func describe(_ detection: FaceDetection, in image: RGBImage) throws(VisionError) -> AnalyzedFace {
        try describe([detection], in: image)[0]
    }

    /// Aligns and describes several detected faces of one image, in detection order; their
    /// chips (with mirrored or jittered copies) share the embedder's forward passes
    /// (`FaceEmbedder.descriptors(averaging:)`), which gives the same descriptors as one by one.
    public func describe(_ detections: [FaceDetection], in image: RGBImage) throws(VisionError) -> [AnalyzedFace] {
        try describe(detections.map { ($0, image) })
    }

    /// Aligns and describes detected faces of several images (each with the image it was found
    /// in), in order, all their chips sharing forward passes: for bulk work over many photos
    /// (`netra evaluate`, `netra enroll --dir`), where each photo has one face to describe.
    public func describe(_ faces: [(detection: FaceDetection, image: RGBImage)]) throws(VisionError) -> [AnalyzedFace] {
        let aligned = faces.map { detection, image in
            let landmarks = shapePredictor.landmarks(in: image, box: detection.rect)
            let details = FaceAligner.chipDetails(for: landmarks)
            let chip = FaceAligner.extractChip(from: image, details: details)
            return (landmarks: landmarks, chip: chip, chips: chips(of: chip, details: details, in: image))
        }
        let descriptors = try embedder.descriptors(averaging: aligned.map(\.chips))
        return zip(faces, zip(aligned, descriptors)).map { face, described in
            AnalyzedFace(detection: face.detection, landmarks: described.0.landmarks, chip: described.0.chip, descriptor: described.1)
        }
    }

    /// The chips a descriptor averages: the chip (and its mirror with `flipAveraged`), or
    /// `jitterCount` jittered crops.
    func chips(of chip: RGBImage, details: ChipDetails, in image: RGBImage) -> [RGBImage] {
        guard jitterCount > 0 else { return flipAveraged ? [chip, chip.mirrored()] : [chip] }
        var generator = SeededGenerator(seed: 5489)
        return (0..<jitterCount).map { _ in
            let jittered = FaceAligner.extractChip(from: image, details: details.jittered(using: &generator))
            return Bool.random(using: &generator) ? jittered.mirrored() : jittered
        }
    }
}
