import ArgumentParser
import Foundation
import Logging
import NetraIdentity
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
    @Option(name: .long, help: "A SQLite identity database (default: data.url's PostgreSQL store if set, else data.db, data/netra.db).")
    var db: String?

    func run() async throws {
        try await Self.reportingFailures {
            let configuration = try global.loadConfiguration()
            let location = try StoreLocation.configured(configuration, databasePath: db)
            // Before the logging system starts: a SQLite store whose faces cannot be counted is
            // reported again (and in full) by the loader when it fails to open; a PostgreSQL store
            // that cannot be read (unreachable, a wrong password) stops the service here.
            var countWarning: String?
            let faces = try ModelSelection.StoreFaces.read(location) { countWarning = $0 }
            let models = try ModelSelection(configuration, store: faces, int8Version: ModelSelection.fetchedInt8Version)
            var service = ServiceConfiguration(configuration, threshold: models.matchThreshold)
            service.host = host ?? service.host
            service.port = port ?? service.port
            service.modelVersion = models.modelVersion
            service.thresholdSource = models.thresholdSource
            service.detector = models.detector.rawValue
            try DeploymentRules.checkListening(host: service.host, requireAPIKey: service.requireAPIKey)
            try DeploymentRules.checkLiveness(configuration.liveness, requireAPIKey: service.requireAPIKey)
            try DeploymentRules.checkConsole(configuration.console)
            let key = try StoreSession.key(for: location, configuration: configuration, listeningOn: service.host)
            let rotationKeys = try StoreSession.newKey().map { [$0] } ?? []

            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = configuration.logLevel
                return handler
            }
            let logger = Logger(label: "netra")
            let state = ServiceState()
            let loader = LoaderService(state: state, logger: logger) {
                let analyzer = try models.makeAnalyzer(threads: 1)
                let store = try location.open(key: key, additionalKeys: rotationKeys, modelVersion: models.modelVersion, actor: "api")
                StoreSession.reportLoadProblems(store.loadReport)
                logger.info("loaded \(store.index.count) faces from \(location)")
                // Other replicas share a PostgreSQL store: follow their changes (ready once subscribed).
                (store as? PostgresStore)?.followChanges()
                return ServiceState.Loaded(analyzer: analyzer, store: store)
            }
            let application = buildApplication(configuration: service, state: state, services: [loader], logger: logger)
            if service.console.enabled, !service.console.secureCookie, !DeploymentRules.isLoopback(service.host) {
                logger.warning("the console's session cookie is sent over plain HTTP too: behind a TLS proxy, set console.secure_cookie: true")
            }
            if let countWarning { logger.warning("\(countWarning)") }
            logger.info("models: \(models.choice); model version \(models.modelVersion), threshold \(models.matchThreshold) (\(models.thresholdSource))")
            logger.info("NETRA starting on \(service.host):\(service.port) (API keys \(service.requireAPIKey ? "required" : "optional"))")
            try await application.runService()
        }
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
