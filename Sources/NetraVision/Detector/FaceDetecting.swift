import NetraImaging

/// A face detector the pipeline can run: MMOD (`FaceDetector`) or YuNet (`YuNetFaceDetector`).
///
/// Both report `FaceDetection`s whose rectangle is the box dlib's 5-point landmark predictor
/// expects, so alignment and the embedder do not depend on which detector found the face.
public protocol FaceDetecting: Sendable {
    /// The faces in `image`, best first, in original-image pixels.
    func detect(in image: RGBImage, options: DetectionOptions) throws(VisionError) -> [FaceDetection]
}

extension FaceDetector: FaceDetecting {}

/// Which detector finds the faces (`model.detector`).
public enum DetectorKind: String, Sendable, CaseIterable, Codable {
    /// dlib's MMOD CNN: the computation of dlib's file, about 10.7 GFLOP at 640x480, faces from
    /// about 80 px at scale 1 (40 px with one upsampling).
    case mmod
    /// libfacedetection's YuNet: about 0.5 GFLOP at 640x480, faces from about 16 px at scale 1
    /// (measured: `YuNetPipelineTests.smallestFace`).
    case yunet
}
