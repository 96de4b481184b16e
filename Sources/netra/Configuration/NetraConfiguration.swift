import Foundation
import Logging
import NetraImaging
import Yams

/// NETRA's settings: `configs/config.yaml` over built-in defaults, each key overridable by an
/// environment variable `NETRA_<SECTION>_<KEY>` (e.g. `model.dir` by `NETRA_MODEL_DIR`).
struct NetraConfiguration: Codable, Equatable, Sendable {
    var app = App()
    var model = Model()
    var data = DataSection()
    var training = Training()

    struct App: Codable, Equatable, Sendable {
        /// Address and port `netra serve` listens on.
        var host = "127.0.0.1"
        var port = 8000
        /// Requests analysed at once (0 = one per core) and how many more may wait before 503.
        var workers = 0
        var queueDepth = 8
        /// Larger request bodies are refused with 413.
        var maxBodyBytes = 10 * 1024 * 1024
        /// Whether every API request needs an X-API-Key (required off loopback).
        var requireApiKey = false
        /// Token bucket per API key or client address.
        var rateLimitPerSecond = 10.0
        var rateLimitBurst = 20
        /// Comma-separated Host names the service answers; empty answers any.
        var allowedHosts = ""
        /// Candidates per face from identify.
        var identifyTopK = 5
        /// swift-log level name: trace, debug, info, notice, warning, error, critical.
        var logLevel = "info"
        /// Largest accepted encoded image, bytes.
        var maxImageBytes = DecodingLimits.default.maxEncodedBytes
        /// Largest accepted image, megapixels (width * height / 1e6).
        var maxImageMegapixels = Double(DecodingLimits.default.maxPixels) / 1_000_000

        enum CodingKeys: String, CodingKey {
            case host, port, workers
            case queueDepth = "queue_depth"
            case maxBodyBytes = "max_body_bytes"
            case requireApiKey = "require_api_key"
            case rateLimitPerSecond = "rate_limit_per_second"
            case rateLimitBurst = "rate_limit_burst"
            case allowedHosts = "allowed_hosts"
            case identifyTopK = "identify_top_k"
            case logLevel = "log_level"
            case maxImageBytes = "max_image_bytes"
            case maxImageMegapixels = "max_image_megapixels"
        }
    }

    struct Model: Codable, Equatable, Sendable {
        /// Folder holding the dlib model files, relative to the working directory.
        var dir = "models"
        /// Folder keeping the downloaded model archive between runs; `~` is expanded.
        var cacheDir = "~/.cache/netra"
        /// Compute threads per call; 0 means one per core.
        var threads = 0
        /// Similarity (`max(0, 1 - distance / 2)`) at or above which two faces match.
        var threshold = 0.7
        /// Detector upsampling: each step finds faces half as large, at four times the cost.
        var upsample = 0
        /// The detector never runs on more megapixels than this (larger images are upsampled
        /// less or shrunk first), bounding its memory and time; 0 places no bound.
        var maxDetectionMegapixels = 4.0
        /// Calibration file written by `netra evaluate --calibrate-far`; when set, its threshold
        /// replaces `threshold` (and a trained head's own).
        var calibration = ""
        /// Enrollment quality gate: smallest face box side, pixels.
        var enrollMinFace = 80
        /// Enrollment quality gate: smallest detector confidence.
        var enrollMinConfidence = 0.5
        /// Embedding head file written by `netra train`; empty runs dlib's model unchanged.
        var head = ""
        /// Model bundle written by `netra export`; when set it replaces `dir` and `head`.
        var path = ""

        enum CodingKeys: String, CodingKey {
            case dir
            case cacheDir = "cache_dir"
            case threads, threshold, upsample, calibration, head, path
            case maxDetectionMegapixels = "max_detection_megapixels"
            case enrollMinFace = "enroll_min_face"
            case enrollMinConfidence = "enroll_min_confidence"
        }
    }

    /// `netra train`'s defaults (its flags override them).
    struct Training: Codable, Equatable, Sendable {
        /// Folder with one subfolder of photos per person.
        var data = "data/train"
        /// Validation folder of the same shape; empty holds out `valFraction` of the training people.
        var val = ""
        var valFraction = 0.2
        var epochs = 30
        var batchSize = 32
        var learningRate = 0.0001
        /// Contrastive loss margin: different people are pushed at least this far apart.
        var margin = 1.0
        /// Epochs without a better validation loss before stopping.
        var patience = 5
        /// Folder the trained head and its model card are written to.
        var outputDir = "models"
        /// Seed for the validation split and the batch order.
        var seed = 1

        enum CodingKeys: String, CodingKey {
            case data, val, epochs, margin, patience, seed
            case valFraction = "val_fraction"
            case batchSize = "batch_size"
            case learningRate = "learning_rate"
            case outputDir = "output_dir"
        }
    }

    struct DataSection: Codable, Equatable, Sendable {
        /// The identity database (SQLite).
        var db = "data/netra.db"
        /// Key file used when neither NETRA_SECRET_KEY nor NETRA_KEY_FILE is set; empty means
        /// `<db folder>/netra.key`, created (mode 0600) on first use as a development default.
        var keyFile = ""

        enum CodingKeys: String, CodingKey {
            case db
            case keyFile = "key_file"
        }
    }
}

extension NetraConfiguration {
    /// The config file used when none is named: this one if it exists, else the defaults.
    static let defaultPath = "configs/config.yaml"

    /// Loads `path` (or `defaultPath` when it exists), then applies `NETRA_*` variables.
    static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> NetraConfiguration {
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
        do {
            return try YAMLDecoder().decode(NetraConfiguration.self, from: merged)
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.dataCorrupted(context) {
            let key = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ConfigurationError(source: filePath ?? "environment", problem: "has an invalid value for \(key)")
        }
    }

    /// The image limits in force.
    var decodingLimits: DecodingLimits {
        DecodingLimits(maxEncodedBytes: app.maxImageBytes, maxPixels: Int(app.maxImageMegapixels * 1_000_000))
    }

    var logLevel: Logger.Level { Logger.Level(rawValue: app.logLevel) ?? .info }

    var modelDirectory: URL { URL(fileURLWithPath: model.dir) }

    /// `model.max_detection_megapixels` as a pixel bound (`nil` for 0, no bound).
    var maxDetectionPixels: Int? { model.maxDetectionMegapixels > 0 ? max(1, Int(model.maxDetectionMegapixels * 1_000_000)) : nil }

    /// Compute threads per call, with 0 resolved to the number of cores.
    var computeThreads: Int { model.threads > 0 ? model.threads : ProcessInfo.processInfo.activeProcessorCount }

    var cacheDirectory: URL { URL(fileURLWithPath: NSString(string: model.cacheDir).expandingTildeInPath) }

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

/// A configuration file or variable NETRA cannot use.
struct ConfigurationError: Error, CustomStringConvertible {
    let source: String
    let problem: String

    var description: String { "configuration \(source) \(problem)" }
}
