import Foundation
import Hummingbird
import NetraIdentity
import NetraStore

/// API keys and the audit log, for admin keys bound to no collection (the console's API keys
/// page and overview; `netra apikeys` does the same on the command line).
struct AdminController: Sendable {
    let state: ServiceState
    let bodies: BodyReader
    let sessions: ConsoleSessions

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.get("apikeys", use: listKeys)
        group.post("apikeys", use: createKey)
        group.delete("apikeys/:id", use: revokeKey)
        group.get("audit", use: audit)
    }

    /// An API key as the API prints it: never its secret.
    struct APIKeyJSON: Encodable {
        let id: String
        let name: String
        let scopes: [APIScope]
        let createdAt: String
        let lastUsedAt: String?
        let revokedAt: String?
        let collection: String?

        enum CodingKeys: String, CodingKey {
            case id, name, scopes, collection
            case createdAt = "created_at", lastUsedAt = "last_used_at", revokedAt = "revoked_at"
        }
    }

    struct KeyList: Encodable {
        let apiKeys: [APIKeyJSON]

        enum CodingKeys: String, CodingKey {
            case apiKeys = "api_keys"
        }
    }

    func listKeys(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        try context.requireUnboundKey(to: "manage API keys or read the audit log")
        let store = try state.ready().store
        let keys = try await blocking { try Self.json(store.apiKeys(), in: store) }
        return try JSONResponse.make(KeyList(apiKeys: keys), noStore: true, for: request, context)
    }

    struct CreatedKey: Encodable {
        /// The secret, shown this once.
        let key: String
        let apiKey: APIKeyJSON

        enum CodingKeys: String, CodingKey {
            case key
            case apiKey = "api_key"
        }
    }

    /// `{"name": ..., "scopes": ["recognize", ...], "collection": optional}`.
    func createKey(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        try context.requireUnboundKey(to: "manage API keys or read the audit log")
        guard RequestForm.mediaType(of: request) == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_content_type", #"send {"name": ..., "scopes": [...]} as application/json"#)
        }
        let body = try await bodies.collect(request, from: context.caller, limit: 4096, what: "an API key's JSON body")
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw APIError.badRequest("invalid_json", #"send a JSON object such as {"name": "door", "scopes": ["recognize"]}"#)
        }
        guard let name = object["name"] as? String else { throw APIError.badRequest("missing_field", "'name' is required") }
        guard let names = object["scopes"] as? [String], !names.isEmpty else {
            throw APIError.badRequest("missing_field", "'scopes' must list one or more of recognize, manage, admin")
        }
        let scopes = try names.map { text in
            guard let scope = APIScope(rawValue: text) else {
                throw APIError.badRequest("invalid_field", "'\(text)' is not a scope; use recognize, manage or admin")
            }
            return scope
        }
        if let value = object["collection"], !(value is String) && !(value is NSNull) {
            throw APIError.badRequest("invalid_field", "'collection' must be a collection's name")
        }
        let store = try state.ready().store
        var collection: SubjectCollection?
        if let name = object["collection"] as? String { collection = try await context.collection(named: name, in: store) }
        let collectionID = collection?.id
        let created = try await blocking { try store.createAPIKey(name: name, scopes: Array(Set(scopes)).sorted(), collectionID: collectionID) }
        let json = try await blocking { try Self.json([created.record], in: store)[0] }
        return try JSONResponse.make(CreatedKey(key: created.key, apiKey: json), status: .created, noStore: true, for: request, context)
    }

    struct Revoked: Encodable {
        let status = "success"
        let revoked: String
    }

    func revokeKey(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        try context.requireUnboundKey(to: "manage API keys or read the audit log")
        let id = try context.parameters.require("id")
        let store = try state.ready().store
        guard let key = try await blocking({ try store.apiKey(id: id) }), key.revokedAt == nil else {
            throw APIError(.notFound, "api_key_not_found", "no active API key has id \(id)")
        }
        try await blocking { try store.revokeAPIKey(id: id) }
        sessions.endAll(keyID: id)
        return try JSONResponse.make(Revoked(revoked: id), for: request, context)
    }

    struct AuditJSON: Encodable {
        let id: Int64
        let at: String
        let actor: String
        let action: String
        let subjectID: Int64?
        let faceID: Int64?
        let result: String
        let detail: String

        init(_ entry: AuditEntry) {
            (id, at, actor, action, result, detail) = (entry.id, entry.at, entry.actor, entry.action, entry.result, entry.detail)
            (subjectID, faceID) = (entry.subjectID, entry.faceID)
        }

        enum CodingKeys: String, CodingKey {
            case id, at, actor, action, result, detail
            case subjectID = "subject_id", faceID = "face_id"
        }
    }

    struct AuditList: Encodable {
        let events: [AuditJSON]
    }

    /// The most recent audit events, newest first (`limit`, 1 to 500, default 50).
    func audit(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        try context.requireUnboundKey(to: "manage API keys or read the audit log")
        let limit = try request.integerQuery("limit", in: 1...500) ?? 50
        let store = try state.ready().store
        let entries = try await blocking { try store.auditLog(limit: limit) }
        return try JSONResponse.make(AuditList(events: entries.map(AuditJSON.init)), noStore: true, for: request, context)
    }

    private static func json(_ records: [APIKeyRecord], in store: any IdentityStore) throws -> [APIKeyJSON] {
        let names = Dictionary(uniqueKeysWithValues: try store.collections().map { ($0.id, $0.name) })
        return records.map {
            APIKeyJSON(id: $0.id, name: $0.name, scopes: $0.scopes, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt,
                       revokedAt: $0.revokedAt, collection: $0.collectionID.flatMap { names[$0] })
        }
    }
}
