import Foundation
import NetraStore

/// The rules every entry point follows before it opens the store or listens: where the store
/// key comes from, and what a service reachable from other machines must have. The CLI, the
/// HTTP service and the tools all ask here, so the rules are written once.
public enum DeploymentRules {
    /// Whether `host` only accepts connections from this machine.
    public static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// The key the store at `databasePath` is opened with: `NETRA_SECRET_KEY`, `NETRA_KEY_FILE`,
    /// or the configured `data.key_file`.
    ///
    /// Without any of them a development key file beside the database is used, created (mode
    /// 0600) when missing with a loud `warn`ing; a service listening on `host` off loopback is
    /// refused one.
    public static func storeKey(for databasePath: String, configuration: NetraConfiguration,
                                environment: [String: String] = ProcessInfo.processInfo.environment,
                                listeningOn host: String? = nil,
                                warn: (String) -> Void = { _ in }) throws(ConfigurationError) -> KeySource {
        do {
            if let key = try KeySource.fromEnvironment(environment) { return key }
            let configured = configuration.data.keyFile
            if !configured.isEmpty { return try KeySource.read(keyFile: configured) }
            if let host, !isLoopback(host) {
                throw ConfigurationError("refusing to listen on \(host) with a development key: set NETRA_SECRET_KEY, "
                    + "NETRA_KEY_FILE or data.key_file")
            }
            let path = ((databasePath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("netra.key")
            if FileManager.default.fileExists(atPath: path) { return try KeySource.read(keyFile: path) }
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            let key = try KeySource.createKeyFile(at: path)
            warn("""
                WARNING: no key configured (NETRA_SECRET_KEY or NETRA_KEY_FILE); generated a development key in \(path) (mode 0600).
                WARNING: back it up: without it the enrolled faces cannot be read. Configure a key of your own in production.
                """)
            return key
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw ConfigurationError("\(error)")
        }
    }

    /// Checks that a service listening on `host` may run as configured: off loopback, every
    /// request must carry an API key.
    public static func checkListening(host: String, requireAPIKey: Bool) throws(ConfigurationError) {
        guard isLoopback(host) || requireAPIKey else {
            throw ConfigurationError("refusing to listen on \(host) without API keys: set app.require_api_key: true "
                + "(NETRA_APP_REQUIRE_API_KEY=true) and create keys with `netra apikeys create`")
        }
    }
}
