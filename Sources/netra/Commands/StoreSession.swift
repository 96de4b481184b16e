import ArgumentParser
import Foundation
import NetraStore
import NetraVision

/// Options of every command that opens the identity store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The identity database (default: data.db, data/netra.db).") var db: String?
}

/// Opening the identity store the way every command does: database path from `--db` or the
/// configuration, key from NETRA_SECRET_KEY, NETRA_KEY_FILE or the configured key file.
enum StoreSession {
    static func databasePath(_ options: StoreOptions, _ configuration: NetraConfiguration) -> String {
        options.db ?? configuration.data.db
    }

    /// The key to open the store with. Without any configured key, a development key file
    /// beside the database is used, and created (mode 0600) with a loud warning if missing.
    static func key(for databasePath: String, configuration: NetraConfiguration,
                    environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeySource {
        do {
            if let key = try KeySource.fromEnvironment(environment) { return key }
            let configured = configuration.data.keyFile
            let path = configured.isEmpty
                ? ((databasePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("netra.key")
                : configured
            if FileManager.default.fileExists(atPath: path) { return try KeySource.read(keyFile: path) }
            guard configured.isEmpty else { throw KeyError.keyFileUnreadable(path: path) }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            let key = try KeySource.createKeyFile(at: path)
            FileHandle.standardError.write(Data("""
                netra: WARNING: no key configured (NETRA_SECRET_KEY or NETRA_KEY_FILE); generated a development key in \(path) (mode 0600).
                netra: WARNING: back it up: without it the enrolled faces cannot be read. Configure a key of your own in production.

                """.utf8))
            return key
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
    }

    /// The model version the store benchmarks record with their synthetic vectors.
    static var syntheticModelVersion: String { FaceStore.modelVersion(embedderSHA256: ModelCatalog.embedder.sha256) }

    /// Opens the store, reporting damaged rows on stderr.
    static func open(_ options: StoreOptions, configuration: NetraConfiguration, additionalKeys: [KeySource] = []) throws -> FaceStore {
        let path = databasePath(options, configuration)
        let key = try key(for: path, configuration: configuration)
        let modelVersion = try ModelSelection(configuration).modelVersion
        let store: FaceStore
        do {
            store = try FaceStore(path: path, key: key, additionalKeys: additionalKeys, modelVersion: modelVersion)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
        reportLoadProblems(store.loadReport)
        return store
    }

    /// Opens the store and runs `body`, reporting a missing subject or face as exit code 5.
    static func with(_ options: StoreOptions, _ global: GlobalOptions, _ body: (FaceStore) throws -> Void) throws {
        let store = try open(options, configuration: try global.loadConfiguration())
        do {
            try body(store)
        } catch let error as StoreError {
            switch error {
            case .subjectNotFound, .faceNotFound: throw CommandFailure(message: "\(error)", exitCode: .notFound)
            default: throw CommandFailure(message: "\(error)", exitCode: .failure)
            }
        }
    }

    static func reportLoadProblems(_ report: LoadReport) {
        var lines: [String] = []
        if !report.tamperedFaceIDs.isEmpty {
            lines.append("netra: WARNING: \(report.tamperedFaceIDs.count) stored face(s) fail authentication and are not used: "
                + "ids \(report.tamperedFaceIDs.map(String.init).joined(separator: ", ")) (see `netra db check`)")
        }
        for (keyID, count) in report.unavailableKeys.sorted(by: { $0.key < $1.key }) {
            lines.append("netra: WARNING: \(count) face(s) are sealed with key \(keyID), which was not supplied; finish `netra keys rotate`")
        }
        if report.otherModelVersion > 0 {
            lines.append("netra: note: \(report.otherModelVersion) face(s) belong to another model version and are not searched; re-enroll them")
        }
        if !lines.isEmpty { FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8)) }
    }
}
