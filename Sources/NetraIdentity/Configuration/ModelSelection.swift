import Foundation
import NetraStore
import NetraVision

/// The models a command runs with, as the configuration names them: an exported bundle
/// (`model.path`), dlib's three files from `model.dir` plus the trained head of `model.head` if
/// one is set, or else (`model.precision`) the int8 bundle `netra models fetch` builds in
/// `model.dir` or dlib's float32 files. It also names the model version stored with each
/// enrolled face, and the match threshold that goes with the model.
///
/// A store keeps the model its faces were enrolled with: faces of another version are never
/// searched, so `auto` picks int8 only for a store holding no more float32 faces than int8 ones
/// (a fresh install, refused when such a store's int8 faces lack a bundle), `int8` on a store
/// of float32 faces is refused, and so is `f32` on a store holding more int8 faces than float32.
public struct ModelSelection: Sendable {
    public typealias Precision = NetraConfiguration.Model.Precision

    /// The faces a store holds, by model version, read before it is opened (the models are
    /// chosen to match them).
    public struct StoreFaces: Sendable, Equatable {
        public let path: String
        public let countsByModelVersion: [String: Int]

        /// The faces of the store at `path`: how many each model version has.
        public init(path: String, countsByModelVersion: [String: Int]) {
            self.path = path
            self.countsByModelVersion = countsByModelVersion
        }

        /// The counts of the store at `path` (none when it does not exist yet).
        public static func read(path: String) throws(ConfigurationError) -> StoreFaces {
            try read(.sqlite(path: path))
        }

        /// The counts of the store at `location` (none when it does not exist yet); `path` is
        /// its description (never a password).
        public static func read(_ location: StoreLocation) throws(ConfigurationError) -> StoreFaces {
            do {
                return StoreFaces(path: location.description, countsByModelVersion: try location.faceCountsByModelVersion())
            } catch {
                throw ConfigurationError("\(error)")
            }
        }

        /// The counts of the store at `path`; when they cannot be read (a store that will not
        /// open either, whose opening then says why), none, with `warn` told why: the models are
        /// then those of a new store.
        public static func read(path: String, warn: (String) -> Void) -> StoreFaces {
            do {
                return try read(path: path)
            } catch {
                warn("cannot count the faces of \(path) by model version (\(error)); choosing the models of a new store")
                return StoreFaces(path: path, countsByModelVersion: [:])
            }
        }

        /// The counts of the store at `location`: for SQLite as `read(path:warn:)`; a PostgreSQL
        /// store that cannot be read (unreachable, a wrong password, another application's
        /// database) is an error, so that a command or service stops at start with its reason.
        public static func read(_ location: StoreLocation, warn: (String) -> Void) throws(ConfigurationError) -> StoreFaces {
            switch location {
            case let .sqlite(path): read(path: path, warn: warn)
            case .postgres: try read(location)
            }
        }
    }

    public let directory: URL
    public let headFile: EmbeddingHeadFile?
    public let bundle: ModelBundle?
    /// The version recorded with each face; faces of other versions are never searched.
    public let modelVersion: String
    /// The calibration file's threshold when `model.calibration` is set, else the bundle's or
    /// the trained head's (chosen on its validation people), else `model.threshold` (also for
    /// the int8 bundle of `model.dir`, whose descriptors agree with float32 to cosine 0.9998).
    public let matchThreshold: Float
    /// Where `matchThreshold` comes from, in words.
    public let thresholdSource: String
    /// The build of `model.dir`'s models in use, `nil` when `model.path` or `model.head` decides.
    public let precision: Precision?
    /// Which models run and why, in one line for start-up logs (`model.precision`).
    public let choice: String

