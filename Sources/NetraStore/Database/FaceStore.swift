import CLibcrypto
import Dispatch
import Foundation
import GRDB
import NetraVision

/// NETRA's identity database: subjects, their faces' embeddings sealed with AES-256-GCM in
/// SQLite (WAL), an audit log, and the in-memory `FaceIndex` for 1:N search.
///
/// Opening checks the schema and the key, then decrypts every face of the active model
/// version into the index; rows that fail to authenticate are reported and left out. Every
/// change returns only after its transaction is durable (`synchronous = FULL`), and the
/// index follows the database after each commit.
public final class FaceStore: Sendable {
    public let path: String
    public let modelVersion: String
    public let index: FaceIndex
    /// What opening found (tampered rows, other model versions, missing keys).
    public let loadReport: LoadReport

    private let pool: DatabasePool
    private let sealers: SealerSet
    private let actor: String

    /// Opens (creating if needed) the store at `path`.
    ///
    /// - Parameters:
    ///   - key: the store's key. Rows sealed with other keys can still be read when those keys
    ///     are in `additionalKeys` (an interrupted rotation).
    ///   - modelVersion: the embedder's version; only its faces enter the index.
    ///   - actor: who acts, for the audit log.
    public init(path: String, key: KeySource, additionalKeys: [KeySource] = [], modelVersion: String,
                actor: String = "cli") throws(StoreError) {
        self.path = path
        self.modelVersion = modelVersion
        self.actor = actor
        pool = try Self.openDatabase(at: path)
        sealers = try Self.resolveKeys(primary: key, additional: additionalKeys, in: pool)
        index = FaceIndex()
        loadReport = try Self.load(pool, sealers: sealers, modelVersion: modelVersion, into: index)
    }

    /// The embedder version string recorded with each face: the backbone file's hash prefix,
    /// and the trained head's when there is one. Faces of other versions are never searched.
    public static func modelVersion(embedderSHA256: String, headSHA256: String? = nil) -> String {
        "dlib-resnet-v1-" + embedderSHA256.prefix(12) + (headSHA256.map { "-head-" + $0.prefix(12) } ?? "")
    }

    // MARK: Opening

