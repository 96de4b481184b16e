import NetraImaging
import NetraVision

/// The vision step of every use case: the faces of an image, found with the configured
/// detection settings, described, and timed for the metrics.
public struct FaceFinder: Sendable {
    public let analyzer: any FaceAnalyzing
    public var detection: DetectionOptions

    public init(analyzer: any FaceAnalyzing, detection: DetectionOptions = DetectionOptions()) {
        self.analyzer = analyzer
        self.detection = detection
    }

    /// The detections of an image expected to show faces (retrying a small image at double
    /// resolution, see `FaceAnalyzing.detectFacesExpectingOne`).
    public func detections(in image: RGBImage) throws(IdentityError) -> [FaceDetection] {
        do {
            return try IdentityMetrics.detectDuration.measure { () throws(VisionError) in
                try analyzer.detectFacesExpectingOne(in: image, options: detection)
            }
        } catch {
            throw .vision(error)
        }
    }

    /// Aligns and describes one detection.
    public func describe(_ detection: FaceDetection, in image: RGBImage) throws(IdentityError) -> AnalyzedFace {
        do {
            return try IdentityMetrics.embedDuration.measure { () throws(VisionError) in try analyzer.describe(detection, in: image) }
        } catch {
            throw .vision(error)
        }
    }

    /// Aligns and describes several detections of one image together (their chips share the
    /// embedder's forward passes). The embed metric stays per face: each face records the
    /// call's time divided by the number of faces.
    public func describe(_ detections: [FaceDetection], in image: RGBImage) throws(IdentityError) -> [AnalyzedFace] {
        try describe(detections.map { ($0, image) })
    }

    /// Aligns and describes detections of several images (each with its image) together, as
    /// `describe(_:in:)` does for the detections of one: for bulk enrollment.
    public func describe(_ detections: [(detection: FaceDetection, image: RGBImage)]) throws(IdentityError) -> [AnalyzedFace] {
        guard !detections.isEmpty else { return [] }
        let start = ContinuousClock.now
        let faces: [AnalyzedFace]
        do {
            faces = try analyzer.describe(detections)
        } catch {
            throw .vision(error)
        }
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        for _ in faces { IdentityMetrics.embedDuration.recordNanoseconds(nanoseconds / Int64(faces.count)) }
        return faces
    }

    /// Every face of an image, described together.
    public func faces(in image: RGBImage) throws(IdentityError) -> [AnalyzedFace] {
        try describe(try detections(in: image), in: image)
    }

    /// The face that stands for the image (`FaceChoice`), described; `source` names the image
    /// in the error when it shows no face.
    public func face(of image: RGBImage, choice: FaceChoice, source: String) throws(IdentityError) -> AnalyzedFace {
        guard let chosen = choice.pick(from: try detections(in: image), in: image) else { throw .noFace(in: source) }
        return try describe(chosen, in: image)
    }
}

extension FaceFinder {
    /// Every face the detector finds with `detection` (no retry), with its landmarks, as NETRA prints it.
    public func detect(in image: RGBImage) throws(IdentityError) -> [FaceJSON] {
        let found: [FaceDetection]
        do {
            found = try IdentityMetrics.detectDuration.measure { () throws(VisionError) in try analyzer.detectFaces(in: image, options: detection) }
        } catch {
            throw .vision(error)
        }
        return found.enumerated().map { index, face in
            FaceJSON(id: index, detection: face, landmarks: analyzer.landmarks(of: face, in: image), in: image)
        }
    }
}
