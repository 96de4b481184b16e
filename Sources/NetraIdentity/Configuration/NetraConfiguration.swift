import Foundation
import Logging
import NetraImaging
import NetraVision
import Yams

/// NETRA's settings: `configs/config.yaml` over built-in defaults, each key overridable by an
/// environment variable `NETRA_<SECTION>_<KEY>` (e.g. `model.dir` by `NETRA_MODEL_DIR`).
public struct NetraConfiguration: Codable, Equatable, Sendable {
    public init() {}

    public var app = App()
    public var model = Model()
    public var data = DataSection()
    public var training = Training()
    public var compat = Compat()
    public var console = Console()
    public var liveness = Liveness()

    /// The web console at `/console` (docs/console.md).
    public struct Console: Codable, Equatable, Sendable {
        /// The defaults of `configs/config.yaml`.
        public init() {}

        /// Whether `/console` (and the redirect of `/`) is served.
        public var enabled = true
        /// How long a signed-in console session lasts.
        public var sessionHours = 8.0
        /// Marks the session cookie `Secure` (send it over HTTPS only): set it when a TLS proxy
        /// is in front of NETRA.
        public var secureCookie = false

        enum CodingKeys: String, CodingKey {
            case enabled
            case sessionHours = "session_hours"
            case secureCookie = "secure_cookie"
        }
    }

    /// The active liveness check (README, "Liveness").
    public struct Liveness: Codable, Equatable, Sendable {
        /// The defaults of `configs/config.yaml`.
        public init() {}

        /// Whether enrollment from a console session needs a passed challenge.
        public var requiredForEnroll = false
        /// Whether verify from a console session needs a passed challenge (of `image2`'s person).
        public var requiredForVerify = false
        /// |yaw| (inter-eye distances) at which the head counts as turned.
        public var turnYaw = LivenessPolicy().turnYaw
        /// Seconds a challenge may be answered in (its frames must arrive by then).
        public var challengeSeconds = LivenessPolicy().challengeLifetime

        enum CodingKeys: String, CodingKey {
            case requiredForEnroll = "required_for_enroll"
            case requiredForVerify = "required_for_verify"
            case turnYaw = "turn_yaw"
            case challengeSeconds = "challenge_seconds"
        }
    }

    /// The CompreFace- and DeepStack-compatible APIs (docs/compatibility.md).
    public struct Compat: Codable, Equatable, Sendable {
        public init() {}

        /// Whether `/api/v1/recognition|detection|verification` and `/v1/vision/face` are served.
        public var enabled = true
        /// Whether CompreFace's `calculator` plugin returns embeddings (biometric templates).
        public var exposeEmbeddings = false
        /// Never name a subject beyond NETRA's threshold, whatever a client asks; false gives
        /// the peers' "always the nearest" answers.
        public var strictUnknown = true
        /// `Access-Control-Allow-Origin` of the compatible routes and their preflight; empty: none.
        public var corsOrigin = "*"

        enum CodingKeys: String, CodingKey {
            case enabled
            case exposeEmbeddings = "expose_embeddings"
            case strictUnknown = "strict_unknown"
            case corsOrigin = "cors_origin"
        }
    }

    public struct App: Codable, Equatable, Sendable {
        public init() {}

        /// Address and port `netra serve` listens on.
        public var host = "127.0.0.1"
        public var port = 8000
        /// Requests analysed at once (0 = one per core) and how many more may wait before 503.
        public var workers = 0
        public var queueDepth = 8
        /// Larger request bodies are refused with 413.
        public var maxBodyBytes = 10 * 1024 * 1024
        /// Request bodies received at once (beyond that 503), and the time one may take to arrive.
        public var maxConcurrentUploads = 32
        public var bodyTimeoutSeconds = 60.0
        /// A connection with no request for this long (including a request line or headers
        /// never finished) is closed.
        public var idleTimeoutSeconds = 30.0
        /// Whether every API request needs an X-API-Key (required off loopback).
        public var requireApiKey = false
        /// Token bucket per API key or client address.
        public var rateLimitPerSecond = 10.0
        public var rateLimitBurst = 20
        /// Comma-separated Host names the service answers; empty answers any.
        public var allowedHosts = ""
        /// Candidates per face from identify, and the most a request may ask for.
        public var identifyTopK = 5
        public var identifyMaxTopK = 20
        /// swift-log level name: trace, debug, info, notice, warning, error, critical.
        public var logLevel = "info"
        /// Largest accepted encoded image, bytes.
        public var maxImageBytes = DecodingLimits.default.maxEncodedBytes
        /// Largest accepted image, megapixels (width * height / 1e6).
        public var maxImageMegapixels = Double(DecodingLimits.default.maxPixels) / 1_000_000

