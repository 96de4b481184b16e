import Foundation
import HTTPTypes
import Hummingbird
import NetraStore

/// Authenticates the `X-API-Key` header when one is sent: an unknown or revoked key is refused
/// at once (each refusal spends the caller's rate-limit tokens, so keys cannot be guessed at
/// full speed); a valid one is placed in the context for `ScopeMiddleware`. Either way the
/// request's changes are audited as its caller (`AuditActor`): the key's id, or the address.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let state: ServiceState
    let limiter: RateLimiter

    /// The console's sign-ins: a request with a session cookie and no key acts as the session's key.
    var sessions: ConsoleSessions?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard let presented = request.headers[.apiKey] ?? context.presentedAPIKey else {
            if let sessions, let token = request.cookies[ConsoleSessions.cookieName]?.value {
                if let session = sessions.session(for: token) {
                    context.apiKey = try await sessionKey(session, of: request, in: sessions)
                    context.consoleSession = session
                } else {
                    context.endedSession = true
                }
            }
            return try await AuditActor.$current.withValue(context.auditActor) { try await next(request, context) }
        }
        let store = try state.ready().store
        let record = try await blocking { try store.authenticateAPIKey(presented) }
        guard let record, record.revokedAt == nil else {
            try limiter.admit(context.caller, counting: "refused API keys")
            throw APIError(.unauthorized, "invalid_api_key", "the API key is unknown or revoked")
        }
        context.apiKey = record
        return try await AuditActor.$current.withValue(context.auditActor) { try await next(request, context) }
    }

    /// The key behind a console session, read again (a revoked key ends the session); a change
    /// must carry the session's CSRF token and come from the console's own origin.
    private func sessionKey(_ session: ConsoleSessions.Session, of request: Request, in sessions: ConsoleSessions) async throws -> APIKeyRecord {
        guard let record = try await session.activeKey(in: try state.ready().store) else {
            sessions.endAll(keyID: session.keyID)
            throw APIError(.unauthorized, "session_ended", "the console session's API key was revoked; sign in again")
        }
        if request.method != .get, request.method != .head {
            try session.checkCSRFToken(of: request)
            if ScopeMiddleware.isCrossSite(request) {
                throw APIError(.forbidden, "cross_origin_write", "a console change must come from the console's own origin")
            }
        }
        return record
    }
}

/// The gate of one route group: the scope its routes need, whether a key is required at all,
/// the rate limit per caller, and, for writes made without a key, that they do not come from
/// another web site (a page a browser shows may post forms to loopback unasked).
struct ScopeMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext
    let scope: APIScope
    let requireAPIKey: Bool
    let limiter: RateLimiter
    let state: ServiceState
    /// Refuse reads without a key from another site too: routes that answer other origins
    /// (the compatible APIs' CORS) would otherwise let any web page read them from a browser.
    var refusesCrossSiteReads = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // First, so that refused requests (and the audit entries they write) are rate-limited too.
        if !context.rateLimitTaken { try limiter.admit(context.caller) }
        if let key = context.apiKey {
            guard key.allows(scope) else {
                await auditRefusedWrite(request, reason: "lacks the \(scope.rawValue) scope")
                throw APIError(.forbidden, "insufficient_scope", "this API key lacks the '\(scope.rawValue)' scope")
            }
        } else if requireAPIKey, context.endedSession {
            throw APIError(.unauthorized, "session_ended", "the console session ended (it expired, was signed out, or NETRA restarted); sign in again")
        } else if requireAPIKey {
            throw APIError(.unauthorized, "missing_api_key", "send an API key in the X-API-Key header")
        } else if request.method != .get, request.method != .head, Self.isCrossSite(request) {
            await auditRefusedWrite(request, reason: "cross-origin without a key")
            throw APIError(.forbidden, "cross_origin_write", "a write without an API key must come from this service's own origin")
        } else if refusesCrossSiteReads, Self.isCrossSite(request) {
            throw APIError(.forbidden, "cross_origin_read", "a request from another web site needs an API key")
        }
        return try await next(request, context)
    }
}

extension ScopeMiddleware {
    /// A write the gate refuses is an attempt the audit log keeps, with the key that made it.
    /// The actor is the request's caller: `APIKeyMiddleware`, which runs first, bound it.
    private func auditRefusedWrite(_ request: Request, reason: String) async {
        guard request.method != .get, request.method != .head, let store = try? state.ready().store else { return }
        let event = AuditEvent(action: "\(request.method.rawValue) \(request.uri.path)", result: "refused", detail: reason)
        try? await blocking { try store.record(event) }
    }

    private static let origin = HTTPField.Name("Origin")!
    private static let fetchSite = HTTPField.Name("Sec-Fetch-Site")!

    /// Whether a browser says the request comes from another site: `Sec-Fetch-Site` other than
    /// `same-origin` or `none` (when a browser sends it, it alone decides: a proxy in front may
    /// rewrite `Host`), else an `Origin` whose host and port are not the request's own.
    /// Clients that are not browsers send neither and pass.
    static func isCrossSite(_ request: Request) -> Bool {
        if let site = request.headers[fetchSite]?.lowercased() { return site != "same-origin" && site != "none" }
        guard let origin = request.headers[origin] else { return false }
        let authority = request.head.authority ?? request.headers[values: HTTPField.Name("Host")!].first ?? ""
        guard let separator = origin.range(of: "://") else { return true }
        return origin[separator.upperBound...].lowercased() != authority.lowercased()
    }
}

/// A token bucket per caller: `rate` tokens per second up to `burst`.
final class RateLimiter: Sendable {
    private let rate: Double
    private let burst: Double
    private let buckets = Mutex([String: (tokens: Double, updated: Date)]())

    init(rate: Double, burst: Int) {
        self.rate = max(0.001, rate)
        self.burst = Double(max(1, burst))
    }

    /// Takes one token, or refuses the request with 429 `rate_limited` and `Retry-After`;
    /// `counting` says what the caller sent too many of.
    func admit(_ caller: String, counting what: String = "requests") throws {
        guard let retryAfter = take(for: caller) else { return }
        throw APIError(.tooManyRequests, "rate_limited", "too many \(what); retry after \(retryAfter) s", headers: [.retryAfter: "\(retryAfter)"])
    }

    /// Takes one token; returns the seconds to wait when there is none.
    private func take(for caller: String) -> Int? {
        buckets.withLock { buckets in
            let now = Date()
            var bucket = buckets[caller] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + now.timeIntervalSince(bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[caller] = bucket }
            guard bucket.tokens >= 1 else { return Int(((1 - bucket.tokens) / rate).rounded(.up)) }
            bucket.tokens -= 1
            if buckets.count > 100_000 { buckets = buckets.filter { now.timeIntervalSince($0.value.updated) < 60 } }
            return nil
        }
    }
}

extension HTTPField.Name {
    static let apiKey = HTTPField.Name("X-API-Key")!
    static let xContentTypeOptions = HTTPField.Name("X-Content-Type-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
}
