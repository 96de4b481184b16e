import Hummingbird
import Logging
import NetraStore
import NetraVision
import ServiceLifecycle

/// Builds the HTTP application: the one place where configuration, state, middleware and
/// routes come together. `netra serve` runs it; the tests drive it in-process.
public func buildApplication(configuration: ServiceConfiguration, state: ServiceState, services: [any Service] = [],
                             logger: Logger = Logger(label: "netra")) -> some ApplicationProtocol {
    let router = buildRouter(configuration: configuration, state: state)
    return Application(router: router,
                       configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "NETRA"),
                       services: services,
                       onServerRunning: { channel in
                           logger.notice("NETRA listening on \(channel.localAddress?.description ?? "?")")
                       },
                       logger: logger)
}

/// The router with every endpoint of `APIRoutes` and NETRA's middleware.
public func buildRouter(configuration: ServiceConfiguration, state: ServiceState) -> Router<NetraRequestContext> {
    _ = ServiceMetrics.registry
    let workers = VisionWorkers(workers: configuration.visionWorkers, queueDepth: configuration.queueDepth)
    let router = Router(context: NetraRequestContext.self)
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: SecurityMiddleware(allowedHosts: Set(configuration.allowedHosts.map { $0.lowercased() })))
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.info))
    router.add(middleware: AccessMiddleware(state: state, requireAPIKey: configuration.requireAPIKey,
                                            limiter: RateLimiter(rate: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)))

    var handlers: [String: @Sendable (Request, NetraRequestContext) async throws -> Response] = [:]
    let recognition = RecognitionController(state: state, configuration: configuration, workers: workers)
    let subjects = SubjectController(state: state, configuration: configuration, workers: workers)
    let operations = OperationsController(state: state, workers: workers)
    for controller in [recognition.handlers, subjects.handlers, operations.handlers] {
        handlers.merge(controller) { _, _ in preconditionFailure("an endpoint is handled twice") }
    }
    for endpoint in APIRoutes.endpoints {
        let key = "\(endpoint.method.rawValue) \(endpoint.path)"
        guard let handler = handlers.removeValue(forKey: key) else { preconditionFailure("no handler for \(key)") }
        router.on(RouterPath(stringLiteral: endpoint.routerPath), method: endpoint.method, use: handler)
    }
    precondition(handlers.isEmpty, "handlers without an endpoint: \(handlers.keys.sorted())")
    return router
}
