import Foundation

/// The resource bundles SwiftPM puts beside the executable (and the Docker image copies with it),
/// found from `/proc/self/exe` rather than `Bundle.module`: Foundation stops the process when it
/// cannot resolve the executable's own path (a service user who may not read a folder above
/// it), and NETRA must then report its resources missing, not crash.
public enum ExecutableResources {
    /// `path` inside the bundle `bundle` beside the running executable; `nil` where
    /// `/proc/self/exe` cannot be read (not Linux), for the caller to ask `Bundle.module`.
    public static func url(inBundle bundle: String, path: String) -> URL? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        let executable = URL(fileURLWithPath: String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return executable.deletingLastPathComponent().appendingPathComponent("\(bundle).resources/\(path)", isDirectory: true)
    }
}
