import CLibcrypto
import Foundation
import NetraDescriptor
import PostgresNIO

/// NETRA's identity store on PostgreSQL: the same tables, meaning and guarantees as
/// `SQLiteStore` (sealed embeddings bound to their rows, the key-id check, subject MACs and the
/// audit chain, API keys), in a database that several NETRA replicas can share.
///
/// Opening connects (failing at once, with one clear error, on a wrong address, password or
/// database), applies the migrations under an advisory lock, checks the key and decrypts every
/// face of the active model version into the in-memory index. Every change returns only after
/// its transaction committed, with its audit entry in the same transaction; the index follows.
/// Each concern lives in an extension of its own, as `SQLiteStore`'s do.
public final class PostgresStore: IdentityStore {
    public let location: PostgresLocation
    public let modelVersion: String
    public let index: FaceGallery
    /// What opening found, plus the faces the change feed could not open since (written by a
    /// replica holding a key this one was not given, or failing authentication): those are
    /// not searched here, and `/ready` says so.
    public var loadReport: LoadReport { memory.unreadableFaces(adding: openingReport) }
    private let openingReport: LoadReport

    let connections: PostgresConnections
    let sealers: SealerSet
    let integrity: IntegrityKey
    let actor: String
    /// Subject names, and what identify and verify need while PostgreSQL is away.
    let memory = ReplicaMemory()
    private let feedLock = NSLock()
    nonisolated(unsafe) private var feed: PostgresChangeFeed?
    /// Held while changes are applied to the index and `memory` (by the feed, or after this
    /// replica's own writes), so that the two never interleave.
    let applyLock = NSLock()
    /// The last change-log sequence the index reflects: read in the load's snapshot, then moved
    /// on by the feed (under `applyLock`).
    nonisolated(unsafe) var appliedThrough: Int64

    /// Opens (creating the schema if needed) the store at `location`.
    ///
    /// - Parameters:
    ///   - password: the database user's password (`NETRA_DATA_PASSWORD`, `data.password_file`).
    ///   - key, additionalKeys, modelVersion, actor: as for `SQLiteStore`.
    public init(location: PostgresLocation, password: String?, key: KeySource, additionalKeys: [KeySource] = [],
                modelVersion: String, actor: String = "cli", connections capacity: Int = 4) throws(StoreError) {
        self.location = location
        self.modelVersion = modelVersion
        self.actor = actor
        connections = try PostgresConnections(location: location, password: password, capacity: capacity)
        let appliedNow = try PostgresSchema.migrate(connections)
        sealers = try Self.resolveKeys(primary: key, additional: additionalKeys, in: connections)
        integrity = try Self.integrityKey(in: connections, sealers: sealers, creating: appliedNow.contains(Self.firstMigration))
        index = FaceGallery()
        let (report, sequence, names) = try Self.load(connections, sealers: sealers, integrity: integrity, modelVersion: modelVersion, into: index)
        appliedThrough = sequence
        openingReport = report
        memory.setNames(names)
    }

    /// The migration that creates the store (and its integrity key).
    static let firstMigration = "0001_init"

    /// Closes the connections and stops following changes (a process that ends need not call it).
    public func close() {
        feedLock.withLock { feed }?.stop()
        connections.close()
    }

    /// Keeps the index in step with the changes other replicas make to the shared store, from
    /// the state it was loaded in on (`PostgresChangeFeed`); `netra serve` calls it. Until the
    /// feed listens and has caught up, `unavailabilityReason` says so.
    public func followChanges() {
        let started = feedLock.withLock { () -> PostgresChangeFeed? in
            guard feed == nil else { return nil }
            feed = PostgresChangeFeed(store: self, configuration: connections.configuration)
            return feed
        }
        started?.start()
    }

    /// Whether `followChanges` was called: the index and the subject names in memory are then
    /// kept current, and identify names its candidates from memory.
    var isFollowing: Bool { feedLock.withLock { feed != nil } }

    /// The last change-log sequence applied to the index (what was loaded, when not following).
    public var appliedChangeSequence: Int64 {
        applyLock.withLock { appliedThrough }
    }

    // MARK: Opening

