import Hummingbird
import Logging
import NetraIdentity
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
    let sessions = ConsoleSessions(lifetime: configuration.console.sessionHours * 3600)
    let liveness = LivenessChallenges(policy: configuration.livenessPolicy)
    let router = Router(context: NetraRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: SecurityMiddleware(allowedHosts: SecurityMiddleware.normalised(allowedHosts: configuration.allowedHosts)))
    if configuration.compat.enabled { router.add(middleware: PeerCORSMiddleware(origin: configuration.compat.corsOrigin)) }
    router.add(middleware: RequestLogMiddleware(level: .info))
    router.add(middleware: ErrorMiddleware(routes: routes))
    router.add(middleware: MetricsMiddleware())
    let consoleFolder = configuration.console.enabled ? ServiceResources.url("console/index.html")?.deletingLastPathComponent().path : nil
    if let folder = consoleFolder {
        // The console's files, served where no route answers (FileMiddleware looks only then).
        router.add(middleware: ConsolePageMiddleware())
        router.add(middleware: FileMiddleware(folder, urlBasePath: "/console",
                                              searchForIndexHtml: true))
    }

    // A presented key is checked on the API's routes only: public routes (health, metrics,
    // documentation) ignore keys, so they cannot be used to test one, and a path NETRA does
    // not serve is a 404 or 405 whatever key comes with it.
    let apiKeys = APIKeyMiddleware(state: state, limiter: limiter, sessions: consoleFolder != nil ? sessions : nil)
    func scoped(_ scope: APIScope) -> RouterGroup<NetraRequestContext> {
        router.group("api/v1").add(middleware: apiKeys)
            .add(middleware: ScopeMiddleware(scope: scope, requireAPIKey: configuration.requireAPIKey, limiter: limiter, state: state))
    }
    RecognitionController(state: state, configuration: configuration, workers: workers, bodies: bodies, liveness: liveness)
        .addRoutes(to: scoped(.recognize))
    LivenessController(state: state, configuration: configuration, workers: workers, bodies: bodies, limiter: limiter, challenges: liveness)
        .addRoutes(to: scoped(.recognize))
    InfoController(state: state, configuration: configuration, challenges: liveness).addRoutes(to: scoped(.recognize))
    SubjectController(state: state, configuration: configuration, workers: workers, bodies: bodies, liveness: liveness)
        .addRoutes(to: scoped(.manage))
    CollectionController(state: state, bodies: bodies).addRoutes(to: scoped(.admin))
    AdminController(state: state, bodies: bodies, sessions: sessions).addRoutes(to: scoped(.admin))
    if consoleFolder != nil {
        ConsoleController(state: state, sessions: sessions, limiter: limiter, bodies: bodies, requireAPIKey: configuration.requireAPIKey,
                          secureCookie: configuration.console.secureCookie).addRoutes(to: router.group("api/v1"))
        router.get("/") { _, _ in Response.redirect(to: "/console/", type: .found) }
    }
    if configuration.compat.enabled {
        // The compatible APIs: their peers' paths and error forms, NETRA's keys, scopes and limits;
        // not the console's cookies (its liveness rules are NETRA's routes').
        let peerKeys = APIKeyMiddleware(state: state, limiter: limiter)
        func peer(_ path: String, _ dialect: PeerDialect, _ scope: APIScope) -> RouterGroup<NetraRequestContext> {
            var group = router.group(RouterPath(path)).add(middleware: PeerErrorMiddleware(dialect: dialect))
            if dialect == .deepStack {
                group = group.add(middleware: DeepStackFormMiddleware(bodies: bodies, limit: configuration.maxBodyBytes, limiter: limiter))
            }
            return group.add(middleware: peerKeys)
                .add(middleware: ScopeMiddleware(scope: scope, requireAPIKey: configuration.requireAPIKey, limiter: limiter, state: state,
                                                 refusesCrossSiteReads: true))
        }
        CompreFaceController(state: state, configuration: configuration, workers: workers, bodies: bodies)
            .addRoutes(to: .init(recognize: peer("api/v1/recognition", .compreFace, .recognize),
                                 manage: peer("api/v1/recognition", .compreFace, .manage),
                                 detection: peer("api/v1/detection", .compreFace, .recognize),
                                 verification: peer("api/v1/verification", .compreFace, .recognize),
                                 staticImages: router.group("api/v1/static").add(middleware: PeerErrorMiddleware(dialect: .compreFace))))
        DeepStackController(state: state, configuration: configuration, workers: workers)
            .addRoutes(recognize: peer("v1/vision/face", .deepStack, .recognize), manage: peer("v1/vision/face", .deepStack, .manage))
    }
    OperationsController(state: state, workers: workers).addRoutes(to: router.group())
    routes.load(from: router)
    return router
}
