import NetraIdentity
import NetraImaging
import NetraVision

/// The real models, loaded once per test process and shared by every suite that needs them
/// (loading takes a second or two and ~200 MB; the analyzer is safe to share).
public enum TestModels {
    private static let loaded = Result { try FaceAnalyzer(modelDirectory: SharedData.models, threads: 2) }

    /// The shared analyzer of dlib's three models (2 compute threads).
    public static func analyzer() throws -> FaceAnalyzer {
        try loaded.get()
    }

    /// The face that stands for `image` (`FaceChoice.largest`), described, or `nil` without one.
    public static func face(of image: RGBImage, analyzer: FaceAnalyzer? = nil) throws -> AnalyzedFace? {
        let analyzer = try analyzer ?? Self.analyzer()
        let detections = try analyzer.detectFacesExpectingOne(in: image)
        guard let chosen = FaceChoice.largest.pick(from: detections, in: image) else { return nil }
        return try analyzer.describe(chosen, in: image)
    }
}