    /// - Parameters:
    ///   - store: the faces of the store the command works on; without one (detect, embed,
    ///     verify, evaluate) `auto` runs float32, the reference computation.
    ///   - precision: replaces `model.precision` (export reads the float32 files whatever it says).
    ///   - int8Version: the model version the int8 bundle of `model.dir` must carry, the one
    ///     `netra models fetch` gives it from NETRA's committed activation scales
    ///     (`ModelInstaller.int8ModelVersion`); a bundle of another version was built from other
    ///     scales and is refused. Without it int8 cannot be chosen (commands without a store run
    ///     float32 under `auto`).
    public init(_ configuration: NetraConfiguration, store: StoreFaces? = nil, precision: Precision? = nil,
                int8Version: String? = nil) throws(ConfigurationError) {
        let model = configuration.model
        directory = configuration.modelDirectory
        let requested = precision ?? model.precision
        if !model.path.isEmpty, requested != .auto {
            throw ConfigurationError("model.precision chooses between the int8 and f32 builds of model.dir; "
                + "with model.path set, leave it auto")
        }
        if !model.head.isEmpty, requested == .int8 {
            throw ConfigurationError("model.precision chooses between the int8 and f32 builds of model.dir, and a head runs on f32; "
                + "with model.head set, leave it auto")
        }
        var resolved: Precision?
        if !model.path.isEmpty {
            guard model.head.isEmpty else {
                throw ConfigurationError("set model.path or model.head, not both: a bundle carries its own head")
            }
            bundle = try Self.load("model.path") { () throws(VisionError) in try ModelBundle.read(from: URL(fileURLWithPath: model.path)) }
            headFile = bundle?.head
            choice = "bundle \(model.path) (model.path)"
        } else if !model.head.isEmpty {
            bundle = nil
            headFile = try Self.load("model.head") { () throws(VisionError) in
                try EmbeddingHeadFile.read(from: URL(fileURLWithPath: model.head))
            }
            choice = "dlib's float32 models of \(model.dir)/ with head \(model.head) (model.head)"
        } else {
            let (chosen, why) = try Self.resolve(requested, store: store, directory: directory, modelDirectory: model.dir)
            resolved = chosen
            headFile = nil
            if chosen == .int8 {
                let file = directory.appendingPathComponent(ModelCatalog.int8BundleName)
                guard let int8Version else {
                    throw ConfigurationError("cannot check \(file.path): the model version NETRA's committed int8 activation scales give "
                        + "is not known to this command; set model.precision f32")
                }
                let int8 = try Self.load("model.precision int8") { () throws(VisionError) in try ModelBundle.read(from: file) }
                guard int8.header.format == .int8, int8.header.modelVersion == int8Version, int8.head == nil else {
                    throw ConfigurationError("\(file.path) was not built from the model files of \(model.dir) and NETRA's committed "
                        + "activation scales (model version \(int8.header.modelVersion), not \(int8Version)); "
                        + "run netra models fetch to rebuild it")
                }
                bundle = int8
                choice = "int8, \(file.path): \(why)"
            } else {
                bundle = nil
                choice = "f32, dlib's models of \(model.dir)/: \(why)"
            }
        }
        self.precision = resolved
        guard Self.yunetMinimumScoreRange.contains(model.yunetMinScore) else {
            throw ConfigurationError("model.yunet_min_score must be between 0.2 and 1, not \(model.yunetMinScore)")
        }
        detector = model.detector
        yunetMinimumScore = Float(model.yunetMinScore)
        if let card = headFile?.card, card.backboneSHA256 != ModelCatalog.embedder.sha256 {
            throw ConfigurationError("the embedding head was trained on another backbone (\(card.backboneSHA256.prefix(12)))")
        }
        modelVersion = bundle?.header.modelVersion ?? Self.version(of: headFile)
        if !model.calibration.isEmpty {
            matchThreshold = try Self.calibratedThreshold(model.calibration, modelVersion: modelVersion)
            thresholdSource = "calibration \(model.calibration)"
        } else if let bundle, resolved == nil {
            matchThreshold = Float(bundle.header.threshold)
            thresholdSource = bundle.header.thresholdSource
        } else if let headFile {
            matchThreshold = Float(headFile.card.threshold)
            thresholdSource = "head \(model.head) (best validation threshold)"
        } else {
            matchThreshold = Float(model.threshold)
            thresholdSource = "model.threshold"
        }
    }

    /// The model version a new, empty store's faces get under `configuration` (what `auto` or
    /// `model.precision` chooses for it, the bundle only looked for), for stores filled with
    /// synthetic vectors; with `model.path` or `model.head` set, or without `int8Version` (see
    /// `init`), dlib's float32 version.
    public static func versionForNewStore(_ configuration: NetraConfiguration, int8Version: String?) -> String {
        guard configuration.model.path.isEmpty, configuration.model.head.isEmpty, let int8Version,
              let (precision, _) = try? resolve(configuration.model.precision, store: StoreFaces(path: "", countsByModelVersion: [:]),
                                                directory: configuration.modelDirectory, modelDirectory: configuration.model.dir)
        else { return version(of: nil) }
        return precision == .int8 ? int8Version : version(of: nil)
    }

    /// Whether faces of `modelVersion` were enrolled with an int8 build of dlib's models (that of
    /// `netra models fetch`, `<f32 version>-int8-<scales>`, whatever scales it was built from).
    public static func isInt8Version(_ modelVersion: String) -> Bool {
        modelVersion.hasPrefix(version(of: nil) + "-int8")
    }