        enum CodingKeys: String, CodingKey {
            case host, port, workers
            case queueDepth = "queue_depth"
            case maxBodyBytes = "max_body_bytes"
            case maxConcurrentUploads = "max_concurrent_uploads"
            case bodyTimeoutSeconds = "body_timeout_seconds"
            case idleTimeoutSeconds = "idle_timeout_seconds"
            case requireApiKey = "require_api_key"
            case rateLimitPerSecond = "rate_limit_per_second"
            case rateLimitBurst = "rate_limit_burst"
            case allowedHosts = "allowed_hosts"
            case identifyTopK = "identify_top_k"
            case identifyMaxTopK = "identify_max_top_k"
            case logLevel = "log_level"
            case maxImageBytes = "max_image_bytes"
            case maxImageMegapixels = "max_image_megapixels"
        }
    }

    public struct Model: Codable, Equatable, Sendable {
        public init() {}

        /// Folder holding the dlib model files, relative to the working directory.
        public var dir = "models"
        /// Folder keeping the downloaded model archive between runs; `~` is expanded.
        public var cacheDir = "~/.cache/netra"
        /// Compute threads per call; 0 means one per core.
        public var threads = 0
        /// Similarity (`max(0, 1 - distance / 2)`) at or above which two faces match.
        public var threshold = 0.7
        /// Detector upsampling: each step finds faces half as large, at four times the cost.
        public var upsample = 0
        /// The detector never runs on more megapixels than this (larger images are upsampled
        /// less or shrunk first), bounding its memory and time; 0 places no bound.
        public var maxDetectionMegapixels = 4.0
        /// Calibration file written by `netra evaluate --calibrate-far`; when set, its threshold
        /// replaces `threshold` (and a trained head's own).
        public var calibration = ""
        /// Enrollment quality gate: smallest face box side, pixels.
        public var enrollMinFace = 80
        /// Enrollment quality gate: smallest detector confidence.
        public var enrollMinConfidence = 0.5
        /// Embedding head file written by `netra train`; empty runs dlib's model unchanged.
        public var head = ""
        /// Model bundle written by `netra export`; when set it replaces `dir` and `head`.
        public var path = ""
        /// Which build of `dir`'s models runs when neither `path` nor `head` is set (`ModelSelection`).
        public var precision = Precision.auto
        /// The face detector: `mmod` (dlib's, the reference) or `yunet` (libfacedetection's,
        /// 20x lighter, read from `dir/yunet/`); see README's detector trade.
        public var detector = DetectorKind.mmod
        /// YuNet faces scoring below this are not reported (0.2 to 1; the default is fitted on
        /// photos that are not test photos, see `YuNetBoxMapping.fitted`).
        public var yunetMinScore = Double(YuNetBoxMapping.fitted.scoreThreshold)

        /// `model.precision`: the int8 bundle `netra models fetch` builds (`dlib-int8.netra`), or
        /// dlib's float32 files.
        public enum Precision: String, Codable, Sendable, CaseIterable {
            /// int8 for a store with no float32 faces (a fresh install), else float32: a store
            /// keeps the model its faces were enrolled with. Commands without a store run float32.
            case auto
            /// The int8 bundle; refused on a store holding float32 faces.
            case int8
            /// dlib's float32 files: exactly dlib's computation.
            case f32
        }

