import Hummingbird
import Logging
import NIOCore
import NetraStore
import ServiceLifecycle

/// Builds the HTTP application: the one place where configuration, state, middleware and
/// routes come together. `netra serve` runs it; the tests drive it in-process.
public func buildApplication(configuration: ServiceConfiguration, state: ServiceState, services: [any Service] = [],
                             logger: Logger = Logger(label: "netra")) -> some ApplicationProtocol {
    let router = buildRouter(configuration: configuration, state: state)
    return Application(router: router,
                       server: .http1(configuration: .init(idleTimeout: TimeAmount(configuration.idleTimeout))),
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
    let bodies = BodyReader(maxConcurrent: configuration.maxConcurrentUploads, timeout: configuration.bodyTimeout)
    let limiter = RateLimiter(rate: configuration.rateLimitPerSecond, burst: configuration.rateLimitBurst)
    let router = Router(context: NetraRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: SecurityMiddleware(allowedHosts: SecurityMiddleware.normalised(allowedHosts: configuration.allowedHosts)))
    router.add(middleware: RequestLogMiddleware(level: .info))
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.add(middleware: MetricsMiddleware())

    // A presented key is checked on the API's routes only: public routes (health, metrics,
    // documentation) ignore keys, so they cannot be used to test one, and a path NETRA does
    // not serve is a 404 or 405 whatever key comes with it.
    let apiKeys = APIKeyMiddleware(state: state, limiter: limiter)
    func scoped(_ scope: APIScope) -> RouterGroup<NetraRequestContext> {
        router.group("api/v1").add(middleware: apiKeys)
            .add(middleware: ScopeMiddleware(scope: scope, requireAPIKey: configuration.requireAPIKey, limiter: limiter, state: state))
    }
    RecognitionController(state: state, configuration: configuration, workers: workers, bodies: bodies).addRoutes(to: scoped(.recognize))
    SubjectController(state: state, configuration: configuration, workers: workers, bodies: bodies).addRoutes(to: scoped(.manage))
    CollectionController(state: state, bodies: bodies).addRoutes(to: scoped(.admin))
    OperationsController(state: state, workers: workers).addRoutes(to: router.group())
    routes.load(from: router)
    return router
}
