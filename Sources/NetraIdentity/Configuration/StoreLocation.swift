import Foundation
import NetraStore

/// Where the identity store is, as the configuration names it: a SQLite file (`data.db`, the
/// default, or a command's `--db`), or a PostgreSQL database (`data.url`, with the password
/// from `NETRA_DATA_PASSWORD` or `data.password_file`). Every entry point resolves it here
/// and opens the store through it, so that the choice of backend is made in one place.
///
/// Its `description` names the store without the password, safe for logs and messages.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    /// A SQLite database file.
    case sqlite(path: String)
    /// A PostgreSQL database, with the password its user logs in with (`nil`: none).
    case postgres(PostgresLocation, password: String?)

    /// The store `configuration` names: `databasePath` (a command's `--db`, always SQLite) when
    /// given, else PostgreSQL when `data.url` is set, else SQLite at `data.db`.
    ///
    /// The password is `NETRA_DATA_PASSWORD`, else the contents of `data.password_file`
    /// (without its final line break), which must be readable by its owner only.
    public static func configured(_ configuration: NetraConfiguration, databasePath: String? = nil,
                                  environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> StoreLocation {
        if let databasePath { return .sqlite(path: databasePath) }
        guard let location = try configuration.postgresLocation else { return .sqlite(path: configuration.data.db) }
        return .postgres(location, password: try password(configuration, environment: environment))
    }

    /// Where the PostgreSQL password comes from, in words for `netra config show` (never the
    /// password itself); `nil` when none is configured.
    public static func passwordSource(_ configuration: NetraConfiguration,
                                      environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password = environment[passwordVariable], !password.isEmpty { return "\(passwordVariable) (set, value hidden)" }
        if !configuration.data.passwordFile.isEmpty { return "data.password_file \(configuration.data.passwordFile)" }
        return nil
    }

    /// The environment variable holding the PostgreSQL password.
    public static let passwordVariable = "NETRA_DATA_PASSWORD"

    /// The password for a PostgreSQL store named on a command line (`netra db copy --to`): the
    /// contents of `file` (`--password-file`, held to the rules of `data.password_file`) when
    /// given, else as for `data.url`'s store.
    public static func password(file: String?, configuration: NetraConfiguration,
                                environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigurationError) -> String? {
        guard let file else { return try password(configuration, environment: environment) }
        return try readPasswordFile(file, setting: "--password-file")
    }

    private static func password(_ configuration: NetraConfiguration, environment: [String: String]) throws(ConfigurationError) -> String? {
        if let password = environment[passwordVariable], !password.isEmpty { return password }
        let path = configuration.data.passwordFile
        guard !path.isEmpty else { return nil }
        return try readPasswordFile(path, setting: "data.password_file")
    }

    /// The password in the file at `path` (without its final line break), which must be
    /// readable by its owner only; `setting` names where the path came from in errors.
    private static func readPasswordFile(_ path: String, setting: String) throws(ConfigurationError) -> String {
        var status = stat()
        guard stat(path, &status) == 0, let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError("\(setting) \(path) cannot be read")
        }
        guard status.st_mode & 0o077 == 0 else {
            throw ConfigurationError("\(setting) \(path) must be readable by its owner only (chmod 600), not mode "
                + String(status.st_mode & 0o777, radix: 8))
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
        guard !text.isEmpty else { throw ConfigurationError("\(setting) \(path) is empty") }
        return text
    }

    /// Whether this is a PostgreSQL store.
    public var isPostgres: Bool {
        if case .postgres = self { true } else { false }
    }

    /// The backend's name, for reports (`SQLite`, `PostgreSQL`).
    public var backendName: String { isPostgres ? "PostgreSQL" : "SQLite" }

    /// The file path, or the URL without a password.
    public var description: String {
        switch self {
        case let .sqlite(path): path
        case let .postgres(location, _): location.description
        }
    }

    /// The key to open the store with (`DeploymentRules.storeKey`).
    public func key(configuration: NetraConfiguration, environment: [String: String] = ProcessInfo.processInfo.environment,
                    listeningOn host: String? = nil, warn: (String) -> Void = { _ in }) throws(ConfigurationError) -> KeySource {
        try DeploymentRules.storeKey(for: self, configuration: configuration, environment: environment, listeningOn: host, warn: warn)
    }

    /// Opens the store (creating it, or its schema, when new); the arguments are `SQLiteStore`'s
    /// and `PostgresStore`'s.
    public func open(key: KeySource, additionalKeys: [KeySource] = [], modelVersion: String,
                     actor: String) throws(StoreError) -> any IdentityStore {
        switch self {
        case let .sqlite(path):
            try SQLiteStore(path: path, key: key, additionalKeys: additionalKeys, modelVersion: modelVersion, actor: actor)
        case let .postgres(location, password):
            try PostgresStore(location: location, password: password, key: key, additionalKeys: additionalKeys,
                              modelVersion: modelVersion, actor: actor)
        }
    }

    /// How many faces the store holds of each model version, read before it is opened (see
    /// `ModelSelection.StoreFaces`); a store that does not exist yet has none.
    public func faceCountsByModelVersion() throws(StoreError) -> [String: Int] {
        switch self {
        case let .sqlite(path): try SQLiteStore.faceCountsByModelVersion(atPath: path)
        case let .postgres(location, password): try PostgresStore.faceCountsByModelVersion(at: location, password: password)
        }
    }
}

extension NetraConfiguration {
    /// The PostgreSQL store `data.url` names, `nil` when it is empty (SQLite); a URL NETRA
    /// cannot use is an error naming what is wrong with it.
    public var postgresLocation: PostgresLocation? {
        get throws(ConfigurationError) {
            guard !data.url.isEmpty else { return nil }
            do {
                return try PostgresLocation(url: data.url)
            } catch {
                throw ConfigurationError(error.description)
            }
        }
    }
}