    /// Turns the key sources into sealers and checks the primary key against the store.
    private static func resolveKeys(primary: KeySource, additional: [KeySource], in connections: PostgresConnections) throws(StoreError) -> SealerSet {
        let salt = try connections.transaction { sql -> [UInt8] in
            if let salt = try sql.value("SELECT value FROM store_settings WHERE name = 'kdf_salt'", as: Data.self) {
                return [UInt8](salt)
            }
            var salt = [UInt8](repeating: 0, count: 16)
            guard RAND_bytes(&salt, 16) == 1 else { throw KeyError.randomSourceFailed }
            // Two replicas creating a store together: the first salt wins, the other reads it.
            try sql.execute("INSERT INTO store_settings (name, value) VALUES ('kdf_salt', \(Data(salt))) ON CONFLICT (name) DO NOTHING")
            return [UInt8](try sql.value("SELECT value FROM store_settings WHERE name = 'kdf_salt'", as: Data.self) ?? Data(salt))
        }
        let keys: [EncryptionKey]
        do {
            keys = try ([primary] + additional).map { source throws(KeyError) in try source.key(salt: salt) }
        } catch {
            throw .key(error)
        }
        try connections.transaction { sql in
            try sql.execute("LOCK TABLE encryption_keys IN EXCLUSIVE MODE")
            let active = try sql.value("SELECT id FROM encryption_keys WHERE state = 'active'", as: String.self)
            if let active, !keys.contains(where: { $0.id == active }) {
                throw StoreError.wrongKey(expectedKeyID: active)
            }
            if active == nil {
                if let newest = try sql.value("SELECT id FROM encryption_keys ORDER BY created_at DESC LIMIT 1", as: String.self) {
                    throw StoreError.wrongKey(expectedKeyID: newest)
                }
                try sql.execute("INSERT INTO encryption_keys (id, created_at, state) VALUES (\(keys[0].id), \(Timestamp.now()), 'active')")
            }
        }
        return SealerSet(primary: EmbeddingSealer(key: keys[0]), others: keys.dropFirst().map(EmbeddingSealer.init))
    }

    /// Decrypts every face of `modelVersion` into `index`, each under its subject's collection,
    /// and reports the rest (other versions are authenticated too, never searched; subjects
    /// whose MAC fails). Also returns, read in the same snapshot, the last change-log sequence
    /// (the change feed applies what follows it) and the verified subjects' names.
    static func load(_ connections: PostgresConnections, sealers: SealerSet, integrity: IntegrityKey, modelVersion: String,
                     into index: FaceGallery) throws(StoreError) -> (LoadReport, Int64, [(id: Int64, name: String, collectionID: Int64)]) {
        let loader = FaceLoader(sealers: sealers, modelVersion: modelVersion, index: index)
        let decoder = StreamedFace.Decoder()
        let (sequence, names) = try connections.read { sql in
            let sequence = try lastChange(sql)
            try sql.forEachRow("""
                SELECT f.id, f.subject_id, f.model_version, f.key_id, f.nonce, f.ciphertext, f.tag, s.collection_id
                FROM faces f JOIN subjects s ON s.id = f.subject_id ORDER BY s.collection_id, f.id
                """, decode: decoder.decode) { row in try loader.take(row) }
            return (sequence, try subjectNames(sql, integrity: integrity))
        }
        var report = try loader.finish()
        report.tamperedSubjectIDs = names.tampered
        return (report, sequence, names.verified)
    }

    /// One `faces` row as `load` streams it, copied out of the connection's buffers. Its key id
    /// and model version are `nil` when they are the row before's (nearly always), so that the
    /// two threads share no string either.
    struct StreamedFace: Sendable {
        let faceID: Int64, subjectID: Int64, collectionID: Int64
        let keyID: String?, modelVersion: String?
        /// Nonce, ciphertext and tag, back to back.
        let sealed: [UInt8]
        let nonceEnd: Int, ciphertextEnd: Int

        /// Decodes the rows, one after the other, on the connection's event loop.
        final class Decoder: @unchecked Sendable {
            private var keyID: ByteBuffer?, modelVersion: ByteBuffer?

            func decode(_ row: PostgresRow) throws -> StreamedFace {
                let (faceID, subjectID, version, key, nonce, ciphertext, tag, collectionID) =
                    try row.decode((Int64, Int64, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer, Int64).self)
                defer { (keyID, modelVersion) = (key, version) }
                var sealed = [UInt8]()
                sealed.reserveCapacity(nonce.readableBytes + ciphertext.readableBytes + tag.readableBytes)
                sealed.append(contentsOf: nonce.readableBytesView)
                let nonceEnd = sealed.count
                sealed.append(contentsOf: ciphertext.readableBytesView)
                let ciphertextEnd = sealed.count
                sealed.append(contentsOf: tag.readableBytesView)
                return StreamedFace(faceID: faceID, subjectID: subjectID, collectionID: collectionID,
                                     keyID: key == keyID ? nil : String(buffer: key),
                                     modelVersion: version == modelVersion ? nil : String(buffer: version),
                                     sealed: sealed, nonceEnd: nonceEnd, ciphertextEnd: ciphertextEnd)
            }
        }
    }

    /// The rows `load` streams, decrypted into the index in chunks of one collection.
    private final class FaceLoader {
        let sealers: SealerSet
        let modelVersion: String
        let index: FaceGallery
        var report = LoadReport()
        var openers: [String: (BulkOpener, AssociatedDataBuilder)] = [:]
        let chunk = 8192
        let buffer: UnsafeMutablePointer<Float>
        var faceIDs: [Int64] = [], subjectIDs: [Int64] = []
        var collectionID = SubjectCollection.defaultID
        var keyID = "", version = ""

        init(sealers: SealerSet, modelVersion: String, index: FaceGallery) {
            self.sealers = sealers
            self.modelVersion = modelVersion
            self.index = index
            buffer = .allocate(capacity: chunk * FaceIndex.dimension)
        }

        deinit { buffer.deallocate() }

