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
        let (token, session) = sessions.open(keyID: record.id, replacing: request.cookies[ConsoleSessions.cookieName]?.value)
        await audit("console sign-in", keyID: record.id, detail: record.name)
        var response = try JSONResponse.make(try await sessionJSON(session, record: record), status: .created, noStore: true, for: request, context)
        response.setCookie(Cookie(name: ConsoleSessions.cookieName, value: token, maxAge: Int(sessions.lifetime), path: "/",
                                  secure: secureCookie, httpOnly: true, sameSite: .strict))
        return response
    }

    func show(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        if let token = request.cookies[ConsoleSessions.cookieName]?.value, let session = sessions.session(for: token) {
            if let record = try await session.activeKey(in: try state.ready().store) {
                return try JSONResponse.make(try await sessionJSON(session, record: record), noStore: true, for: request, context)
            }
            sessions.endAll(keyID: session.keyID)
        }
        let anonymous = SessionJSON(signedIn: false, keyRequired: requireAPIKey, scopes: requireAPIKey ? [] : APIScope.allCases)
        var response = try JSONResponse.make(anonymous, noStore: true, for: request, context)
        if request.cookies[ConsoleSessions.cookieName] != nil { response.setCookie(endedCookie) }
        return response
    }

    struct SignedOut: Encodable {
        let status = "success"
    }

    /// Ends the session; like every change made with the cookie, it needs the CSRF token.
    func signOut(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        if let token = request.cookies[ConsoleSessions.cookieName]?.value, let session = sessions.session(for: token) {
            try session.checkCSRFToken(of: request)
            if ScopeMiddleware.isCrossSite(request) {
                throw APIError(.forbidden, "cross_origin_write", "sign out from the console's own page")
            }
            sessions.end(token)
            await audit("console sign-out", keyID: session.keyID)
        }
        var response = try JSONResponse.make(SignedOut(), for: request, context)
        response.setCookie(endedCookie)
        return response
    }

    /// Records a sign-in or sign-out as the console acting for `keyID` (best effort: the
    /// session itself lives in memory).
    private func audit(_ action: String, keyID: String, detail: String = "") async {
        guard let store = try? state.ready().store else { return }
        try? await blocking {
            try AuditActor.$current.withValue(NetraRequestContext.consoleActor(keyID: keyID)) {
                try store.record(AuditEvent(action: action, result: "success", detail: detail))
            }
        }
    }

    /// The cookie that makes the browser forget its session.
    private var endedCookie: Cookie {
        Cookie(name: ConsoleSessions.cookieName, value: "", maxAge: 0, path: "/", secure: secureCookie, httpOnly: true, sameSite: .strict)
    }

    private func sessionJSON(_ session: ConsoleSessions.Session, record: APIKeyRecord) async throws -> SessionJSON {
        let store = try state.ready().store
        let collectionID = record.collectionID
        let collection = try await blocking { try collectionID.flatMap { try store.collection(id: $0, counted: false)?.name } }
        let scopes = record.scopes.contains(.admin) ? APIScope.allCases : record.scopes.sorted()
        return SessionJSON(signedIn: true, keyRequired: requireAPIKey, scopes: scopes,
                           key: KeyJSON(id: record.id, name: record.name, collection: collection),
                           csrfToken: session.csrfToken, expiresAt: ISO8601DateFormatter().string(from: session.expiresAt))
    }
}