    /// `model.precision` applied to a store's faces: the build to run and why, in words.
    static func resolve(_ requested: Precision, store: StoreFaces?, directory: URL,
                        modelDirectory: String) throws(ConfigurationError) -> (Precision, String) {
        let f32Faces = store?.countsByModelVersion[version(of: nil)] ?? 0
        let int8Faces = store?.countsByModelVersion.filter { isInt8Version($0.key) }.values.reduce(0, +) ?? 0
        let bundlePath = directory.appendingPathComponent(ModelCatalog.int8BundleName).path
        let bundleExists = FileManager.default.fileExists(atPath: bundlePath)
        switch requested {
        case .f32:
            if int8Faces > f32Faces, let store {
                throw ConfigurationError("model.precision is f32, but the store \(store.path) holds \(int8Faces) face(s) enrolled with the "
                    + "int8 model (and \(f32Faces) with f32), which f32 never searches: keep int8 (model.precision auto or int8; "
                    + "run netra models fetch if \(bundlePath) is missing), or re-enroll them")
            }
            return (.f32, "model.precision f32")
        case .int8:
            if f32Faces > 0, let store {
                throw ConfigurationError("model.precision is int8, but the store \(store.path) holds \(f32Faces) face(s) enrolled with the "
                    + "f32 model (\(version(of: nil))), which int8 never searches: re-enroll them, or keep f32 (model.precision auto or f32)")
            }
            guard bundleExists else {
                throw ConfigurationError("model.precision is int8, but \(bundlePath) is missing: run netra models fetch")
            }
            return (.int8, "model.precision int8")
        case .auto:
            guard let store else { return (.f32, "model.precision auto runs float32 without a store") }
            if f32Faces > int8Faces {
                return (.f32, "the store \(store.path) holds \(f32Faces) face(s) enrolled with f32, and a store keeps its model "
                    + "(model.precision auto; re-enroll them to move to int8)")
            }
            guard bundleExists else {
                if int8Faces > 0 {
                    throw ConfigurationError("the store \(store.path) holds \(int8Faces) face(s) enrolled with int8, which f32 never "
                        + "searches, but \(bundlePath) is missing: run netra models fetch")
                }
                return (.f32, "\(bundlePath) is missing (run netra models fetch to serve int8; model.precision auto)")
            }
            return (.int8, int8Faces > 0 ? "the store \(store.path) holds \(int8Faces) face(s) enrolled with int8 (model.precision auto)"
                : "the store \(store.path) holds no f32 faces (model.precision auto)")
        }
    }

    /// The model version of dlib's backbone with `head` (or without one).
    public static func version(of head: EmbeddingHeadFile?) -> String {
        modelVersion(embedderSHA256: ModelCatalog.embedder.sha256, headSHA256: head?.headSHA256)
    }

    /// The embedder version string recorded with each face: the backbone file's hash prefix,
    /// and the trained head's when there is one. Faces of other versions are never searched.
    public static func modelVersion(embedderSHA256: String, headSHA256: String? = nil) -> String {
        "dlib-resnet-v1-" + embedderSHA256.prefix(12) + (headSHA256.map { "-head-" + $0.prefix(12) } ?? "")
    }

    /// The detector `model.detector` names: `nil` for MMOD (the analyzer loads it from the model
    /// files or bundle), else YuNet from `model.dir/yunet/` with `model.yunet_min_score`.
    public let detector: DetectorKind
    /// YuNet's score threshold (`model.yunet_min_score`).
    public let yunetMinimumScore: Float
    /// The range `model.yunet_min_score` must lie in: below 0.2 the library reports nothing more.
    public static let yunetMinimumScoreRange: ClosedRange<Double> = 0.2...1

    /// The face analyzer of these models: the bundle's networks, or dlib's files of `directory`
    /// with the head if any, and the detector `model.detector` names.
    ///
    /// - Parameters:
    ///   - threads: the compute threads of the networks (and of YuNet).
    ///   - flipAveraged: average each descriptor with that of the mirrored chip.
    ///   - jitterCount: also average over this many jittered copies of each chip.
    public func makeAnalyzer(threads: Int, flipAveraged: Bool = false, jitterCount: Int = 0) throws(ConfigurationError) -> FaceAnalyzer {
        do {
            let detector: (any FaceDetecting)? = switch self.detector {
            case .mmod: nil
            case .yunet: try YuNetFaceDetector(libraryFile: directory.appendingPathComponent(ModelCatalog.yunetLibrary.fileName),
                                               threads: threads, minimumScore: yunetMinimumScore)
            }
            if let bundle {
                return try FaceAnalyzer(bundle: bundle, threads: threads, flipAveraged: flipAveraged, jitterCount: jitterCount, detector: detector)
            }
            return try FaceAnalyzer(modelDirectory: directory, head: headFile?.head, threads: threads, flipAveraged: flipAveraged,
                                    jitterCount: jitterCount, detector: detector)
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    private static func load<Value>(_ key: String, _ body: () throws(VisionError) -> Value) throws(ConfigurationError) -> Value {
        do {
            return try body()
        } catch {
            throw ConfigurationError("\(error) (\(key))")
        }
    }

    /// The threshold of a calibration file from `netra evaluate --calibrate-far`, which must
    /// have been measured with this model version.
    private static func calibratedThreshold(_ path: String, modelVersion: String) throws(ConfigurationError) -> Float {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let threshold = (object["threshold"] as? NSNumber)?.floatValue, (0...1).contains(threshold)
        else {
            throw ConfigurationError(source: path, problem: "is not a NETRA calibration file (model.calibration)")
        }
        if let measuredWith = object["model_version"] as? String, measuredWith != modelVersion {
            throw ConfigurationError("calibration \(path) was measured with model version \(measuredWith), not \(modelVersion); calibrate again")
        }
        return threshold
    }
}
