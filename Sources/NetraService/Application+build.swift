import Hummingbird
import Logging
import NetraStore
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

/// The router: NETRA's middleware, then one route group per controller, each behind the
/// scope its routes need (operations routes are public).
public func buildRouter(configuration: ServiceConfiguration, state: ServiceState) -> Router<NetraRequestContext> {
    _ = ServiceMetrics.registry
    let workers = VisionWorkers(workers: configuration.visionWorkers, queueDepth: configuration.queueDepth)
    let limiter = RateLimiter(rate: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
    let router = Router(context: NetraRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: SecurityMiddleware(allowedHosts: SecurityMiddleware.normalised(allowedHosts: configuration.allowedHosts)))
    router.add(middleware: RequestLogMiddleware(level: .info))
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.add(middleware: MetricsMiddleware())

    // A presented key is checked on every route NETRA serves (a bad key is refused even on a
    // public one), never on a path it does not serve (that is a 404 or 405).
    let apiKeys = APIKeyMiddleware(state: state)
    func scoped(_ scope: APIScope) -> RouterGroup<NetraRequestContext> {
        router.group("api/v1").add(middleware: apiKeys)
            .add(middleware: ScopeMiddleware(scope: scope, requireAPIKey: configuration.requireAPIKey, limiter: limiter))
    }
    RecognitionController(state: state, configuration: configuration, workers: workers).addRoutes(to: scoped(.recognize))
    SubjectController(state: state, configuration: configuration, workers: workers).addRoutes(to: scoped(.manage))
    OperationsController(state: state, workers: workers).addRoutes(to: router.group().add(middleware: apiKeys))
    routes.load(from: router)
    return router
}
