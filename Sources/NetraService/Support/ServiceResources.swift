import Foundation
import NetraStore

/// NetraService's resource files (`Resources/`: `openapi.yaml`, `docs.html`, `console/`), in its
/// resource bundle beside the executable (`ExecutableResources`: never a crash when it cannot be
/// read), else where `Bundle.module` finds them (macOS).
enum ServiceResources {
    static let folder = ExecutableResources.url(inBundle: "netra_NetraService", path: "Resources")
        ?? Bundle.module.url(forResource: "Resources", withExtension: nil)

    /// The file or folder `name` of the resources, when it is there and readable.
    static func url(_ name: String) -> URL? {
        guard let url = folder?.appendingPathComponent(name), FileManager.default.isReadableFile(atPath: url.path) else { return nil }
        return url
    }
}
