import ArgumentParser
import Foundation
import Logging
import NetraService
import NetraStore
import NetraVision
import ServiceLifecycle

/// `netra serve`: NETRA's HTTP API.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP API (verify, detect, enroll, identify, subjects, health, metrics)."
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Address to listen on (default: app.host, 127.0.0.1).") var host: String?
    @Option(name: .long, help: "Port to listen on (default: app.port, 8000).") var port: Int?
    @Option(name: .long, help: "The identity database (default: data.db, data/netra.db).") var db: String?

    func run() async throws {
        try await Self.reportingFailures {
            let configuration = try global.loadConfiguration()
            let models = try ModelSelection(configuration)
            let service = serviceConfiguration(configuration, threshold: models.matchThreshold)
            let path = db ?? configuration.data.db
            let key = try startupKey(configuration, service: service, databasePath: path)

            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
            let logger = Logger(label: "netra")
            let state = ServiceState()
            let loader = LoaderService(state: state, logger: logger) {
                let analyzer = try models.makeAnalyzer(threads: 1)
                let store = try FaceStore(path: path, key: key, modelVersion: models.modelVersion, actor: "api")
                StoreSession.reportLoadProblems(store.loadReport)
                logger.info("loaded \(store.index.count) faces from \(path)")
                return ServiceState.Loaded(analyzer: analyzer, store: store)
            }
            let application = buildApplication(configuration: service, state: state, services: [loader], logger: logger)
            logger.info("NETRA starting on \(service.host):\(service.port) (API keys \(service.requireAPIKey ? "required" : "optional"))")
            try await application.runService()
        }
    }

    private func serviceConfiguration(_ configuration: NetraConfiguration, threshold: Float) -> ServiceConfiguration {
        var service = ServiceConfiguration()
        let app = configuration.app, model = configuration.model
        service.host = host ?? app.host
        service.port = port ?? app.port
        service.maxBodyBytes = app.maxBodyBytes
        service.decodingLimits = configuration.decodingLimits
        service.threshold = threshold
        service.detection = DetectionOptions(upsample: model.upsample, maxPixels: configuration.maxDetectionPixels)
        service.identifyTopK = app.identifyTopK
        service.enrollment = EnrollmentPolicy(minFaceSize: model.enrollMinFace, minConfidence: model.enrollMinConfidence,
                                              matchThreshold: threshold, duplicateThreshold: threshold)
        service.requireAPIKey = app.requireApiKey
        service.rateLimitPerSecond = app.rateLimitPerSecond
        service.rateLimitBurst = app.rateLimitBurst
        service.visionWorkers = app.workers > 0 ? app.workers : ProcessInfo.processInfo.activeProcessorCount
        service.queueDepth = app.queueDepth
        service.allowedHosts = app.allowedHosts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return service
    }

    /// The store key; off loopback it must be configured explicitly and API keys required.
    private func startupKey(_ configuration: NetraConfiguration, service: ServiceConfiguration, databasePath: String) throws -> KeySource {
        guard !service.isLoopback else { return try StoreSession.key(for: databasePath, configuration: configuration) }
        guard service.requireAPIKey else {
            throw CommandFailure(message: "refusing to listen on \(service.host) without API keys: set app.require_api_key: true "
                + "(NETRA_APP_REQUIRE_API_KEY=true) and create keys with `netra apikeys create`", exitCode: .failure)
        }
        do {
            if let key = try KeySource.fromEnvironment() { return key }
            if !configuration.data.keyFile.isEmpty { return try KeySource.read(keyFile: configuration.data.keyFile) }
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
        throw CommandFailure(message: "refusing to listen on \(service.host) with a development key: set NETRA_SECRET_KEY, "
            + "NETRA_KEY_FILE or data.key_file", exitCode: .failure)
    }
}

/// Loads the models and the store after the server has started, then stays until shutdown.
struct LoaderService: Service {
    let state: ServiceState
    let logger: Logger
    let load: @Sendable () throws -> ServiceState.Loaded

    func run() async throws {
        let result = await Task.detached { Result { try load() } }.value
        if case let .failure(error) = result {
            logger.critical("NETRA could not load: \(error)")
        }
        state.finishLoading(result)
        try? await gracefulShutdown()
    }
}
