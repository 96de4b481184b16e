import Foundation

/// What a PostgreSQL replica keeps in memory besides its index, so that identify and verify go
/// on answering while PostgreSQL is unreachable (docs/operations.md, "Several replicas on PostgreSQL"):
///
/// - the names of the subjects, read (MAC-checked) when the store opens and kept current by
///   the change feed and this replica's own writes; identify names its candidates from here;
/// - the collections and API keys last read, answered only while the database cannot be;
/// - the audit entries of reads (identify, verify) made meanwhile, written, in order and with
///   their own time and actor, once PostgreSQL answers again.
///
/// Nothing here is ever a change: writes need the database and are refused while it is away.
final class ReplicaMemory: @unchecked Sendable {
    private let lock = NSLock()
    private var names: [Int64: (name: String, collectionID: Int64)] = [:]
    private var collections: [Int64: SubjectCollection] = [:]
    private var keys: [String: (secretHash: Data, record: APIKeyRecord)] = [:]
    private var pendingAudit: [PendingAuditEvent] = []
    /// Faces the change feed read and could not open, with their subject and collection and
    /// the key that was missing (`nil`: the row failed authentication).
    private var unreadable: [Int64: (subjectID: Int64, collectionID: Int64, missingKey: String?)] = [:]

    /// The most read audit entries held for a database that does not answer; beyond it, a read
    /// that must be audited is refused (503) rather than answered unrecorded.
    static let pendingAuditLimit = 100_000

    /// An audit entry waiting for the database, as it was made.
    struct PendingAuditEvent {
        let event: AuditEvent
        let at: String
        let actor: String
    }

    // MARK: Subject names

    /// The names known for these subjects, and the ids with none.
    func names(of ids: some Sequence<Int64>) -> (known: [Int64: String], unknown: [Int64]) {
        lock.withLock {
            var known: [Int64: String] = [:], unknown: [Int64] = []
            for id in ids {
                if let entry = names[id] { known[id] = entry.name } else { unknown.append(id) }
            }
            return (known, unknown)
        }
    }

    func setName(_ name: String, ofSubject id: Int64, in collectionID: Int64) {
        lock.withLock { names[id] = (name, collectionID) }
    }

    func setNames(_ entries: [(id: Int64, name: String, collectionID: Int64)]) {
        lock.withLock { for entry in entries { names[entry.id] = (entry.name, entry.collectionID) } }
    }

    /// The names of `ids` replaced by `entries` (an id without an entry loses its name).
    func replaceNames(of ids: [Int64], with entries: [(id: Int64, name: String, collectionID: Int64)]) {
        lock.withLock {
            for id in ids { names[id] = nil }
            for entry in entries { names[entry.id] = (entry.name, entry.collectionID) }
        }
    }

    /// Forgets deleted subjects (their names, and their faces that could not be opened).
    func forgetSubjects(_ ids: some Sequence<Int64>) {
        lock.withLock {
            let ids = Set(ids)
            for id in ids { names[id] = nil }
            unreadable = unreadable.filter { !ids.contains($0.value.subjectID) }
        }
    }

    /// Forgets a deleted collection's subjects and the collection.
    func forgetCollection(_ id: Int64) {
        lock.withLock {
            names = names.filter { $0.value.collectionID != id }
            unreadable = unreadable.filter { $0.value.collectionID != id }
            collections[id] = nil
            for (keyID, entry) in keys where entry.record.collectionID == id { keys[keyID] = nil }
        }
    }

    // MARK: Faces the change feed could not open

    /// Records that face `id` of a subject could not be opened: `missingKey` not held, or
    /// (`nil`) tampered.
    func faceUnreadable(_ id: Int64, subjectID: Int64, collectionID: Int64, missingKey: String?) {
        lock.withLock { unreadable[id] = (subjectID, collectionID, missingKey) }
    }

    /// Clears face `id`: opened, deleted, or of another model version.
    func faceReadable(_ id: Int64) {
        lock.withLock { _ = unreadable.removeValue(forKey: id) }
    }

    /// `report` with the unreadable faces recorded since added.
    func unreadableFaces(adding report: LoadReport) -> LoadReport {
        lock.withLock {
            var report = report
            for (id, face) in unreadable {
                if let missingKey = face.missingKey { report.unavailableKeys[missingKey, default: 0] += 1 } else { report.tamperedFaceIDs.append(id) }
            }
            report.tamperedFaceIDs.sort()
            return report
        }
    }

    // MARK: Collections and API keys, for while the database is away

    func remember(_ collection: SubjectCollection) {
        lock.withLock { collections[collection.id] = collection }
    }

    func collection(id: Int64) -> SubjectCollection? {
        lock.withLock { collections[id] }
    }

    func collection(named name: String) -> SubjectCollection? {
        lock.withLock { collections.values.first { $0.name == name } }
    }

    /// Remembers a key that authenticated (or was revoked) with its stored secret hash.
    func remember(_ record: APIKeyRecord, secretHash: Data) {
        lock.withLock { keys[record.id] = (secretHash, record) }
    }

    /// Forgets a revoked key: while the database is away it is refused as unknown.
    func forgetKey(id: String) {
        lock.withLock { keys[id] = nil }
    }

    /// What memory says of a presented key.
    enum KeyAnswer {
        /// The last record read for the key, whose stored hash the presented secret matches.
        case matches(APIKeyRecord)
        /// A key held here whose secret is not the presented one.
        case wrongSecret
        /// A key not held here: only the database can tell.
        case unknown
    }

    func apiKey(id: String, presentedHash: [UInt8]) -> KeyAnswer {
        lock.withLock {
            guard let entry = keys[id] else { return .unknown }
            return APIKeyText.matches(stored: entry.secretHash, presented: presentedHash) ? .matches(entry.record) : .wrongSecret
        }
    }

    // MARK: Audit entries waiting for the database

    /// Holds an entry for later; false when `pendingAuditLimit` entries already wait.
    func hold(_ event: PendingAuditEvent) -> Bool {
        lock.withLock {
            guard pendingAudit.count < Self.pendingAuditLimit else { return false }
            pendingAudit.append(event)
            return true
        }
    }

    var pendingAuditCount: Int { lock.withLock { pendingAudit.count } }

    /// Takes every waiting entry, oldest first.
    func takePendingAudit() -> [PendingAuditEvent] {
        lock.withLock {
            defer { pendingAudit.removeAll() }
            return pendingAudit
        }
    }

    /// Puts back entries that could not be written, before any held since.
    func putBack(_ events: [PendingAuditEvent]) {
        lock.withLock { pendingAudit.insert(contentsOf: events, at: 0) }
    }
}
