import NetraDescriptor

/// The people known to a store.
///
/// Each concern of the identity store is a protocol of its own, so that a second backend
/// (PostgreSQL for several replicas) implements the same contract as `SQLiteStore`, and a
/// caller that needs one concern asks for only that one. Every change returns once it is
/// durable and is written to the audit log in the same transaction.
public protocol SubjectRepository: Sendable {
    /// Creates a subject in a collection; `metadata` must be a JSON object.
    func createSubject(name: String, metadata: String, in collectionID: Int64) throws(StoreError) -> Subject
    /// Creates many subjects of one collection in one transaction (bulk import).
    func createSubjects(names: [String], in collectionID: Int64) throws(StoreError) -> [Subject]
    /// The subject with this id, whatever its collection (callers confined to a collection
    /// check `Subject.collectionID`).
    func subject(id: Int64) throws(StoreError) -> Subject?
    /// The names of the subjects with these ids that exist: how identify names its candidates
    /// (a replica of a shared store answers from memory, so that identify goes on while the
    /// database cannot be reached).
    func subjectNames(ids: Set<Int64>) throws(StoreError) -> [Int64: String]
    /// Subjects of a collection with exactly this name (names need not be unique).
    func subjects(named name: String, in collectionID: Int64) throws(StoreError) -> [Subject]
    /// A page of subjects in id order (see `SubjectPage`).
    func subjects(in page: SubjectPage) throws(StoreError) -> [Subject]
    /// Subjects of one collection, or of all when `collectionID` is `nil`.
    func subjectCount(in collectionID: Int64?) throws(StoreError) -> Int
    /// Renames a subject and/or replaces its metadata.
    func updateSubject(id: Int64, with change: SubjectChange) throws(StoreError) -> Subject
    /// Deletes a subject and all its faces.
    func deleteSubject(id: Int64) throws(StoreError)
    /// Deletes many subjects with their faces in one transaction (those already gone are
    /// skipped); returns how many were deleted.
    func deleteSubjects(ids: [Int64]) throws(StoreError) -> Int
    /// Moves every face of subject `id` to subject `target` of the same collection (re-sealed,
    /// bound to their new subject) and deletes `id`, in one transaction; returns `target` with
    /// its new face count.
    func mergeSubject(id: Int64, into target: Int64) throws(StoreError) -> Subject
}

/// The collections (galleries) subjects belong to.
public protocol CollectionRepository: Sendable {
    /// Creates a collection, optionally with its own strict unknown; names are unique, 1 to 64
    /// letters, digits, `-`, `_` or `.`.
    func createCollection(name: String, strictUnknown: Bool?) throws(StoreError) -> SubjectCollection
    /// Every collection, by id, with its subject and face counts.
    func collections() throws(StoreError) -> [SubjectCollection]
    /// The collection with this name, or `nil`. Its subject and face counts are filled in only
    /// when `counted`: counting costs a pass over the collection's faces (a quarter of a second
    /// for a million), which a request that only acts in the collection must not pay.
    func collection(named name: String, counted: Bool) throws(StoreError) -> SubjectCollection?
    /// The collection with this id, or `nil`, its counts filled in only when `counted`.
    func collection(id: Int64, counted: Bool) throws(StoreError) -> SubjectCollection?
    /// Sets (or, with `nil`, clears) the collection's own strict unknown.
    func updateCollection(id: Int64, strictUnknown: Bool?) throws(StoreError) -> SubjectCollection
    /// Deletes a collection with its subjects and faces. `default` cannot be deleted, nor a
    /// collection an active API key is bound to (`StoreError.collectionInUse`).
    func deleteCollection(id: Int64) throws(StoreError)
}

