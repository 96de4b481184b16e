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

    /// The subject a choice names, creating a named one on first use.
    public func resolve(_ choice: SubjectChoice) throws(IdentityError) -> Subject {
        do {
            switch choice {
            case let .id(id):
                guard let subject = try store.subject(id: id) else { throw IdentityError.notFound(StoreError.subjectNotFound(id).description) }
                return subject
            case let .named(name):
                let matches = try store.subjects(named: name)
                guard matches.count <= 1 else { throw IdentityError.ambiguousName(name, count: matches.count) }
                return try matches.first ?? store.createSubject(name: name)
            }
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(error as? StoreError ?? .database("\(error)"))
        }
    }

    /// A subject with its faces.
    public func subjectWithFaces(id: Int64) throws(IdentityError) -> (subject: Subject, faces: [StoredFace]) {
        do {
            guard let subject = try store.subject(id: id) else { throw IdentityError.notFound(StoreError.subjectNotFound(id).description) }
            return (subject, try store.faces(ofSubject: id))
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(error as? StoreError ?? .database("\(error)"))
        }
    }

    /// Removes face `faceID`, which must belong to subject `subjectID` when one is given.
    public func deleteFace(id faceID: Int64, ofSubject subjectID: Int64? = nil) throws(IdentityError) {
        do {
            if let subjectID, !(try store.faces(ofSubject: subjectID).contains { $0.id == faceID }) {
                throw IdentityError.notFound(StoreError.faceNotFound(faceID).description)
            }
            try store.deleteFace(id: faceID)
        } catch let error as IdentityError {
            throw error
        } catch {
            throw IdentityError(error as? StoreError ?? .database("\(error)"))
        }
    }
}
