/// Why a vision model could not be loaded or run.
public enum VisionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A model file is missing, unreadable, truncated or not the expected model.
    case invalidModel(file: String, reason: String)
    /// oneDNN or OpenBLAS refused an operation (a broken installation, or out of memory).
    case computeLibrary(String)
    /// The input does not have the size the model needs.
    case invalidInput(String)

    public var description: String {
        switch self {
        case let .invalidModel(file, reason): "model file \(file) cannot be used: \(reason)"
        case let .computeLibrary(message): message
        case let .invalidInput(message): message
        }
    }
}