        enum CodingKeys: String, CodingKey {
            case dir
            case cacheDir = "cache_dir"
            case threads, threshold, upsample, calibration, head, path, precision, detector
            case yunetMinScore = "yunet_min_score"
            case maxDetectionMegapixels = "max_detection_megapixels"
            case enrollMinFace = "enroll_min_face"
            case enrollMinConfidence = "enroll_min_confidence"
        }
    }

    /// `netra train`'s defaults (its flags override them).
    public struct Training: Codable, Equatable, Sendable {
        public init() {}

        /// Folder with one subfolder of photos per person.
        public var data = "data/train"
        /// Validation folder of the same shape; empty holds out `valFraction` of the training people.
        public var val = ""
        public var valFraction = 0.2
        public var epochs = 30
        public var batchSize = 32
        public var learningRate = 0.0001
        /// Contrastive loss margin: different people are pushed at least this far apart.
        public var margin = 1.0
        /// Epochs without a better validation loss before stopping.
        public var patience = 5
        /// Folder the trained head and its model card are written to.
        public var outputDir = "models"
        /// Seed for the validation split and the batch order.
        public var seed = 1

        enum CodingKeys: String, CodingKey {
            case data, val, epochs, margin, patience, seed
            case valFraction = "val_fraction"
            case batchSize = "batch_size"
            case learningRate = "learning_rate"
            case outputDir = "output_dir"
        }
    }

    public struct DataSection: Codable, Equatable, Sendable {
        public init() {}

        /// The identity database (SQLite), used when `url` is empty.
        public var db = "data/netra.db"
        /// A PostgreSQL store instead, `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE`
        /// (`StoreLocation`), shared by several replicas; never with a password in it.
        public var url = ""
        /// File holding the PostgreSQL password (mode 0600 or stricter), read when
        /// NETRA_DATA_PASSWORD is unset; the password is never part of the configuration.
        public var passwordFile = ""
        /// Key file used when neither NETRA_SECRET_KEY nor NETRA_KEY_FILE is set; empty means
        /// `<db folder>/netra.key`, created (mode 0600) on first use as a development default
        /// (a PostgreSQL store has no such default: it needs a key configured).
        public var keyFile = ""

        enum CodingKeys: String, CodingKey {
            case db, url
            case passwordFile = "password_file"
            case keyFile = "key_file"
        }
    }
}

extension NetraConfiguration {
    /// The config file used when none is named: this one if it exists, else the defaults.
    public static let defaultPath = "configs/config.yaml"

    /// Loads `path` (or `defaultPath` when it exists), then applies `NETRA_*` variables.
    public static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NetraConfiguration {
        guard var merged = try Yams.compose(yaml: YAMLEncoder().encode(NetraConfiguration())) else {
            preconditionFailure("the default configuration always encodes to a mapping")
        }
        let filePath = path ?? environment["NETRA_CONFIG"] ?? environment["CONFIG_PATH"] ?? (FileManager.default.fileExists(atPath: defaultPath) ? defaultPath : nil)
        if let filePath {
            let text: String
            do {
                text = try String(contentsOfFile: filePath, encoding: .utf8)
            } catch {
                throw ConfigurationError(source: filePath, problem: "cannot be read")
            }
            let file: Node?
            do {
                file = try Yams.compose(yaml: text)
            } catch {
                throw ConfigurationError(source: filePath, problem: "is not valid YAML: \(error)")
            }
            if let file { try overlay(file, onto: &merged, source: filePath) }
        }
        try overlayEnvironment(environment, onto: &merged)
        if let hosts = environment["NETRA_ALLOWED_HOSTS"], var sections = merged.mapping, var app = sections["app"]?.mapping {
            app["allowed_hosts"] = Node(hosts)
            sections["app"] = .mapping(app)
            merged = .mapping(sections)
        }
        let configuration: NetraConfiguration
        do {
            configuration = try YAMLDecoder().decode(NetraConfiguration.self, from: merged)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(source: filePath ?? "environment", problem: "has an invalid value for \(key)")
        }
        // A data.url NETRA cannot use is refused here, before any command acts on it.
        _ = try configuration.postgresLocation
        return configuration
    }

