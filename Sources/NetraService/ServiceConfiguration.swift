import Foundation
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraStore
import NetraVision

/// Everything the HTTP service needs to know, assembled by the command line from
/// `configs/config.yaml`, `NETRA_*` variables and flags.
public struct ServiceConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// Requests with a larger body are refused with 413.
    public var maxBodyBytes = 10 * 1024 * 1024
    /// Request bodies received at once (beyond that 503), and the time one may take to arrive.
    public var maxConcurrentUploads = 32
    public var bodyTimeout = Duration.seconds(60)
    /// Connections idle this long (a request line or headers never finished included) are closed.
    public var idleTimeout = Duration.seconds(30)
    public var decodingLimits = DecodingLimits.default
    /// Default similarity threshold for verify and identify.
    public var threshold: Float = FaceComparison.defaultThreshold
    public var detection = DetectionOptions()
    public var identifyTopK = 5
    /// The most candidates per face a request may ask identify for (`top_k`).
    public var identifyMaxTopK = 20
    public var enrollment = EnrollmentPolicy()
    /// When false, requests need no API key (allowed only on loopback addresses).
    public var requireAPIKey = false
    /// Token bucket per API key (or client address): sustained requests per second and burst.
    public var rateLimitPerSecond = 10.0
    public var rateLimitBurst = 20
    /// Requests analysed at once, and how many more may wait before the service answers 503.
    public var visionWorkers = 2
    public var queueDepth = 8
    /// Accepted `Host` header names (without port); empty accepts any. Bound to loopback with
    /// none configured, only the loopback names are accepted (no DNS rebinding).
    public var allowedHosts: [String] = []
    /// The compatible APIs' settings (`compat.*`).
    public var compat = NetraConfiguration.Compat()
    /// The web console's settings (`console.*`).
    public var console = NetraConfiguration.Console()
    /// The liveness check's settings (`liveness.*`).
    public var liveness = NetraConfiguration.Liveness()
    /// The model version in force, as `/api/v1/info` reports it.
    public var modelVersion = ""
    /// Where the threshold came from (configuration, calibration file, default), for `/api/v1/info`.
    public var thresholdSource = "built-in default"
    /// The face detector in force (`model.detector`), for `/api/v1/info`.
    public var detector = "mmod"

    public init() {}

    /// The names a browser on this machine uses for a service bound to loopback.
    public static let loopbackHostNames = ["localhost", "127.0.0.1", "::1"]

    /// The service as the configuration sets it up, with the threshold of the models in force.
    public init(_ configuration: NetraConfiguration, threshold: Float) {
        let app = configuration.app
        host = app.host
        port = app.port
        maxBodyBytes = app.maxBodyBytes
        maxConcurrentUploads = max(1, app.maxConcurrentUploads)
        bodyTimeout = .milliseconds(Int64(max(0.1, app.bodyTimeoutSeconds) * 1000))
        idleTimeout = .milliseconds(Int64(max(0.1, app.idleTimeoutSeconds) * 1000))
        decodingLimits = configuration.decodingLimits
        self.threshold = threshold
        detection = configuration.detectionOptions()
        identifyTopK = app.identifyTopK
        identifyMaxTopK = min(100, max(1, app.identifyMaxTopK))
        enrollment = configuration.enrollmentPolicy(threshold: threshold)
        requireAPIKey = app.requireApiKey
        rateLimitPerSecond = app.rateLimitPerSecond
        rateLimitBurst = app.rateLimitBurst
        visionWorkers = app.workers > 0 ? app.workers : ProcessInfo.processInfo.activeProcessorCount
        queueDepth = app.queueDepth
        allowedHosts = app.allowedHosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if allowedHosts.isEmpty, DeploymentRules.isLoopback(host) { allowedHosts = Self.loopbackHostNames }
        compat = configuration.compat
        console = configuration.console
        liveness = configuration.liveness
    }
}

extension ServiceConfiguration {
    /// Request images decoded under the configured limits, with HTTP errors.
    var imageDecoder: RequestImageDecoder { RequestImageDecoder(decoder: ImageDecoder(limits: decodingLimits)) }

    /// The liveness check's rules: the configured turn, the match threshold as the same-person bound.
    var livenessPolicy: LivenessPolicy {
        var policy = LivenessPolicy()
        policy.turnYaw = liveness.turnYaw
        policy.challengeLifetime = liveness.challengeSeconds
        policy.maxDistance = FaceDescriptor.distance(forSimilarity: threshold)
        return policy
    }

    /// The vision step of every route, with the configured detection settings.
    func finder(_ loaded: ServiceState.Loaded) -> FaceFinder {
        FaceFinder(analyzer: loaded.analyzer, detection: detection)
    }
}
