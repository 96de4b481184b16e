import Foundation

/// Where a PostgreSQL store is: `postgres://USER@HOST:PORT/DATABASE?sslmode=MODE` (`data.url`).
///
/// The password is never part of it: it comes from `NETRA_DATA_PASSWORD` or
/// `data.password_file`, so that a URL printed in a log, an error or `netra config show`
/// gives nothing away. A URL that carries one is refused rather than silently used.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    /// How the connection uses TLS, as libpq's `sslmode` names it (the modes NETRA supports).
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP (a loopback or private network).
        case disable
        /// TLS when the server offers it, else plain TCP.
        case prefer
        /// TLS or no connection (the server's certificate is checked against the system's roots).
        case require
    }

    public var host: String
    public var port: Int
    public var username: String
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, username: String, database: String, tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.username = username
        self.database = database
        self.tls = tls
    }

    /// Whether `url` names a PostgreSQL store at all (the scheme), before it is parsed.
    public static func isPostgresURL(_ url: String) -> Bool {
        let lowered = url.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    /// Parses `url`; the error names what is wrong with it (never the password), calling the
    /// URL by the setting or option that gave it (`data.url`, `--to`).
    public init(url: String, setting: String = "data.url") throws(StoreError) {
        guard Self.isPostgresURL(url), let components = URLComponents(string: url) else {
            throw .invalidLocation("\(setting) must look like postgres://USER@HOST:PORT/DATABASE")
        }
        guard components.password == nil else {
            throw .invalidLocation("\(setting) must not contain a password: set NETRA_DATA_PASSWORD or data.password_file")
        }
        guard let user = components.user, !user.isEmpty else {
            throw .invalidLocation("\(setting) names no user (postgres://USER@HOST:PORT/DATABASE)")
        }
        guard let host = components.host, !host.isEmpty else {
            throw .invalidLocation("\(setting) names no host (postgres://USER@HOST:PORT/DATABASE)")
        }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw .invalidLocation("\(setting) names no database (postgres://USER@HOST:PORT/DATABASE)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw .invalidLocation("\(setting)'s port must be 1-65535") }
        var tls = TLSMode.prefer
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else {
                throw .invalidLocation("\(setting) has an unknown option \(item.name) (only sslmode is read)")
            }
            guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw .invalidLocation("\(setting)'s sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            tls = mode
        }
        self.init(host: host, port: port, username: user.removingPercentEncoding ?? user,
                  database: database.removingPercentEncoding ?? database, tls: tls)
    }

    /// The URL without a password: safe to log.
    public var description: String {
        "postgres://\(username)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)" + (tls == .prefer ? "" : "?sslmode=\(tls.rawValue)")
    }
}
