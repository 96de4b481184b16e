import Hummingbird

/// The DeepStack / CodeProject.AI face API (`/v1/vision/face`), as Home Assistant's
/// deepstack-python, Double Take, Agent DVR and Blue Iris call it (docs/compatibility.md).
struct DeepStackController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers

    func addRoutes(recognize: RouterGroup<NetraRequestContext>, manage: RouterGroup<NetraRequestContext>) {}
}