/// The enrolled faces: sealed embeddings and their quality facts.
public protocol FaceRepository: Sendable {
    /// Stores one face of a subject, sealed and bound to its row.
    func addFace(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError) -> StoredFace
    /// Stores one face for the subject with this name, creating the subject in the same
    /// transaction when no subject has it (so a failed enrollment leaves no empty subject, and
    /// concurrent enrollments under one new name make one subject); several subjects with the
    /// name in the collection are refused (`StoreError.ambiguousName`).
    func addFace(toSubjectNamed name: String, in collectionID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError)
        -> (subject: Subject, face: StoredFace)
    /// Stores many faces in one transaction (bulk import).
    func addFaces(_ faces: [NewFace]) throws(StoreError) -> [StoredFace]
    /// Deletes one face.
    func deleteFace(id: Int64) throws(StoreError)
    /// One face (without its embedding), whatever its collection.
    func face(id: Int64) throws(StoreError) -> StoredFace?
    /// The faces of a subject (without embeddings).
    func faces(ofSubject subjectID: Int64) throws(StoreError) -> [StoredFace]
    /// A page of the faces of a collection (or of one of its subjects), in id order, with
    /// their subjects' names, and how many there are in all.
    func faces(in page: FacePage) throws(StoreError) -> (faces: [(face: StoredFace, subjectName: String)], total: Int)
    /// Faces of one collection, or of all when `collectionID` is `nil`.
    func faceCount(in collectionID: Int64?) throws(StoreError) -> Int
}

/// Who did what: every change is recorded by the store itself; reads that answer a question
/// about a person (identify, verify) are recorded through `recordEvent`.
public protocol AuditLog: Sendable {
    /// Records an event that changes nothing else (identify, verify).
    func record(_ event: AuditEvent) throws(StoreError)
    /// The newest audit entries first.
    func auditLog(limit: Int) throws(StoreError) -> [AuditEntry]
}

/// The API keys of the HTTP service, stored only hashed.
public protocol APIKeyRepository: Sendable {
    /// Creates an API key; the returned secret text is shown once and not stored.
    /// A key bound to a collection (`collectionID`) only ever acts in it.
    func createAPIKey(name: String, scopes: [APIScope], collectionID: Int64?) throws(StoreError) -> (key: String, record: APIKeyRecord)
    /// The key record for a presented key text, or `nil` when it is unknown or does not match.
    func authenticateAPIKey(_ text: String) throws(StoreError) -> APIKeyRecord?
    func apiKeys() throws(StoreError) -> [APIKeyRecord]
    /// The key with this id, revoked or not; `nil` when there is none.
    func apiKey(id: String) throws(StoreError) -> APIKeyRecord?
    /// Revokes a key; it stops working at once.
    func revokeAPIKey(id: String) throws(StoreError)
}

/// The sealing keys: re-sealing under a new key, and checking every sealed row.
public protocol SealedRowMaintenance: Sendable {
    /// Re-seals every face under `newKey`, in batches, resumable when interrupted.
    func rotateKey(to newKey: KeySource, batchSize: Int,
                   progress: (_ done: Int, _ total: Int) -> Void) throws(StoreError) -> RotationReport
    /// Re-reads and authenticates every stored face, and checks the database's integrity.
    func check() throws(StoreError) -> (report: LoadReport, integrity: [String])
}

/// A whole identity store: every concern above plus the in-memory 1:N index of its faces of
/// one model version, which follows the store after each committed change.
public protocol IdentityStore: SubjectRepository, CollectionRepository, FaceRepository, AuditLog, APIKeyRepository, SealedRowMaintenance {
    /// The embedder version of the faces in `index`; faces of other versions are never searched.
    var modelVersion: String { get }
    var index: FaceGallery { get }
    /// What opening found (tampered rows, other model versions, missing keys).
    var loadReport: LoadReport { get }
    /// Why the store cannot be used now (its database gone or replaced, unreachable), or `nil`.
    var unavailabilityReason: String? { get }
    /// Why the store answers from memory only, or `nil`: a replica whose shared database became
    /// unreachable after its index was loaded and following goes on identifying and verifying
    /// (degraded, not down) and refuses changes until the database is back.
    var degradationReason: String? { get }
}

