import Foundation
import NetraStore

/// The rules every entry point follows before it opens the store or listens: where the store
/// key comes from, and what a service reachable from other machines must have. The CLI, the
/// HTTP service and the tools all ask here, so the rules are written once.
public enum DeploymentRules {
    /// Whether listening on `host` only accepts connections from this machine: an IPv4 or IPv6
    /// loopback literal, or a name every address of which is one (`127.0.0.1.nip.io` is a
    /// public name, whatever it starts with).
    public static func isLoopback(_ host: String) -> Bool {
        let literal = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let loopback = loopbackLiteral(literal) { return loopback }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(literal, nil, &hints, &found) == 0, let first = found else { return false }
        defer { freeaddrinfo(first) }
        var addresses: [Bool] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(loopbackLiteral(String(cString: text)) ?? false)
            }
            next = entry.pointee.ai_next
        }
        return !addresses.isEmpty && addresses.allSatisfy { $0 }
    }

    /// Whether an address literal is a loopback one; `nil` when `text` is no address literal.
    static func loopbackLiteral(_ text: String) -> Bool? {
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        if inet_pton(AF_INET6, text, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            let mappedV4 = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            return bytes == [UInt8](repeating: 0, count: 15) + [1] || (mappedV4 && bytes[12] == 127)
        }
        return nil
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

    /// The key the store at `location` is opened with: for SQLite as `storeKey(for:...)` of its
    /// path; a PostgreSQL store needs `NETRA_SECRET_KEY`, `NETRA_KEY_FILE` or `data.key_file`
    /// (there is no folder beside it for a development key, and its replicas must share one key).
    public static func storeKey(for location: StoreLocation, configuration: NetraConfiguration,
                                environment: [String: String] = ProcessInfo.processInfo.environment,
                                listeningOn host: String? = nil,
                                warn: (String) -> Void = { _ in }) throws(ConfigurationError) -> KeySource {
        guard location.isPostgres else {
            return try storeKey(for: location.description, configuration: configuration, environment: environment,
                                listeningOn: host, warn: warn)
        }
        do {
            if let key = try KeySource.fromEnvironment(environment) { return key }
            if !configuration.data.keyFile.isEmpty { return try KeySource.read(keyFile: configuration.data.keyFile) }
        } catch {
            throw ConfigurationError("\(error)")
        }
        throw ConfigurationError("a PostgreSQL store (data.url) needs a key: set NETRA_SECRET_KEY, NETRA_KEY_FILE or data.key_file "
            + "(every replica uses the same one)")
    }

    /// Checks that a service listening on `host` may run as configured: off loopback, every
    /// request must carry an API key.
    public static func checkListening(host: String, requireAPIKey: Bool) throws(ConfigurationError) {
        guard isLoopback(host) || requireAPIKey else {
            throw ConfigurationError("refusing to listen on \(host) without API keys: set app.require_api_key: true "
                + "(NETRA_APP_REQUIRE_API_KEY=true) and create keys with `netra apikeys create`")
        }
    }

    /// The range `liveness.turn_yaw` must lie in: at 0 a frontal photo would meet every turn,
    /// beyond 0.5 no one could turn that far.
    public static let turnYawRange = 0.05...0.5
    /// The range `liveness.challenge_seconds` must lie in: time to follow two instructions and
    /// send the frames, short enough that a challenge cannot be prepared for at leisure.
    public static let challengeSecondsRange: ClosedRange<Double> = 10...300
    /// The range `console.session_hours` must lie in: a minute to a month.
    public static let sessionHoursRange: ClosedRange<Double> = (1.0 / 60)...720

    /// A console session must last a sensible, finite time.
    public static func checkConsole(_ console: NetraConfiguration.Console) throws(ConfigurationError) {
        guard sessionHoursRange.contains(console.sessionHours) else {
            throw ConfigurationError("console.session_hours must be between 1/60 and 720, not \(console.sessionHours)")
        }
    }

    /// The liveness settings must be able to do what they say: a turn threshold a photo cannot
    /// meet, and a required check only where callers are known (with API keys required, every
    /// caller without a key is a console session, the only one that is asked; without them
    /// anyone could enroll or verify unasked, through the compatible APIs if nowhere else).
    public static func checkLiveness(_ liveness: NetraConfiguration.Liveness, requireAPIKey: Bool) throws(ConfigurationError) {
        guard turnYawRange.contains(liveness.turnYaw) else {
            throw ConfigurationError("liveness.turn_yaw must be between \(turnYawRange.lowerBound) and \(turnYawRange.upperBound), not \(liveness.turnYaw)")
        }
        guard challengeSecondsRange.contains(liveness.challengeSeconds) else {
            throw ConfigurationError("liveness.challenge_seconds must be between \(Int(challengeSecondsRange.lowerBound)) and \(Int(challengeSecondsRange.upperBound)), not \(liveness.challengeSeconds)")
        }
        if (liveness.requiredForEnroll || liveness.requiredForVerify) && !requireAPIKey {
            throw ConfigurationError("liveness.required_for_enroll and required_for_verify need app.require_api_key: true "
                + "(without API keys every caller could enroll and verify unasked)")
        }
    }
}
