import Foundation
import NetraVision

/// The state of one model file in a model directory.
public struct ModelStatus: Sendable, Equatable {
    public enum State: Sendable, Equatable {
        /// Present with the expected size and SHA-256.
        case verified
        case missing
        case wrongSize(actual: Int)
        case hashMismatch(actual: String)
    }

    public let file: ModelFile
    public let path: URL
    public let state: State

    public var isVerified: Bool { state == .verified }

    /// Checks `file` inside `directory`: size first (cheap), then the full SHA-256.
    public static func check(_ file: ModelFile, in directory: URL) -> ModelStatus {
        let path = directory.appendingPathComponent(file.fileName)
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path.path),
              (attributes[.type] as? FileAttributeType) == .typeRegular
        else { return ModelStatus(file: file, path: path, state: .missing) }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? -1
        guard size == file.byteCount else {
            return ModelStatus(file: file, path: path, state: .wrongSize(actual: size))
        }
        guard let digest = try? SHA256Digest.hex(ofFileAt: path) else {
            return ModelStatus(file: file, path: path, state: .missing)
        }
        return ModelStatus(file: file, path: path, state: digest == file.sha256 ? .verified : .hashMismatch(actual: digest))
    }
}