    private static func openDatabase(at path: String) throws(StoreError) -> DatabasePool {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // No temporary files: nothing derived from faces may reach the disk outside the store.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        do {
            let pool = try DatabasePool(path: path, configuration: configuration)
            let migrator = try StoreSchema.migrator()
            let (superseded, applied) = try pool.read { db in
                (try migrator.hasBeenSuperseded(db), try migrator.appliedIdentifiers(db))
            }
            if superseded {
                throw StoreError.newerSchema(unknownMigrations: applied.subtracting(migrator.migrations).sorted())
            }
            try migrator.migrate(pool)
            return pool
        } catch let error as StoreError {
            throw error
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT, .SQLITE_CANTOPEN].contains(error.resultCode) {
            throw .unusableDatabase(path: path, reason: error.message ?? "\(error.resultCode)")
        } catch {
            throw .database("\(error)")
        }
    }

    /// Turns the key sources into sealers and checks the primary key against the store.
    private static func resolveKeys(primary: KeySource, additional: [KeySource], in pool: DatabasePool) throws(StoreError) -> SealerSet {
        do {
            let salt = try pool.write { db -> [UInt8] in
                if let salt = try Data.fetchOne(db, sql: "SELECT value FROM store_settings WHERE name = 'kdf_salt'") {
                    return [UInt8](salt)
                }
                var salt = [UInt8](repeating: 0, count: 16)
                guard RAND_bytes(&salt, 16) == 1 else { throw KeyError.randomSourceFailed }
                try db.execute(sql: "INSERT INTO store_settings (name, value) VALUES ('kdf_salt', ?)", arguments: [Data(salt)])
                return salt
            }
            let keys = try ([primary] + additional).map { source throws(KeyError) in try source.key(salt: salt) }
            let primaryKey = keys[0]
            try pool.write { db in
                let active = try String.fetchOne(db, sql: "SELECT id FROM encryption_keys WHERE state = 'active'")
                if let active, active != primaryKey.id {
                    throw StoreError.wrongKey(expectedKeyID: active)
                }
                if active == nil {
                    let known = try Int.fetchOne(db, sql: "SELECT count(*) FROM encryption_keys") ?? 0
                    if known > 0 {
                        throw StoreError.wrongKey(expectedKeyID: try String.fetchOne(db, sql: "SELECT id FROM encryption_keys ORDER BY created_at DESC LIMIT 1") ?? "?")
                    }
                    try db.execute(sql: "INSERT INTO encryption_keys (id, created_at, state) VALUES (?, ?, 'active')",
                                   arguments: [primaryKey.id, Timestamp.now()])
                }
            }
            return SealerSet(primary: EmbeddingSealer(key: primaryKey), others: keys.dropFirst().map(EmbeddingSealer.init))
        } catch let error as StoreError {
            throw error
        } catch let error as KeyError {
            throw .key(error)
        } catch {
            throw .database("\(error)")
        }
    }

    /// Decrypts every face into `index` (active model version only) and reports the rest.
    ///
    /// Rows are split by id range between two threads, each with its own read transaction
    /// and cipher context; the index takes them in chunks.
    private static func load(_ pool: DatabasePool, sealers: SealerSet, modelVersion: String,
                             into index: FaceIndex) throws(StoreError) -> LoadReport {
        do {
            var report = LoadReport()
            let (keyIDs, maxID) = try pool.read { db in
                report.otherModelVersion = try Int.fetchOne(db, sql: "SELECT count(*) FROM faces WHERE model_version <> ?",
                                                            arguments: [modelVersion]) ?? 0
                let keyIDs = try String.fetchAll(db, sql: "SELECT DISTINCT key_id FROM faces WHERE model_version = ?",
                                                 arguments: [modelVersion])
                for keyID in keyIDs where sealers.sealer(forKeyID: keyID) == nil {
                    report.unavailableKeys[keyID] = try Int.fetchOne(
                        db, sql: "SELECT count(*) FROM faces WHERE model_version = ? AND key_id = ?", arguments: [modelVersion, keyID])
                }
                return (keyIDs, try Int64.fetchOne(db, sql: "SELECT max(id) FROM faces") ?? 0)
            }
            let parts = maxID > 50_000 ? 2 : 1
            let lock = NSLock()
            nonisolated(unsafe) var partReports: [Result<LoadReport, Error>] = []
            let loadPart: @Sendable (Int) -> Void = { part in
                let (first, last) = (maxID * Int64(part) / Int64(parts) + 1, maxID * Int64(part + 1) / Int64(parts))
                let result = Result { () throws -> LoadReport in
                    var partReport = LoadReport()
                    guard first <= last else { return partReport }
                    let range = first...last
                    for keyID in keyIDs {
                        guard let sealer = sealers.sealer(forKeyID: keyID) else { continue }
                        let loaded = try loadRows(pool, ids: range, keyID: keyID, opener: try BulkOpener(key: sealer.key),
                                                  modelVersion: modelVersion, into: index)
                        partReport.loaded += loaded.loaded
                        partReport.tamperedFaceIDs += loaded.tamperedFaceIDs
                    }
                    return partReport
                }
                lock.withLock { partReports.append(result) }
            }
            if parts == 1 { loadPart(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: loadPart) }
            for result in partReports {
                let part = try result.get()
                report.loaded += part.loaded
                report.tamperedFaceIDs += part.tamperedFaceIDs
            }
            report.tamperedFaceIDs.sort()
            return report
        } catch let error as SealError {
            throw .sealing(error)
        } catch {
            throw .database("\(error)")
        }
    }

    /// Decrypts the rows of one key in an id range into `index`.
    private static func loadRows(_ pool: DatabasePool, ids: ClosedRange<Int64>, keyID: String, opener: BulkOpener,
                                 modelVersion: String, into index: FaceIndex) throws -> LoadReport {
        try pool.read { db in
            var report = LoadReport()
            let chunk = 8192
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * FaceIndex.dimension)
            defer { buffer.deallocate() }
            var faceIDs: [Int64] = [], subjectIDs: [Int64] = []
            func flush() {
                index.add(faceIDs: faceIDs, subjectIDs: subjectIDs, descriptors: buffer)
                report.loaded += faceIDs.count
                faceIDs.removeAll(keepingCapacity: true)
                subjectIDs.removeAll(keepingCapacity: true)
            }
            var associatedData = AssociatedDataBuilder(modelVersion: modelVersion, keyID: keyID)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT id, subject_id, nonce, ciphertext, tag FROM faces
                WHERE id BETWEEN ? AND ? AND model_version = ? AND key_id = ?
                """, arguments: [ids.lowerBound, ids.upperBound, modelVersion, keyID])
            while let row = try rows.next() {
                let id: Int64 = row[0], subjectID: Int64 = row[1]
                let output = buffer + faceIDs.count * FaceIndex.dimension
                let aad = associatedData.bytes(faceID: id, subjectID: subjectID)
                let opened = try row.withUnsafeData(atIndex: 2) { nonce in
                    try row.withUnsafeData(atIndex: 3) { ciphertext in
                        try row.withUnsafeData(atIndex: 4) { tag in
                            guard let nonce, let ciphertext, let tag else { return false }
                            return nonce.withUnsafeBytes { n in
                                ciphertext.withUnsafeBytes { c in
                                    tag.withUnsafeBytes { t in opener.open(nonce: n, ciphertext: c, tag: t, associatedData: aad, into: output) }
                                }
                            }
                        }
                    }
                }
                guard opened else {
                    report.tamperedFaceIDs.append(id)
                    continue
                }
                faceIDs.append(id)
                subjectIDs.append(subjectID)
                if faceIDs.count == chunk { flush() }
            }
            flush()
            return report
        }
    }

    // MARK: Subjects

    /// Creates a subject; `metadata` must be a JSON object.
    public func createSubject(name: String, metadata: String = "{}") throws(StoreError) -> Subject {
        try Self.validate(name: name, metadata: metadata)
        return try write { db in
            let now = Timestamp.now()
            try db.execute(sql: "INSERT INTO subjects (name, metadata, created_at, updated_at) VALUES (?, ?, ?, ?)",
                           arguments: [name, metadata, now, now])
            let id = db.lastInsertedRowID
            try self.audit(db, action: "create_subject", subjectID: id, result: "ok")
            return Subject(id: id, name: name, metadata: metadata, createdAt: now, updatedAt: now, faceCount: 0)
        }
    }

    /// Creates many subjects in one transaction (bulk import).
    public func createSubjects(names: [String]) throws(StoreError) -> [Subject] {
        for name in names { try Self.validate(name: name, metadata: "{}") }
        return try write { db in
            let now = Timestamp.now()
            let insert = try db.makeStatement(sql: "INSERT INTO subjects (name, metadata, created_at, updated_at) VALUES (?, '{}', ?, ?)")
            let subjects = try names.map { name in
                try insert.execute(arguments: [name, now, now])
                return Subject(id: db.lastInsertedRowID, name: name, metadata: "{}", createdAt: now, updatedAt: now, faceCount: 0)
            }
            try self.audit(db, action: "create_subjects", result: "ok", detail: "\(names.count) subjects")
            return subjects
        }
    }

    public func subject(id: Int64) throws(StoreError) -> Subject? {
        try read { db in try Self.fetchSubjects(db, where: "s.id = ?", arguments: [id]).first }
    }

    /// Subjects with exactly this name (names need not be unique).
    public func subjects(named name: String) throws(StoreError) -> [Subject] {
        try read { db in try Self.fetchSubjects(db, where: "s.name = ?", arguments: [name]) }
    }

    /// A page of subjects in id order, optionally those whose name contains `nameFilter`.
    public func subjects(nameContaining nameFilter: String? = nil, limit: Int = 100, offset: Int = 0) throws(StoreError) -> [Subject] {
        try read { db in
            if let nameFilter, !nameFilter.isEmpty {
                let pattern = "%" + nameFilter.replacingOccurrences(of: "\\", with: "\\\\")
                    .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
                return try Self.fetchSubjects(db, where: "s.name LIKE ? ESCAPE '\\'", arguments: [pattern], limit: limit, offset: offset)
            }
            return try Self.fetchSubjects(db, where: "1", arguments: [], limit: limit, offset: offset)
        }
    }

    public func subjectCount() throws(StoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM subjects") ?? 0 }
    }

    /// Renames a subject and/or replaces its metadata.
    public func updateSubject(id: Int64, name: String? = nil, metadata: String? = nil) throws(StoreError) -> Subject {
        let current = try subject(id: id)
        guard var subject = current else { throw .subjectNotFound(id) }
        try Self.validate(name: name ?? subject.name, metadata: metadata ?? subject.metadata)
        subject.name = name ?? subject.name
        subject.metadata = metadata ?? subject.metadata
        subject.updatedAt = Timestamp.now()
        let updated = subject
        try write { db in
            try db.execute(sql: "UPDATE subjects SET name = ?, metadata = ?, updated_at = ? WHERE id = ?",
                           arguments: [updated.name, updated.metadata, updated.updatedAt, id])
            try self.audit(db, action: "update_subject", subjectID: id, result: "ok")
        }
        return updated
    }

    /// Deletes a subject and all its faces.
    public func deleteSubject(id: Int64) throws(StoreError) {
        try write { db in
            try db.execute(sql: "DELETE FROM subjects WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw StoreError.subjectNotFound(id) }
            try self.audit(db, action: "delete_subject", subjectID: id, result: "ok")
        }
        index.remove(subjectID: id)
    }

    // MARK: Faces

    /// Stores one face of a subject, sealed; returns once the transaction is durable.
    public func addFace(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality) throws(StoreError) -> StoredFace {
        let sealer = sealers.primary
        let modelVersion = modelVersion
        let face = try write { db -> StoredFace in
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM subjects WHERE id = ?", arguments: [subjectID]) != nil else {
                throw StoreError.subjectNotFound(subjectID)
            }
            let now = Timestamp.now()
            try db.execute(sql: """
                INSERT INTO faces (subject_id, model_version, key_id, nonce, ciphertext, tag,
                                   face_width, face_height, detector_confidence, created_at)
                VALUES (?, ?, ?, x'', x'', x'', ?, ?, ?, ?)
                """, arguments: [subjectID, modelVersion, sealer.key.id, quality.width, quality.height,
                                 quality.detectorConfidence, now])
            let id = db.lastInsertedRowID
            let binding = EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: modelVersion, keyID: sealer.key.id)
            let sealed = try sealer.seal(descriptor.values, binding: binding)
            try db.execute(sql: "UPDATE faces SET nonce = ?, ciphertext = ?, tag = ? WHERE id = ?",
                           arguments: [Data(sealed.nonce), Data(sealed.ciphertext), Data(sealed.tag), id])
            try db.execute(sql: "UPDATE subjects SET updated_at = ? WHERE id = ?", arguments: [now, subjectID])
            try self.audit(db, action: "enroll", subjectID: subjectID, faceID: id, result: "ok")
            return StoredFace(id: id, subjectID: subjectID, modelVersion: modelVersion, keyID: sealer.key.id,
                              faceWidth: quality.width, faceHeight: quality.height,
                              detectorConfidence: quality.detectorConfidence, createdAt: now)
        }
        index.add(faceID: face.id, subjectID: subjectID, descriptor: descriptor.values)
        return face
    }

    /// Stores many faces in one transaction (bulk import); returns once it is durable.
    public func addFaces(_ faces: [(subjectID: Int64, descriptor: FaceDescriptor, quality: FaceQuality)]) throws(StoreError) -> [StoredFace] {
        let sealer = sealers.primary
        let modelVersion = modelVersion
        let stored = try write { db -> [StoredFace] in
            let now = Timestamp.now()
            let insert = try db.makeStatement(sql: """
                INSERT INTO faces (subject_id, model_version, key_id, nonce, ciphertext, tag,
                                   face_width, face_height, detector_confidence, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            var next = (try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'faces'") ?? 0) + 1
            var result: [StoredFace] = []
            result.reserveCapacity(faces.count)
            for face in faces {
                let binding = EmbeddingSealer.Binding(faceID: next, subjectID: face.subjectID, modelVersion: modelVersion, keyID: sealer.key.id)
                let sealed = try sealer.seal(face.descriptor.values, binding: binding)
                try insert.execute(arguments: [face.subjectID, modelVersion, sealer.key.id, Data(sealed.nonce),
                                               Data(sealed.ciphertext), Data(sealed.tag), face.quality.width,
                                               face.quality.height, face.quality.detectorConfidence, now])
                guard db.lastInsertedRowID == next else { throw StoreError.database("face ids are not sequential") }
                result.append(StoredFace(id: next, subjectID: face.subjectID, modelVersion: modelVersion, keyID: sealer.key.id,
                                         faceWidth: face.quality.width, faceHeight: face.quality.height,
                                         detectorConfidence: face.quality.detectorConfidence, createdAt: now))
                next += 1
            }
            try self.audit(db, action: "enroll_bulk", result: "ok", detail: "\(faces.count) faces")
            return result
        }
        for (face, input) in zip(stored, faces) {
            index.add(faceID: face.id, subjectID: face.subjectID, descriptor: input.descriptor.values)
        }
        return stored
    }

    /// Deletes one face.
    public func deleteFace(id: Int64) throws(StoreError) {
        try write { db in
            let subjectID = try Int64.fetchOne(db, sql: "SELECT subject_id FROM faces WHERE id = ?", arguments: [id])
            guard let subjectID else { throw StoreError.faceNotFound(id) }
            try db.execute(sql: "DELETE FROM faces WHERE id = ?", arguments: [id])
            try self.audit(db, action: "delete_face", subjectID: subjectID, faceID: id, result: "ok")
        }
        index.remove(faceID: id)
    }

    /// The faces of a subject (without embeddings).
    public func faces(ofSubject subjectID: Int64) throws(StoreError) -> [StoredFace] {
        try read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, subject_id, model_version, key_id, face_width, face_height, detector_confidence, created_at
                FROM faces WHERE subject_id = ? ORDER BY id
                """, arguments: [subjectID]).map { row in
                StoredFace(id: row[0], subjectID: row[1], modelVersion: row[2], keyID: row[3], faceWidth: row[4],
                           faceHeight: row[5], detectorConfidence: row[6], createdAt: row[7])
            }
        }
    }

    public func faceCount() throws(StoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM faces") ?? 0 }
    }

    // MARK: Audit

    /// Records an event that changes nothing else (identify, verify).
    public func recordEvent(action: String, subjectID: Int64? = nil, result: String, detail: String = "") throws(StoreError) {
        try write { db in try self.audit(db, action: action, subjectID: subjectID, result: result, detail: detail) }
    }

    /// The newest audit entries first.
    public func auditLog(limit: Int = 100) throws(StoreError) -> [AuditEntry] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT id, at, actor, action, subject_id, face_id, result, detail FROM audit_log ORDER BY id DESC LIMIT ?",
                             arguments: [limit]).map { row in
                AuditEntry(id: row[0], at: row[1], actor: row[2], action: row[3], subjectID: row[4], faceID: row[5],
                           result: row[6], detail: row[7])
            }
        }
    }

    private func audit(_ db: Database, action: String, subjectID: Int64? = nil, faceID: Int64? = nil,
                       result: String, detail: String = "") throws {
        try db.execute(sql: """
            INSERT INTO audit_log (at, actor, action, subject_id, face_id, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)
            """, arguments: [Timestamp.now(), actor, action, subjectID, faceID, result, detail])
    }

    // MARK: Checking

    /// Re-reads and authenticates every stored face, and runs SQLite's integrity check.
    public func check() throws(StoreError) -> (report: LoadReport, integrity: [String]) {
        let scratch = FaceIndex()
        let report = try Self.load(pool, sealers: sealers, modelVersion: modelVersion, into: scratch)
        let integrity = try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        return (report, integrity)
    }

    // MARK: Helpers

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch { throw Self.storeError(error) }
    }

    @discardableResult
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch { throw Self.storeError(error) }
    }

    var databasePool: DatabasePool { pool }
    var keySealers: SealerSet { sealers }

    private static func storeError(_ error: Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as SealError: .sealing(error)
        case let error as KeyError: .key(error)
        default: .database("\(error)")
        }
    }

    private static func validate(name: String, metadata: String) throws(StoreError) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidName("a name cannot be empty") }
        guard name.count <= 200 else { throw .invalidName("a name has at most 200 characters") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(metadata.utf8)), object is [String: Any] else {
            throw .invalidMetadata
        }
    }

    private static func fetchSubjects(_ db: Database, where condition: String, arguments: StatementArguments,
                                      limit: Int = -1, offset: Int = 0) throws -> [Subject] {
        try Row.fetchAll(db, sql: """
            SELECT s.id, s.name, s.metadata, s.created_at, s.updated_at,
                   (SELECT count(*) FROM faces f WHERE f.subject_id = s.id)
            FROM subjects s WHERE \(condition) ORDER BY s.id LIMIT \(limit) OFFSET \(offset)
            """, arguments: arguments).map { row in
            Subject(id: row[0], name: row[1], metadata: row[2], createdAt: row[3], updatedAt: row[4], faceCount: row[5])
        }
    }
}

/// The sealers for the keys this store was opened with: the primary seals new rows.
struct SealerSet: Sendable {
    let primary: EmbeddingSealer
    let others: [EmbeddingSealer]

    func sealer(forKeyID id: String) -> EmbeddingSealer? {
        ([primary] + others).first { $0.key.id == id }
    }
}

/// A `faces` row as read for opening.
struct SealedRow {
    let id: Int64
    let subjectID: Int64
    let modelVersion: String
    let keyID: String
    let sealed: SealedEmbedding

    init(_ row: Row) {
        id = row[0]
        subjectID = row[1]
        modelVersion = row[2]
        keyID = row[3]
        sealed = SealedEmbedding(nonce: [UInt8](row[4] as Data), ciphertext: [UInt8](row[5] as Data), tag: [UInt8](row[6] as Data))
    }

    var binding: EmbeddingSealer.Binding {
        EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: modelVersion, keyID: keyID)
    }
}

extension KeySource {
    /// The key, deriving it with the store's salt when it is a passphrase.
    func key(salt: [UInt8]) throws(KeyError) -> EncryptionKey {
        switch self {
        case let .raw(key): key
        case let .passphrase(passphrase): try EncryptionKey.derive(passphrase: passphrase, salt: salt)
        }
    }
}
