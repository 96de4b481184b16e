import NetraStore

/// How a request names the subject a face is enrolled for.
public enum SubjectChoice: Sendable, Equatable {
    /// An existing subject's id.
    case id(Int64)
    /// A name: the subject with it, created when no subject has it; refused when several do.
    case named(String)
}

/// Subject and face management as every surface offers it: finding subjects by id or name,
/// and removing faces, with the store's refusals turned into `IdentityError`s.
public struct SubjectDirectory: Sendable {
    public let store: any IdentityStore

    public init(store: any IdentityStore) {
        self.store = store
    }

    /// The subject a choice names: the one with that id (else `notFound`), the one with that
    /// name, or `nil` for a name no subject has yet (several with it: `ambiguousName`).
    public func find(_ choice: SubjectChoice) throws(IdentityError) -> Subject? {
        switch choice {
        case let .id(id):
            return try existing(id)
        case let .named(name):
            let matches = try storeCall { () throws(StoreError) in try store.subjects(named: name) }
            guard matches.count <= 1 else { throw IdentityError.ambiguousName(name, count: matches.count) }
            return matches.first
        }
    }

    /// A subject with its faces.
    public func subjectWithFaces(id: Int64) throws(IdentityError) -> (subject: Subject, faces: [StoredFace]) {
        let subject = try existing(id)
        return (subject, try storeCall { () throws(StoreError) in try store.faces(ofSubject: id) })
    }

    /// Removes face `faceID`, which must belong to subject `subjectID` when one is given.
    public func deleteFace(id faceID: Int64, ofSubject subjectID: Int64? = nil) throws(IdentityError) {
        if let subjectID {
            let faces = try storeCall { () throws(StoreError) in try store.faces(ofSubject: subjectID) }
            guard faces.contains(where: { $0.id == faceID }) else { throw IdentityError(StoreError.faceNotFound(faceID)) }
        }
        try storeCall { () throws(StoreError) in try store.deleteFace(id: faceID) }
    }

    private func existing(_ id: Int64) throws(IdentityError) -> Subject {
        guard let subject = try storeCall({ () throws(StoreError) in try store.subject(id: id) }) else {
            throw IdentityError(StoreError.subjectNotFound(id))
        }
        return subject
    }

    private func storeCall<T>(_ body: () throws(StoreError) -> T) throws(IdentityError) -> T {
        do {
            return try body()
        } catch {
            throw IdentityError(error)
        }
    }
}
