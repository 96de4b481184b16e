import NetraDescriptor
import NetraStore

/// How a request names the subject a face is enrolled for.
public enum SubjectChoice: Sendable, Equatable {
    /// An existing subject's id.
    case id(Int64)
    /// A name: the subject with it, created when no subject has it; refused when several do.
    case named(String)
}

/// Subject and face management as every surface offers it, confined to one collection: a
/// subject or face of another collection is answered as one that does not exist. The store's
/// refusals become `IdentityError`s.
public struct SubjectDirectory: Sendable {
    public let store: any IdentityStore
    /// The collection every call acts in.
    public let collectionID: Int64

    public init(store: any IdentityStore, collectionID: Int64) {
        self.store = store
        self.collectionID = collectionID
    }

    /// The subject a choice names: the one with that id (else `notFound`), the one with that
    /// name, or `nil` for a name no subject has yet (several with it: `ambiguousName`).
    public func find(_ choice: SubjectChoice) throws(IdentityError) -> Subject? {
        switch choice {
        case let .id(id):
            return try subject(id: id)
        case let .named(name):
            let matches = try subjects(named: name)
            guard matches.count <= 1 else { throw IdentityError.ambiguousName(name, count: matches.count) }
            return matches.first
        }
    }

    /// Every subject of the collection with exactly this name (names need not be unique).
    public func subjects(named name: String) throws(IdentityError) -> [Subject] {
        try storeCall { () throws(StoreError) in try store.subjects(named: name, in: collectionID) }
    }

    /// The subject with this id in the collection, else `notFound`.
    public func subject(id: Int64) throws(IdentityError) -> Subject {
        guard let subject = try storeCall({ () throws(StoreError) in try store.subject(id: id) }), subject.collectionID == collectionID else {
            throw IdentityError(StoreError.subjectNotFound(id))
        }
        return subject
    }

    /// A subject with its faces.
    public func subjectWithFaces(id: Int64) throws(IdentityError) -> (subject: Subject, faces: [StoredFace]) {
        let subject = try subject(id: id)
        return (subject, try storeCall { () throws(StoreError) in try store.faces(ofSubject: id) })
    }

    /// Creates a subject of the collection; `metadata` must be a JSON object.
    public func create(name: String, metadata: String = "{}") throws(IdentityError) -> Subject {
        try storeCall { () throws(StoreError) in try store.createSubject(name: name, metadata: metadata, in: collectionID) }
    }

    /// A page of the collection's subjects, and how many it has in all.
    public func list(nameContaining: String? = nil, limit: Int = 100, offset: Int = 0) throws(IdentityError) -> (subjects: [Subject], total: Int) {
        let page = SubjectPage(collectionID: collectionID, nameContaining: nameContaining, limit: limit, offset: offset)
        return try storeCall { () throws(StoreError) in (try store.subjects(in: page), try store.subjectCount(in: collectionID)) }
    }

    /// Every subject of the collection, read a page at a time (the compatible APIs list them all).
    public func all() throws(IdentityError) -> [Subject] {
        var subjects: [Subject] = []
        while true {
            let page = try list(limit: 1000, offset: subjects.count)
            subjects += page.subjects
            if page.subjects.isEmpty || subjects.count >= page.total { return subjects }
        }
    }

    /// Renames a subject of the collection and/or replaces its metadata.
    public func update(id: Int64, with change: SubjectChange) throws(IdentityError) -> Subject {
        _ = try subject(id: id)
        return try storeCall { () throws(StoreError) in try store.updateSubject(id: id, with: change) }
    }

    /// Deletes a subject with its faces; returns it as it was.
    @discardableResult
    public func delete(id: Int64) throws(IdentityError) -> Subject {
        let subject = try subject(id: id)
        try storeCall { () throws(StoreError) in try store.deleteSubject(id: id) }
        return subject
    }

    /// Deletes subjects of the collection with their faces, in one transaction (a subject of
    /// another collection is refused as not found, and nothing is deleted); returns how many
    /// were deleted (those deleted meanwhile are not counted).
    @discardableResult
    public func delete(_ subjects: [Subject]) throws(IdentityError) -> Int {
        if let foreign = subjects.first(where: { $0.collectionID != collectionID }) { throw IdentityError(StoreError.subjectNotFound(foreign.id)) }
        return try storeCall { () throws(StoreError) in try store.deleteSubjects(ids: subjects.map(\.id)) }
    }

    /// Moves every face of subject `id` to subject `target` and deletes `id`.
    public func merge(id: Int64, into target: Int64) throws(IdentityError) -> Subject {
        _ = try subject(id: id)
        _ = try subject(id: target)
        return try storeCall { () throws(StoreError) in try store.mergeSubject(id: id, into: target) }
    }

    /// One face of the collection with its subject.
    public func face(id faceID: Int64) throws(IdentityError) -> (face: StoredFace, subject: Subject) {
        guard let face = try storeCall({ () throws(StoreError) in try store.face(id: faceID) }),
              let subject = try storeCall({ () throws(StoreError) in try store.subject(id: face.subjectID) }),
              subject.collectionID == collectionID
        else { throw IdentityError(StoreError.faceNotFound(faceID)) }
        return (face, subject)
    }

    /// The embedding of a stored face of the collection, for a comparison with a new image
    /// (it never leaves the service unless the operator exposes embeddings). A face enrolled
    /// with another model version has none in memory and is reported missing.
    public func descriptor(ofFace faceID: Int64) throws(IdentityError) -> FaceDescriptor {
        _ = try face(id: faceID)
        guard let values = store.index.descriptor(faceID: faceID) else {
            throw .notFound("face \(faceID) was enrolled with another model version; re-enroll it")
        }
        return FaceDescriptor(values: values)
    }

    /// A page of the collection's faces (of one subject when `subjectID` is given) with their
    /// subjects' names, and how many there are in all.
    public func faces(ofSubject subjectID: Int64? = nil, limit: Int, offset: Int) throws(IdentityError)
        -> (faces: [(face: StoredFace, subjectName: String)], total: Int) {
        if let subjectID { _ = try subject(id: subjectID) }
        let page = FacePage(collectionID: collectionID, subjectID: subjectID, limit: limit, offset: offset)
        return try storeCall { () throws(StoreError) in try store.faces(in: page) }
    }

    /// Removes face `faceID`, which must belong to subject `subjectID` when one is given;
    /// returns it with its subject.
    @discardableResult
    public func deleteFace(id faceID: Int64, ofSubject subjectID: Int64? = nil) throws(IdentityError) -> (face: StoredFace, subject: Subject) {
        let found = try face(id: faceID)
        if let subjectID, found.face.subjectID != subjectID { throw IdentityError(StoreError.faceNotFound(faceID)) }
        try storeCall { () throws(StoreError) in try store.deleteFace(id: faceID) }
        return found
    }
}