    /// The image limits in force.
    public var decodingLimits: DecodingLimits {
        DecodingLimits(maxEncodedBytes: app.maxImageBytes, maxPixels: Int(app.maxImageMegapixels * 1_000_000))
    }

    public var logLevel: Logger.Level { Logger.Level(rawValue: app.logLevel) ?? .info }

    public var modelDirectory: URL { URL(fileURLWithPath: model.dir) }

    /// `model.max_detection_megapixels` as a pixel bound (`nil` for 0, no bound).
    public var maxDetectionPixels: Int? { model.maxDetectionMegapixels > 0 ? max(1, Int(model.maxDetectionMegapixels * 1_000_000)) : nil }

    /// Compute threads per call, with 0 resolved to the number of cores.
    public var computeThreads: Int { model.threads > 0 ? model.threads : ProcessInfo.processInfo.activeProcessorCount }

    public var cacheDirectory: URL { URL(fileURLWithPath: NSString(string: model.cacheDir).expandingTildeInPath) }

    /// Copies every `section.key` of `file` into `base`; keys `base` does not have are errors,
    /// so a misspelt key is reported instead of silently ignored.
    private static func overlay(_ file: Node, onto base: inout Node, source: String) throws {
        guard let sections = file.mapping, var baseSections = base.mapping else {
            throw ConfigurationError(source: source, problem: "must be a mapping of sections")
        }
        for (sectionName, sectionNode) in sections {
            let section = sectionName.string ?? ""
            guard var baseKeys = baseSections[section]?.mapping else {
                throw ConfigurationError(source: source, problem: "has an unknown section '\(section)'")
            }
            guard let keys = sectionNode.mapping else {
                throw ConfigurationError(source: source, problem: "section '\(section)' must be a mapping")
            }
            for (keyName, value) in keys {
                let key = keyName.string ?? ""
                guard baseKeys[key] != nil else {
                    throw ConfigurationError(source: source, problem: "has an unknown key '\(section).\(key)'")
                }
                baseKeys[key] = value
            }
            baseSections[section] = .mapping(baseKeys)
        }
        base = .mapping(baseSections)
    }

    private static func overlayEnvironment(_ environment: [String: String], onto base: inout Node) throws {
        guard var sections = base.mapping else { return }
        for (sectionName, sectionNode) in sections {
            guard let section = sectionName.string, var keys = sectionNode.mapping else { continue }
            for (keyName, _) in keys {
                guard let key = keyName.string else { continue }
                let variable = "NETRA_\(section.uppercased())_\(key.uppercased())"
                if let value = environment[variable] { keys[key] = Node(value) }
            }
            sections[section] = .mapping(keys)
        }
        base = .mapping(sections)
    }
}

/// A configuration NETRA cannot run with: a file or variable it cannot use, or settings that
/// break a rule (see `DeploymentRules`). The message names what to fix.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let message: String

    /// A problem with one source: `configuration <source> <problem>`.
    public init(source: String, problem: String) {
        message = "configuration \(source) \(problem)"
    }

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

extension NetraConfiguration {
    /// How hard to look for faces, as configured (`model.upsample`, `model.max_detection_megapixels`),
    /// with a request's own upsampling or smallest face where it gives them.
    public func detectionOptions(upsample: Int? = nil, minFaceSize: Int? = nil) -> DetectionOptions {
        DetectionOptions(upsample: upsample ?? model.upsample, minFaceSize: minFaceSize, maxPixels: maxDetectionPixels)
    }

    /// The enrollment rules as configured, with the match threshold of the models in force
    /// (also the look-alike warning's threshold).
    public func enrollmentPolicy(threshold: Float) -> EnrollmentPolicy {
        EnrollmentPolicy(minFaceSize: model.enrollMinFace, minConfidence: model.enrollMinConfidence,
                         matchThreshold: threshold, duplicateThreshold: threshold)
    }
}