// The conveniences below differ from the requirements in their labels, so that a backend that
// leaves a requirement out fails to compile instead of inheriting a method that calls itself.

extension AuditLog {
    public func recordEvent(action: String, subjectID: Int64? = nil, result: String, detail: String = "") throws(StoreError) {
        try record(AuditEvent(action: action, subjectID: subjectID, result: result, detail: detail))
    }

    public func auditLog() throws(StoreError) -> [AuditEntry] { try auditLog(limit: 100) }
}

extension SubjectRepository {
    /// A subject of the default collection.
    public func createSubject(name: String, metadata: String = "{}") throws(StoreError) -> Subject {
        try createSubject(name: name, metadata: metadata, in: SubjectCollection.defaultID)
    }

    public func subjectCount() throws(StoreError) -> Int { try subjectCount(in: nil) }

    public func updateSubject(id: Int64, name: String? = nil, metadata: String? = nil) throws(StoreError) -> Subject {
        try updateSubject(id: id, with: SubjectChange(name: name, metadata: metadata))
    }
}

extension CollectionRepository {
    /// A collection that follows `compat.strict_unknown`.
    public func createCollection(name: String) throws(StoreError) -> SubjectCollection {
        try createCollection(name: name, strictUnknown: nil)
    }
}

extension FaceRepository {
    public func faceCount() throws(StoreError) -> Int { try faceCount(in: nil) }
}

extension APIKeyRepository {
    /// A key not bound to a collection.
    public func createAPIKey(name: String, scopes: [APIScope]) throws(StoreError) -> (key: String, record: APIKeyRecord) {
        try createAPIKey(name: name, scopes: scopes, collectionID: nil)
    }
}

extension SealedRowMaintenance {
    public func rotateKey(to newKey: KeySource, batchSize: Int = 500) throws(StoreError) -> RotationReport {
        try rotateKey(to: newKey, batchSize: batchSize, progress: { _, _ in })
    }
}

/// Which subjects a listing returns: those of `collectionID` whose name contains
/// `nameContaining` (all when `nil` or empty), in id order, `limit` from `offset`.
public struct SubjectPage: Sendable, Equatable {
    public var collectionID: Int64
    public var nameContaining: String?
    public var limit: Int
    public var offset: Int

    public init(collectionID: Int64, nameContaining: String? = nil, limit: Int = 100, offset: Int = 0) {
        self.collectionID = collectionID
        self.nameContaining = nameContaining
        self.limit = limit
        self.offset = offset
    }
}

/// Which faces a listing returns: those of `collectionID` (only subject `subjectID`'s when
/// given), in id order, `limit` from `offset`.
public struct FacePage: Sendable, Equatable {
    public var collectionID: Int64
    public var subjectID: Int64?
    public var limit: Int
    public var offset: Int

    public init(collectionID: Int64, subjectID: Int64? = nil, limit: Int = 100, offset: Int = 0) {
        self.collectionID = collectionID
        self.subjectID = subjectID
        self.limit = limit
        self.offset = offset
    }
}

/// A change to a subject: a new name, new metadata (a JSON object), or both; `nil` keeps it.
public struct SubjectChange: Sendable, Equatable {
    public var name: String?
    public var metadata: String?

    public init(name: String? = nil, metadata: String? = nil) {
        self.name = name
        self.metadata = metadata
    }
}

/// An audit entry for an event that changes nothing else (identify, verify).
public struct AuditEvent: Sendable, Equatable {
    public var action: String
    public var subjectID: Int64?
    public var result: String
    public var detail: String

    public init(action: String, subjectID: Int64? = nil, result: String, detail: String = "") {
        self.action = action
        self.subjectID = subjectID
        self.result = result
        self.detail = detail
    }
}
