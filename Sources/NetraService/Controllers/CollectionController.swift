import Foundation
import Hummingbird
import NetraIdentity
import NetraStore

/// Collections (galleries): list, create, delete. Only an admin key bound to no collection
/// manages them; a bound key sees only its own.
struct CollectionController: Sendable {
    let state: ServiceState
    let bodies: BodyReader

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.get("collections", use: list)
        group.post("collections", use: create)
        group.patch("collections/:name", use: update)
        group.delete("collections/:name", use: delete)
    }

    struct CollectionJSON: Encodable {
        let name: String
        let subjects: Int
        let faces: Int
        let createdAt: String
        /// Absent: the compatible APIs follow `compat.strict_unknown`.
        let strictUnknown: Bool?

        init(_ collection: SubjectCollection) {
            (name, subjects, faces, createdAt) = (collection.name, collection.subjectCount, collection.faceCount, collection.createdAt)
            strictUnknown = collection.strictUnknown
        }

        enum CodingKeys: String, CodingKey {
            case name, subjects, faces
            case createdAt = "created_at", strictUnknown = "strict_unknown"
        }
    }

    struct CollectionList: Encodable {
        let collections: [CollectionJSON]
    }

    func list(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        let bound = context.apiKey?.collectionID
        let collections = try await blocking {
            try identityCall { () throws(IdentityError) in try CollectionAccess(store: store).list() }
        }.filter { bound == nil || $0.id == bound }
        return try JSONResponse.make(CollectionList(collections: collections.map(CollectionJSON.init)), for: request, context)
    }

    /// `{"name": ..., "strict_unknown": true|false|null}` (the name only on create).
    private func fields(_ request: Request, _ context: NetraRequestContext) async throws -> (name: String?, strictUnknown: Bool??) {
        guard RequestForm.mediaType(of: request) == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_content_type", #"send {"name": "..."} as application/json"#)
        }
        let body = try await bodies.collect(request, from: context.caller, limit: 4096, what: "a collection's JSON body")
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw APIError.badRequest("invalid_json", #"send a JSON object such as {"name": "reception"}"#)
        }
        var strictUnknown: Bool??
        switch object["strict_unknown"] {
        case nil: strictUnknown = .none
        case is NSNull: strictUnknown = .some(nil)
        case let value as Bool: strictUnknown = .some(value)
        default: throw APIError.badRequest("invalid_field", "'strict_unknown' must be true, false or null")
        }
        return (object["name"] as? String, strictUnknown)
    }

    func create(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        try context.requireUnboundKey(to: "create, change or delete collections")
        let fields = try await fields(request, context)
        guard let name = fields.name else { throw APIError.badRequest("missing_field", #"'name' is required, as in {"name": "reception"}"#) }
        let created = try await blocking {
            try identityCall { () throws(IdentityError) in
                try CollectionAccess(store: store).create(name: name, strictUnknown: fields.strictUnknown ?? nil)
            }
        }
        return try JSONResponse.make(CollectionJSON(created), status: .created, for: request, context)
    }

    func update(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        try context.requireUnboundKey(to: "create, change or delete collections")
        let name = try context.parameters.require("name")
        guard case let .some(strictUnknown) = try await fields(request, context).strictUnknown else {
            throw APIError.badRequest("missing_field", #"send the settings to change, such as {"strict_unknown": false}"#)
        }
        let updated = try await blocking {
            try identityCall { () throws(IdentityError) in
                try CollectionAccess(store: store).setStrictUnknown(strictUnknown, forCollectionNamed: name)
            }
        }
        return try JSONResponse.make(CollectionJSON(updated), for: request, context)
    }

    struct Deleted: Encodable {
        let status = "success"
        let deleted = "collection"
        let name: String
    }

    func delete(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        try context.requireUnboundKey(to: "create, change or delete collections")
        let name = try context.parameters.require("name")
        try await blocking {
            try identityCall { () throws(IdentityError) in try CollectionAccess(store: store).delete(named: name) }
        }
        return try JSONResponse.make(Deleted(name: name), for: request, context)
    }
}
