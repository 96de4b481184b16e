import Hummingbird

/// The method and path of every route the router serves, read from the router once its routes
/// are added: what tells a wrong method (405, with `Allow`) from a wrong path (404).
final class RouteTable: Sendable {
    private let routes = Mutex<[(method: HTTPRequest.Method, segments: [Substring])]>([])

    /// Takes the routes of `router`.
    func load(from router: Router<NetraRequestContext>) {
        let described = router.routes.map { (method: $0.method, segments: Self.segments(of: "\($0.path)")) }
        routes.withLock { $0 = described }
    }

    /// The methods served at `path` (a `{parameter}` segment matches any value).
    func methods(at path: String) -> [HTTPRequest.Method] {
        let actual = path.split(separator: "/")
        return routes.withLock { routes in
            routes.filter { route in
                route.segments.count == actual.count && zip(route.segments, actual).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
            }.map(\.method)
        }
    }

    private static func segments(of path: String) -> [Substring] {
        path.split(separator: "/")
    }
}

extension Router where Context == NetraRequestContext {
    /// Every route as `METHOD /path/{parameter}`, the form OpenAPI documents use.
    public var openAPIRoutes: Set<String> {
        Set(routes.map { "\($0.method.rawValue) \($0.path)" })
    }
}
