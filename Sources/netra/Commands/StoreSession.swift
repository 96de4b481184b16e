import ArgumentParser
import Foundation
import NetraIdentity
import NetraStore
import NetraVision

/// Options of every command that opens the identity store.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "A SQLite identity database (default: data.url's PostgreSQL store if set, else data.db, data/netra.db).")
    var db: String?
}

/// Opening the identity store the way every command does: a SQLite database from `--db`, else
/// the configured store (`data.url`'s PostgreSQL database, or `data.db`), with the key from
/// NETRA_SECRET_KEY, NETRA_KEY_FILE or the configured key file.
enum StoreSession {
    /// The store of `options` and `configuration` (`StoreLocation.configured`).
    static func location(_ options: StoreOptions, _ configuration: NetraConfiguration) throws -> StoreLocation {
        try StoreLocation.configured(configuration, databasePath: options.db)
    }

    /// The key to open the SQLite store at `databasePath` with (`DeploymentRules.storeKey`).
    static func key(for databasePath: String, configuration: NetraConfiguration, listeningOn host: String? = nil,
                    environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeySource {
        try key(for: .sqlite(path: databasePath), configuration: configuration, listeningOn: host, environment: environment)
    }

    /// The key to open the store at `location` with (`DeploymentRules.storeKey`); a development
    /// key it creates beside a SQLite database is announced on standard error.
    static func key(for location: StoreLocation, configuration: NetraConfiguration, listeningOn host: String? = nil,
                    environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeySource {
        try location.key(configuration: configuration, environment: environment, listeningOn: host) { warning in
            FileHandle.standardError.write(Data((warning.split(separator: "\n").map { "netra: \($0)" }.joined(separator: "\n") + "\n").utf8))
        }
    }

    /// The key a rotation moves to, from `file`, `NETRA_NEW_SECRET_KEY` or `NETRA_NEW_KEY_FILE`;
    /// `nil` when none is given. `netra keys rotate` needs it; `netra serve` takes it too, so
    /// that a server running while the rotation runs seals new faces under the new key.
    static func newKey(file: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KeySource? {
        do {
            if let file { return try KeySource.read(keyFile: file) }
            if let text = environment["NETRA_NEW_SECRET_KEY"], !text.isEmpty { return try KeySource.parse(text) }
            if let file = environment["NETRA_NEW_KEY_FILE"], !file.isEmpty { return try KeySource.read(keyFile: file) }
            return nil
        } catch {
            throw CommandFailure(message: "new key: \(error)", exitCode: .failure)
        }
    }

    /// The model version the store benchmarks record with their synthetic vectors: that of a
    /// new store under the default configuration (int8 once `netra models fetch` built the
    /// bundle), so that a store the commands then open counts them as its own.
    static var syntheticModelVersion: String {
        (try? NetraConfiguration.load(path: nil)).map { ModelSelection.versionForNewStore($0, int8Version: ModelSelection.fetchedInt8Version) }
            ?? ModelSelection.version(of: nil)
    }

    /// The audit log's actor for a command: `cli` and the user running it.
    static var cliActor: String { "cli \(ProcessInfo.processInfo.userName)" }

    /// The models for the store of `options`: those its faces were enrolled with, under
    /// `model.precision` (read from the store before it is opened).
    static func models(for options: StoreOptions, configuration: NetraConfiguration) throws -> ModelSelection {
        try models(for: try location(options, configuration), configuration: configuration)
    }

    /// The models for the store at `location` (see `models(for:configuration:)`).
    static func models(for location: StoreLocation, configuration: NetraConfiguration) throws -> ModelSelection {
        let faces = try ModelSelection.StoreFaces.read(location) { FileHandle.standardError.write(Data("netra: WARNING: \($0)\n".utf8)) }
        return try ModelSelection(configuration, store: faces, int8Version: ModelSelection.fetchedInt8Version)
    }

    /// Opens the store, reporting damaged rows on stderr. Its faces' model version is that of
    /// `models(for:configuration:)`.
    static func open(_ options: StoreOptions, configuration: NetraConfiguration, additionalKeys: [KeySource] = []) throws -> any IdentityStore {
        let location = try location(options, configuration)
        let key = try key(for: location, configuration: configuration)
        let modelVersion = try models(for: location, configuration: configuration).modelVersion
        let store: any IdentityStore
        do {
            store = try location.open(key: key, additionalKeys: additionalKeys, modelVersion: modelVersion, actor: cliActor)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
        reportLoadProblems(store.loadReport)
        return store
    }

    /// Opens the store and runs `body`, reporting a missing subject or face as exit code 5.
    static func with(_ options: StoreOptions, _ global: GlobalOptions, _ body: (any IdentityStore) throws -> Void) throws {
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
        var lines = report.problems.map { "netra: WARNING: \($0)" }
        if !report.tamperedFaceIDs.isEmpty {
            lines.append("netra: WARNING: the faces failing authentication are ids \(report.tamperedFaceIDs.map(String.init).joined(separator: ", "))")
        }
        if report.otherModelVersion > 0 {
            lines.append("netra: note: \(report.otherModelVersion) face(s) belong to another model version and are not searched; re-enroll them")
        }
        if !lines.isEmpty { FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8)) }
    }
}
