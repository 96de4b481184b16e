import Hummingbird

/// The CompreFace REST API (`/api/v1/recognition`, `/detection`, `/verification`), as
/// compreface-sdk, Double Take and Viseron call it (docs/compatibility.md).
struct CompreFaceController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    let bodies: BodyReader

    /// The route groups, each behind the scope its routes need.
    struct Groups {
        let recognize: RouterGroup<NetraRequestContext>
        let manage: RouterGroup<NetraRequestContext>
        let detection: RouterGroup<NetraRequestContext>
        let verification: RouterGroup<NetraRequestContext>
    }

    func addRoutes(to groups: Groups) {}
}
