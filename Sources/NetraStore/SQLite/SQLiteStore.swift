import CLibcrypto
import Dispatch
import Foundation
import GRDB
import NetraDescriptor

/// NETRA's identity store on SQLite (WAL): subjects, their faces' embeddings sealed with
/// AES-256-GCM and bound to their rows, in collections, an audit log, API keys, and the
/// in-memory `FaceGallery` (a `FaceIndex` per collection) for 1:N search. Each concern lives in an extension of its own, implementing the protocols
/// of `IdentityStore`.
///
/// Opening checks the schema and the key, then decrypts every face of the active model
/// version into the index; rows that fail to authenticate are reported and left out. Every
/// change returns only after its transaction is durable (`synchronous = FULL`), and the
/// index follows the database after each commit.
public final class SQLiteStore: IdentityStore {
    public let path: String
    public let modelVersion: String
    public let index: FaceGallery
    /// What opening found (tampered rows, other model versions, missing keys).
    public let loadReport: LoadReport

    let pool: DatabasePool
    let sealers: SealerSet
    let integrity: IntegrityKey
    let actor: String
    /// The database file as opened, to notice it being deleted or replaced under the store.
    let fileIdentity: FileIdentity?

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
        let (opened, appliedNow) = try Self.openDatabase(at: path)
        pool = opened
        fileIdentity = FileIdentity(path: path)
        sealers = try Self.resolveKeys(primary: key, additional: additionalKeys, in: pool)
        integrity = try Self.integrityKey(in: pool, sealers: sealers, creating: appliedNow.contains(Self.integrityMigration))
        index = FaceGallery()
        var report = try Self.load(pool, sealers: sealers, modelVersion: modelVersion, into: index)
        report.tamperedSubjectIDs = try Self.tamperedSubjects(in: pool, integrity: integrity)
        loadReport = report
    }

    // MARK: Opening

    /// Opens the pool and applies the migrations it lacks; returns them too.
    private static func openDatabase(at path: String) throws(StoreError) -> (DatabasePool, Set<String>) {
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty { try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }
        // A new store file is created owner-only; SQLite gives its -wal and -shm files the same mode.
        let created = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if created >= 0 { close(created) }
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
            return (pool, Set(migrator.migrations).subtracting(applied))
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
                // The active key must be one of those supplied: the primary, or (while a
                // rotation runs) the new key supplied beside it.
                let active = try String.fetchOne(db, sql: "SELECT id FROM encryption_keys WHERE state = 'active'")
                if let active, !keys.contains(where: { $0.id == active }) {
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

    /// Decrypts every face into `index` (active model version only), each under its subject's
    /// collection, and reports the rest.
    ///
    /// Rows are split by id range between two threads, each with its own read transaction
    /// and cipher context; the index takes them in chunks.
    static func load(_ pool: DatabasePool, sealers: SealerSet, modelVersion: String,
                             into index: FaceGallery) throws(StoreError) -> LoadReport {
        do {
            var report = LoadReport()
            let (keyIDs, maxID) = try pool.read { db in
                // Rows of other versions are not searched, but they must still be authentic: an
                // edited model_version would otherwise hide a face without a word.
                let others = try FaceRow.filter(FaceRow.Columns.modelVersion != modelVersion).fetchCursor(db)
                while let row = try others.next() {
                    guard let sealer = sealers.sealer(forKeyID: row.keyID) else {
                        report.unavailableKeys[row.keyID, default: 0] += 1
                        continue
                    }
                    if (try? sealer.open(row.sealed, binding: row.binding)) != nil {
                        report.otherModelVersion += 1
                    } else {
                        report.tamperedFaceIDs.append(row.id ?? 0)
                    }
                }
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
                                 modelVersion: String, into index: FaceGallery) throws -> LoadReport {
        try pool.read { db in
            var report = LoadReport()
            let chunk = 8192
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: chunk * FaceIndex.dimension)
            defer { buffer.deallocate() }
            var faceIDs: [Int64] = [], subjectIDs: [Int64] = []
            var collectionID = SubjectCollection.defaultID
            func flush() {
                guard !faceIDs.isEmpty else { return }
                index.add(faceIDs: faceIDs, subjectIDs: subjectIDs, collectionID: collectionID, descriptors: buffer)
                report.loaded += faceIDs.count
                faceIDs.removeAll(keepingCapacity: true)
                subjectIDs.removeAll(keepingCapacity: true)
            }
            var associatedData = AssociatedDataBuilder(modelVersion: modelVersion, keyID: keyID)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT f.id, f.subject_id, f.nonce, f.ciphertext, f.tag, s.collection_id FROM faces f JOIN subjects s ON s.id = f.subject_id
                WHERE f.id BETWEEN ? AND ? AND f.model_version = ? AND f.key_id = ?
                """, arguments: [ids.lowerBound, ids.upperBound, modelVersion, keyID])
            while let row = try rows.next() {
                let id: Int64 = row[0], subjectID: Int64 = row[1], rowCollection: Int64 = row[5]
                // A chunk holds the faces of one collection.
                if rowCollection != collectionID {
                    flush()
                    collectionID = rowCollection
                }
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

    // MARK: Helpers

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        try checkFileIsTheOpenedOne()
        do { return try pool.read(body) } catch { throw Self.storeError(error) }
    }

    @discardableResult
    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        try checkFileIsTheOpenedOne()
        do { return try pool.write(body) } catch { throw Self.storeError(error) }
    }

    /// Why the store cannot be used now, or `nil`: the file at its path was deleted or
    /// replaced since it was opened (a pooled connection would open the new file, or fail).
    public var unavailabilityReason: String? {
        do {
            try checkFileIsTheOpenedOne()
            return nil
        } catch {
            return error.description
        }
    }

    /// Never: an embedded file is there or not (`unavailabilityReason`).
    public var degradationReason: String? { nil }

    private func checkFileIsTheOpenedOne() throws(StoreError) {
        guard let opened = fileIdentity else { return }
        guard FileIdentity(path: path) == opened else { throw .databaseReplaced(path: path) }
    }

    var databasePool: DatabasePool { pool }

    static func storeError(_ error: Error) -> StoreError {
        switch error {
        case let error as StoreError: error
        case let error as SealError: .sealing(error)
        case let error as KeyError: .key(error)
        case let error as DatabaseError where error.resultCode == .SQLITE_FULL: .storageFull
        case let error as DatabaseError where error.resultCode == .SQLITE_READONLY: .readOnly
        case let error as DatabaseError where error.resultCode == .SQLITE_IOERR: .storageFailure
        case let error as DatabaseError where error.resultCode == .SQLITE_BUSY: .busy
        default: .database("\(error)")
        }
    }

    /// The sealer of the store's active key, read inside the caller's write transaction: a
    /// rotation run by another process makes its new key active, and a face is then sealed
    /// under that key when this process holds it, and refused when it does not, never sealed
    /// under the key being retired.
    func activeSealer(_ db: Database) throws -> EmbeddingSealer {
        let active = try String.fetchOne(db, sql: "SELECT id FROM encryption_keys WHERE state = 'active'") ?? sealers.primary.key.id
        guard let sealer = sealers.sealer(forKeyID: active) else { throw StoreError.activeKeyUnavailable(keyID: active) }
        return sealer
    }
}

/// The sealers for the keys this store was opened with; new rows are sealed under whichever
/// of them is the store's active key (`activeSealer`).
struct SealerSet: Sendable {
    let primary: EmbeddingSealer
    let others: [EmbeddingSealer]

    func sealer(forKeyID id: String) -> EmbeddingSealer? {
        ([primary] + others).first { $0.key.id == id }
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

/// A file's device and inode: equal for the same file, whatever its path is renamed to.
struct FileIdentity: Equatable, Sendable {
    let device: UInt64
    let inode: UInt64

    /// The identity of the file at `path` now, or `nil` when there is none.
    init?(path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        device = UInt64(status.st_dev)
        inode = UInt64(status.st_ino)
    }
}