        func take(_ row: StreamedFace) throws {
            if let changed = row.keyID { keyID = changed }
            if let changed = row.modelVersion { version = changed }
            let (id, subjectID) = (row.faceID, row.subjectID)
            guard let sealer = sealers.sealer(forKeyID: keyID) else {
                report.unavailableKeys[keyID, default: 0] += 1
                return
            }
            guard version == modelVersion else {
                let sealed = SealedEmbedding(nonce: Array(row.sealed[..<row.nonceEnd]), ciphertext: Array(row.sealed[row.nonceEnd..<row.ciphertextEnd]),
                                             tag: Array(row.sealed[row.ciphertextEnd...]))
                let binding = EmbeddingSealer.Binding(faceID: id, subjectID: subjectID, modelVersion: version, keyID: keyID)
                if (try? sealer.open(sealed, binding: binding)) != nil { report.otherModelVersion += 1 } else { report.tamperedFaceIDs.append(id) }
                return
            }
            if row.collectionID != collectionID {
                flush()
                collectionID = row.collectionID
            }
            if openers[keyID] == nil {
                openers[keyID] = (try BulkOpener(key: sealer.key), AssociatedDataBuilder(modelVersion: modelVersion, keyID: keyID))
            }
            let output = buffer + faceIDs.count * FaceIndex.dimension
            let aad = openers[keyID]!.1.bytes(faceID: id, subjectID: subjectID)
            let opener = openers[keyID]!.0
            let opened = row.sealed.withUnsafeBytes { sealed in
                opener.open(nonce: UnsafeRawBufferPointer(rebasing: sealed[..<row.nonceEnd]),
                            ciphertext: UnsafeRawBufferPointer(rebasing: sealed[row.nonceEnd..<row.ciphertextEnd]),
                            tag: UnsafeRawBufferPointer(rebasing: sealed[row.ciphertextEnd...]), associatedData: aad, into: output)
            }
            guard opened else {
                report.tamperedFaceIDs.append(id)
                return
            }
            faceIDs.append(id)
            subjectIDs.append(subjectID)
            if faceIDs.count == chunk { flush() }
        }

        private func flush() {
            guard !faceIDs.isEmpty else { return }
            index.add(faceIDs: faceIDs, subjectIDs: subjectIDs, collectionID: collectionID, descriptors: buffer)
            report.loaded += faceIDs.count
            faceIDs.removeAll(keepingCapacity: true)
            subjectIDs.removeAll(keepingCapacity: true)
        }

        func finish() throws(StoreError) -> LoadReport {
            flush()
            report.tamperedFaceIDs.sort()
            return report
        }
    }

    // MARK: Helpers

    func read<T>(_ body: (PostgresSQL) throws -> T) throws(StoreError) -> T {
        try refuseWhileUnreachable()
        return try connections.read(body)
    }

    @discardableResult
    func write<T>(_ body: (PostgresSQL) throws -> T) throws(StoreError) -> T {
        try refuseWhileUnreachable()
        return try connections.transaction(body)
    }

    /// Why a following store answers from memory only (PostgreSQL lost, or a backlog of changes
    /// being applied after it came back), or `nil`.
    public var degradationReason: String? {
        guard let feed = feedLock.withLock({ feed }), feed.hasFollowed, !feed.isSubscribed else { return nil }
        let cause = feed.lastFailure?.description ?? "catching up with the changes made meanwhile"
        return "\(cause); identify and verify answer from memory, changes are refused until it is back"
    }

    /// Answers unreachable at once while the change feed's last attempt to reach PostgreSQL
    /// failed (it tries again every second): no caller then waits for a server that is down or
    /// does not answer.
    private func refuseWhileUnreachable() throws(StoreError) {
        if case .unreachable? = feedLock.withLock({ feed })?.lastFailure { throw .unreachable("PostgreSQL cannot be reached now") }
    }

    /// Why the store cannot be used now (PostgreSQL unreachable, the change feed not yet
    /// following), or `nil`. A following store answers from its feed's state, without a round
    /// trip that a frozen server would hold up; once its feed has followed, losing PostgreSQL
    /// degrades it (`degradationReason`) instead.
    public var unavailabilityReason: String? {
        if let feed = feedLock.withLock({ feed }) {
            guard !feed.isSubscribed, !feed.hasFollowed else { return nil }
            if let failure = feed.lastFailure { return failure.description }
            return "the index is not yet following the other replicas' changes (PostgreSQL change feed not subscribed)"
        }
        do {
            _ = try connections.withConnection { connection in
                try PostgresSQL(connection: connection, logger: Logger(label: "netra.postgres")).execute("SELECT 1")
            }
            return nil
        } catch {
            return error.description
        }
    }

    /// The sealer of the store's active key, read inside the caller's write transaction (see
    /// `SQLiteStore.activeSealer`): new rows are sealed under the key a rotation made active, or
    /// refused when this process does not hold it.
    func activeSealer(_ sql: PostgresSQL) throws -> EmbeddingSealer {
        let active = try sql.value("SELECT id FROM encryption_keys WHERE state = 'active'", as: String.self) ?? sealers.primary.key.id
        guard let sealer = sealers.sealer(forKeyID: active) else { throw StoreError.activeKeyUnavailable(keyID: active) }
        return sealer
    }
}
