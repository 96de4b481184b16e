import Foundation
import HTTPTypes
import Hummingbird
import NetraStore

/// The console's sign-in: an API key sent once is exchanged for a server-side session
/// (`ConsoleSessions`), held by the browser as an HttpOnly, SameSite=Strict cookie.
struct ConsoleController: Sendable {
    let state: ServiceState
    let sessions: ConsoleSessions
    let limiter: RateLimiter
    let bodies: BodyReader
    let requireAPIKey: Bool
    let secureCookie: Bool

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.post("console/session", use: signIn)
        group.get("console/session", use: show)
        group.delete("console/session", use: signOut)
    }

    /// The key a session stands for, as the console shows it.
    struct KeyJSON: Encodable {
        let id: String
        let name: String
        let collection: String?
    }

    /// What the console may show: whether someone is signed in, and with which scopes.
    struct SessionJSON: Encodable {
        let signedIn: Bool
        let keyRequired: Bool
        let scopes: [APIScope]
        var key: KeyJSON?
        var csrfToken: String?
        var expiresAt: String?

        enum CodingKeys: String, CodingKey {
            case scopes, key
            case signedIn = "signed_in", keyRequired = "key_required", csrfToken = "csrf_token", expiresAt = "expires_at"
        }
    }

    struct SignIn: Decodable {
        let apiKey: String

        enum CodingKeys: String, CodingKey {
            case apiKey = "api_key"
        }
    }

    func signIn(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        try limiter.admit(context.caller)
        // A sign-in another site's page posts would sign the browser in as someone else's key.
        if ScopeMiddleware.isCrossSite(request) {
            throw APIError(.forbidden, "cross_origin_write", "sign in from the console's own page")
        }
        guard RequestForm.mediaType(of: request) == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_content_type", #"send {"api_key": "..."} as application/json"#)
        }
        let body = try await bodies.collect(request, from: context.caller, limit: 4096, what: "a sign-in")
        guard let presented = try? JSONDecoder().decode(SignIn.self, from: Data(buffer: body)).apiKey, !presented.isEmpty else {
            throw APIError.badRequest("invalid_json", #"send {"api_key": "netra_..."}"#)
        }
        let store = try state.ready().store
        guard let record = try await blocking({ try store.authenticateAPIKey(presented) }), record.revokedAt == nil else {
            try limiter.admit(context.caller, counting: "refused API keys")
            throw APIError(.unauthorized, "invalid_api_key", "the API key is unknown or revoked")
        }
        let (token, session) = sessions.open(keyID: record.id)
        try? await blocking {
            try AuditActor.$current.withValue("console key:\(record.id)") {
                try store.record(AuditEvent(action: "console sign-in", result: "success", detail: record.name))
            }
        }
        var response = try JSONResponse.make(try await sessionJSON(session, record: record), status: .created, for: request, context)
        response.setCookie(Cookie(name: ConsoleSessions.cookieName, value: token, maxAge: Int(sessions.lifetime), path: "/",
                                  secure: secureCookie, httpOnly: true, sameSite: .strict))
        return response
    }

    func show(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        if let token = request.cookies[ConsoleSessions.cookieName]?.value, let session = sessions.session(for: token) {
            let store = try state.ready().store
            if let record = try await blocking({ try store.apiKeys().first { $0.id == session.keyID } }), record.revokedAt == nil {
                return try JSONResponse.make(try await sessionJSON(session, record: record), noStore: true, for: request, context)
            }
            sessions.end(token)
        }
        let anonymous = SessionJSON(signedIn: false, keyRequired: requireAPIKey, scopes: requireAPIKey ? [] : APIScope.allCases)
        return try JSONResponse.make(anonymous, noStore: true, for: request, context)
    }

    struct SignedOut: Encodable {
        let status = "success"
    }

    /// Ends the session; like every change made with the cookie, it needs the CSRF token.
    func signOut(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        if let token = request.cookies[ConsoleSessions.cookieName]?.value, let session = sessions.session(for: token) {
            guard let sent = request.headers[.csrfToken], ConsoleSessions.tokensMatch(sent, session.csrfToken) else {
                throw APIError(.forbidden, "csrf_token_invalid", "a change from the console must carry its X-CSRF-Token")
            }
            sessions.end(token)
        }
        var response = try JSONResponse.make(SignedOut(), for: request, context)
        response.setCookie(Cookie(name: ConsoleSessions.cookieName, value: "", maxAge: 0, path: "/",
                                  secure: secureCookie, httpOnly: true, sameSite: .strict))
        return response
    }

    private func sessionJSON(_ session: ConsoleSessions.Session, record: APIKeyRecord) async throws -> SessionJSON {
        let store = try state.ready().store
        let collectionID = record.collectionID
        let collection = try await blocking { try collectionID.flatMap { try store.collection(id: $0)?.name } }
        let scopes = record.scopes.contains(.admin) ? APIScope.allCases : record.scopes.sorted()
        return SessionJSON(signedIn: true, keyRequired: requireAPIKey, scopes: scopes,
                           key: KeyJSON(id: record.id, name: record.name, collection: collection),
                           csrfToken: session.csrfToken, expiresAt: ISO8601DateFormatter().string(from: session.expiresAt))
    }
}

/// The headers of the console's pages and files: a strict Content-Security-Policy (nothing
/// inline, nothing from elsewhere; the camera for this origin only), no framing, revalidated.
struct ConsolePageMiddleware: RouterMiddleware {
    typealias Context = NetraRequestContext

    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:",
        "media-src 'self' blob: mediastream:", "connect-src 'self'", "object-src 'none'",
        "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'",
    ].joined(separator: "; ")

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path == "/console" || path.hasPrefix("/console/") else { return try await next(request, context) }
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[.xFrameOptions] = "DENY"
        response.headers[.permissionsPolicy] = "camera=(self), microphone=()"
        response.headers[.cacheControl] = "no-cache"
        return response
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let permissionsPolicy = HTTPField.Name("Permissions-Policy")!
}

/// Where the console's files are: `Resources/console` of NetraService's resource bundle.
enum ConsoleFiles {
    static let folder: String? = Bundle.module.url(forResource: "Resources/console", withExtension: nil)?.path
}
