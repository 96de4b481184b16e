import NetraStore

/// Which collection a caller acts in, and the management of collections.
///
/// A caller bound to a collection (an API key created with one) acts only in it: naming
/// another is refused, and nothing it does reaches outside it. An unbound caller names a
/// collection per request, `default` when it names none.
public struct CollectionAccess: Sendable {
    public let store: any IdentityStore

    public init(store: any IdentityStore) {
        self.store = store
    }

    /// The collection a request acts in: `boundTo` (a bound caller's collection id, refusing
    /// any other name), else the one `requested` names, else `default`. Its subjects and faces
    /// are not counted (both counts are 0): every identification looks its collection up.
    public func resolve(requested: String?, boundTo: Int64?) throws(IdentityError) -> SubjectCollection {
        let requested = requested.flatMap { $0.isEmpty ? nil : $0 }
        if let boundTo {
            guard let bound = try storeCall({ () throws(StoreError) in try store.collection(id: boundTo, counted: false) }) else {
                throw .collectionNotFound("\(boundTo)")
            }
            if let requested, requested != bound.name { throw .collectionNotAllowed(requested) }
            return bound
        }
        return try named(requested ?? SubjectCollection.defaultName)
    }

    /// Creates a collection, with its own strict unknown for the compatible APIs when given.
    public func create(name: String, strictUnknown: Bool? = nil) throws(IdentityError) -> SubjectCollection {
        try storeCall { () throws(StoreError) in try store.createCollection(name: name, strictUnknown: strictUnknown) }
    }

    /// Every collection with its subject and face counts.
    public func list() throws(IdentityError) -> [SubjectCollection] {
        try storeCall { () throws(StoreError) in try store.collections() }
    }

    /// Sets the compatible APIs' strict unknown of the collection with this name (`nil`: the
    /// `compat.strict_unknown` setting).
    public func setStrictUnknown(_ strictUnknown: Bool?, forCollectionNamed name: String) throws(IdentityError) -> SubjectCollection {
        let collection = try named(name)
        return try storeCall { () throws(StoreError) in try store.updateCollection(id: collection.id, strictUnknown: strictUnknown) }
    }

    /// Deletes the collection with this name, its subjects and their faces.
    public func delete(named name: String) throws(IdentityError) {
        let collection = try named(name)
        try storeCall { () throws(StoreError) in try store.deleteCollection(id: collection.id) }
    }

    private func named(_ name: String) throws(IdentityError) -> SubjectCollection {
        guard let collection = try storeCall({ () throws(StoreError) in try store.collection(named: name, counted: false) }) else {
            throw .collectionNotFound(name)
        }
        return collection
    }
}
