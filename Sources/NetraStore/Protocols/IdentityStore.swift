import NetraDescriptor

/// The people known to a store.
///
/// Each concern of the identity store is a protocol of its own, so that a second backend
/// (PostgreSQL for several replicas) implements the same contract as `SQLiteStore`, and a
/// caller that needs one concern asks for only that one. Every change returns once it is
/// durable and is written to the audit log in the same transaction.
public protocol SubjectRepository: Sendable {
    /// Creates a subject; `metadata` must be a JSON object.
    func createSubject(name: String, metadata: String) throws(StoreError) -> Subject
    /// Creates many subjects in one transaction (bulk import).
    func createSubjects(names: [String]) throws(StoreError) -> [Subject]
    func subject(id: Int64) throws(StoreError) -> Subject?
    /// Subjects with exactly this name (names need not be unique).
    func subjects(named name: String) throws(StoreError) -> [Subject]
    /// A page of subjects in id order (see `SubjectPage`).
    func subjects(in page: SubjectPage) throws(StoreError) -> [Subject]
    func subjectCount() throws(StoreError) -> Int
    /// Renames a subject and/or replaces its metadata.
    func updateSubject(id: Int64, with change: SubjectChange) throws(StoreError) -> Subject
    /// Deletes a subject and all its faces.
    func deleteSubject(id: Int64) throws(StoreError)
}

/// The enrolled faces: sealed embeddings and their quality facts.
public protocol FaceRepository: Sendable {
    /// Stores one face of a subject, sealed and bound to its row.
    func addFace(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError) -> StoredFace
    /// Stores one face for the subject with this name, creating the subject in the same
    /// transaction when no subject has it (so a failed enrollment leaves no empty subject, and
    /// concurrent enrollments under one new name make one subject); several subjects with the
    /// name are refused (`StoreError.ambiguousName`).
    func addFace(toSubjectNamed name: String, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError)
        -> (subject: Subject, face: StoredFace)
    /// Stores many faces in one transaction (bulk import).
    func addFaces(_ faces: [NewFace]) throws(StoreError) -> [StoredFace]
    /// Deletes one face.
    func deleteFace(id: Int64) throws(StoreError)
    /// The faces of a subject (without embeddings).
    func faces(ofSubject subjectID: Int64) throws(StoreError) -> [StoredFace]
    func faceCount() throws(StoreError) -> Int
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
    func createAPIKey(name: String, scopes: [APIScope]) throws(StoreError) -> (key: String, record: APIKeyRecord)
    /// The key record for a presented key text, or `nil` when it is unknown or does not match.
    func authenticateAPIKey(_ text: String) throws(StoreError) -> APIKeyRecord?
    func apiKeys() throws(StoreError) -> [APIKeyRecord]
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
public protocol IdentityStore: SubjectRepository, FaceRepository, AuditLog, APIKeyRepository, SealedRowMaintenance {
    /// The embedder version of the faces in `index`; faces of other versions are never searched.
    var modelVersion: String { get }
    var index: FaceIndex { get }
    /// What opening found (tampered rows, other model versions, missing keys).
    var loadReport: LoadReport { get }
    /// Why the store cannot be used now (its database gone or replaced, unreachable), or `nil`.
    var unavailabilityReason: String? { get }
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
    public func createSubject(name: String) throws(StoreError) -> Subject { try createSubject(name: name, metadata: "{}") }

    public func subjects(nameContaining nameFilter: String? = nil, limit: Int = 100, offset: Int = 0) throws(StoreError) -> [Subject] {
        try subjects(in: SubjectPage(nameContaining: nameFilter, limit: limit, offset: offset))
    }

    public func updateSubject(id: Int64, name: String? = nil, metadata: String? = nil) throws(StoreError) -> Subject {
        try updateSubject(id: id, with: SubjectChange(name: name, metadata: metadata))
    }
}

extension SealedRowMaintenance {
    public func rotateKey(to newKey: KeySource, batchSize: Int = 500) throws(StoreError) -> RotationReport {
        try rotateKey(to: newKey, batchSize: batchSize, progress: { _, _ in })
    }
}

/// Which subjects a listing returns: those whose name contains `nameContaining` (all when
/// `nil` or empty), in id order, `limit` from `offset`.
public struct SubjectPage: Sendable, Equatable {
    public var nameContaining: String?
    public var limit: Int
    public var offset: Int

    public init(nameContaining: String? = nil, limit: Int = 100, offset: Int = 0) {
        self.nameContaining = nameContaining
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
