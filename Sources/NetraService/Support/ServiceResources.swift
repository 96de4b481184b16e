import Foundation

/// NetraService's resource files (`Resources/`: `openapi.yaml`, `docs.html`, `console/`), in the
/// resource bundle SwiftPM puts beside the executable (and the Docker image copies with it).
///
/// Found from `/proc/self/exe` rather than `Bundle.module`: Foundation stops the process when it
/// cannot resolve the executable's own path (a service user who may not read a folder above
/// it), and the service must then answer without its pages, not crash. Elsewhere (macOS)
/// `Bundle.module` finds them.
enum ServiceResources {
    static let folder: URL? = {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { return Bundle.module.url(forResource: "Resources", withExtension: nil) }
        let executable = URL(fileURLWithPath: String(decoding: path[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return executable.deletingLastPathComponent().appendingPathComponent("netra_NetraService.resources/Resources", isDirectory: true)
    }()

    /// The file or folder `name` of the resources, when it is there and readable.
    static func url(_ name: String) -> URL? {
        guard let url = folder?.appendingPathComponent(name), FileManager.default.isReadableFile(atPath: url.path) else { return nil }
        return url
    }
}
