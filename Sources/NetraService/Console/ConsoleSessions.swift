import Foundation
import Hummingbird
import NetraIdentity
import NetraStore
import Synchronization

/// The console's sign-ins, in memory: the browser holds only the session's random token (an
/// HttpOnly cookie) and its CSRF token, never the API key. A session names the key it was
/// opened with, which is checked again on every request (a revoked key ends its sessions).
/// A restart signs everyone out.
final class ConsoleSessions: Sendable {
    /// The session cookie's name.
    static let cookieName = "netra_session"
    /// Sessions kept at most, in all and per key (a key's sign-ins cannot crowd out the others');
    /// beyond that the oldest is ended.
    static let limit = 10_000
    static let perKeyLimit = 20

    /// One signed-in console.
    struct Session: Sendable {
        /// A random name for the session that is not its cookie (liveness challenges belong to it).
        let id: String
        let keyID: String
        /// Sent by the page in `X-CSRF-Token` with every change.
        let csrfToken: String
        let expiresAt: Date
    }

    let lifetime: TimeInterval
    private let sessions = Mutex([String: Session]())

    init(lifetime: TimeInterval) {
        self.lifetime = max(60, lifetime)
    }

    /// Opens a session for the key `keyID`, ending the one the browser had (`replacing`, its
    /// cookie token); returns the new cookie token and the session.
    func open(keyID: String, replacing previous: String? = nil, now: Date = Date()) -> (token: String, session: Session) {
        let token = RandomToken.hex(bits: 256)
        let session = Session(id: RandomToken.hex(bits: 256), keyID: keyID, csrfToken: RandomToken.hex(bits: 256), expiresAt: now.addingTimeInterval(lifetime))
        sessions.withLock { sessions in
            sessions = sessions.filter { $0.value.expiresAt > now }
            if let previous { sessions[previous] = nil }
            let sameKey = sessions.filter { $0.value.keyID == keyID }.sorted { $0.value.expiresAt < $1.value.expiresAt }
            for old in sameKey.dropLast(Self.perKeyLimit - 1) { sessions[old.key] = nil }
            if sessions.count >= Self.limit, let oldest = sessions.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
                sessions[oldest.key] = nil
            }
            sessions[token] = session
        }
        return (token, session)
    }

    /// The live session of a cookie token, if any (an expired one is ended).
    func session(for token: String, now: Date = Date()) -> Session? {
        sessions.withLock { sessions in
            guard let session = sessions[token] else { return nil }
            guard session.expiresAt > now else {
                sessions[token] = nil
                return nil
            }
            return session
        }
    }

    /// Ends one session (sign-out).
    func end(_ token: String) {
        _ = sessions.withLock { $0.removeValue(forKey: token) }
    }

    /// Ends every session opened with a key (it was revoked).
    func endAll(keyID: String) {
        sessions.withLock { sessions in sessions = sessions.filter { $0.value.keyID != keyID } }
    }
    /// Whether two tokens are equal, in time that does not depend on where they differ.
    static func tokensMatch(_ a: String, _ b: String) -> Bool {
        let a = Array(a.utf8), b = Array(b.utf8)
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

extension ConsoleSessions.Session {
    /// The key the session was opened with, while it is active (it is read again each time, so
    /// a revoked key ends the session at once).
    func activeKey(in store: any IdentityStore) async throws -> APIKeyRecord? {
        let keyID = keyID
        guard let key = try await blocking({ try store.apiKey(id: keyID) }), key.revokedAt == nil else { return nil }
        return key
    }

    /// Refuses a change that does not carry the session's CSRF token (403 `csrf_token_invalid`).
    func checkCSRFToken(of request: Request) throws {
        guard let sent = request.headers[.csrfToken], ConsoleSessions.tokensMatch(sent, csrfToken) else {
            throw APIError(.forbidden, "csrf_token_invalid", "a change from the console must carry its X-CSRF-Token")
        }
    }
}
