import Foundation
import Hummingbird
import NetraStore
import NIOCore

/// Per-request state: who is calling (API key or client address).
public struct NetraRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's address, for rate limiting requests without a key.
    public let remoteAddress: SocketAddress?
    /// The authenticated API key, when one was presented.
    public var apiKey: APIKeyRecord?
    /// A key presented elsewhere than in `X-API-Key` (DeepStack's `api_key` field), for
    /// `APIKeyMiddleware` to check like one in the header.
    var presentedAPIKey: String?
    /// The form of a DeepStack-compatible request, read once before its key is checked.
    var peerForm: RequestForm?
    /// Whether this request already spent its rate-limit token (before reading a DeepStack form).
    var rateLimitTaken = false
    /// The console session the request came with, when it was authenticated by its cookie.
    var consoleSession: ConsoleSessions.Session?
    /// Whether the request came with a console cookie of a session that no longer exists.
    var endedSession = false

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// JSON as NETRA writes it: each wire type spells its keys (snake_case; subject metadata is
    /// the client's own JSON and keeps its keys), sorted, slashes unescaped.
    public var responseEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Whom rate limits and audit entries are about.
    var caller: String {
        if let apiKey { return "key:\(apiKey.id)" }
        return "ip:\(remoteAddress?.ipAddress ?? "local")"
    }

    /// The audit log's actor for this request's changes (the key's id, never its secret; the
    /// console's changes are told apart from other callers of the same key).
    var auditActor: String {
        if consoleSession != nil, let apiKey { return Self.consoleActor(keyID: apiKey.id) }
        return "api \(caller)"
    }

    /// The audit log's actor for the console's changes made with the key `keyID`.
    static func consoleActor(keyID: String) -> String { "console key:\(keyID)" }
}
