import Hummingbird
import NetraIdentity
import NetraStore

extension NetraRequestContext {
    /// The collection this request acts in (`CollectionAccess`): its API key's when the key is
    /// bound to one (naming another is a 403), else the one `requested` names (a `collection`
    /// field or query parameter), else `default` (404 when the named one does not exist).
    func collection(named requested: String?, in store: any IdentityStore) async throws -> SubjectCollection {
        let bound = apiKey?.collectionID
        return try await blocking {
            try identityCall { () throws(IdentityError) in
                try CollectionAccess(store: store).resolve(requested: requested, boundTo: bound)
            }
        }
    }

    /// Refuses a key bound to a collection (403 `collection_not_allowed`): what spans the whole
    /// service (collections themselves, API keys, the audit log) is for unbound keys only.
    func requireUnboundKey(to action: String) throws {
        guard apiKey?.collectionID == nil else {
            throw APIError(.forbidden, "collection_not_allowed", "an API key bound to a collection cannot \(action)")
        }
    }
}
