/// Why the identity store refused an operation. Messages name what to fix.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The configured key is not the one the store's rows are sealed with.
    case wrongKey(expectedKeyID: String)
    /// The database has migrations this NETRA does not know: it was written by a newer version.
    case newerSchema(unknownMigrations: [String])
    /// The file is not a NETRA database (or not SQLite at all).
    case unusableDatabase(path: String, reason: String)
    case subjectNotFound(Int64)
    case faceNotFound(Int64)
    case invalidName(String)
    case invalidMetadata
    case collectionNotFound(String)
    case collectionExists(String)
    case invalidCollectionName(String)
    /// The collection cannot be deleted: it is `default`, or active API keys are bound to it.
    case collectionInUse(String, reason: String)
    /// Two subjects of different collections cannot be merged.
    case subjectsInDifferentCollections
    /// Several subjects have the name a request gave to find one.
    case ambiguousName(String, count: Int)
    /// A key could not be resolved or used.
    case key(KeyError)
    /// Sealing failed (OpenSSL).
    case sealing(SealError)
    /// The store's active key (after a rotation) is not among the keys this process holds,
    /// so it cannot seal new rows; they are never sealed under a retiring key.
    case activeKeyUnavailable(keyID: String)
    /// A subject's name or metadata does not match its MAC: edited outside NETRA.
    case tamperedSubject(Int64)
    /// The disk holding the database is full; nothing was changed.
    case storageFull
    /// The database cannot be written (read-only file or file system); nothing was changed.
    case readOnly
    /// The database file could not be read or written (an I/O error: a failing disk, a file
    /// made immutable, a file-size limit); nothing was changed.
    case storageFailure
    /// The file at the store's path is no longer the one it opened (deleted or replaced while
    /// running); nothing is read from or written to it until a restart.
    case databaseReplaced(path: String)
    /// The store's integrity key is missing from a store that had one: its settings were
    /// tampered with. The store is not opened.
    case integrityKeyMissing
    /// The database stayed locked by another writer (a long rotation batch) past the wait.
    case busy
    /// `data.url` does not name a PostgreSQL store NETRA can use (the reason names what to fix).
    case invalidLocation(String)
    /// The PostgreSQL server cannot be reached or refused the connection (the reason names why:
    /// unreachable, wrong password, no such database); nothing was changed.
    case unreachable(String)
    /// The database holds tables that are not a NETRA store's: it belongs to another
    /// application and is left untouched.
    case foreignDatabase(String)
    /// The PostgreSQL database `netra db copy` was to fill already holds a store's rows (what
    /// `holding` lists); nothing was changed.
    case targetNotEmpty(String, holding: String)
    /// A database error not caused by the caller's input.
    case database(String)

    public var description: String {
        switch self {
        case let .wrongKey(expected):
            "the key does not match key id \(expected): the store was sealed with another key (check NETRA_SECRET_KEY or NETRA_KEY_FILE)"
        case let .newerSchema(unknown):
            "the database was written by a newer NETRA (unknown schema migrations: \(unknown.joined(separator: ", "))); nothing was changed"
        case let .unusableDatabase(path, reason): "\(path) is not a usable NETRA database: \(reason)"
        case let .subjectNotFound(id): "subject \(id) does not exist"
        case let .faceNotFound(id): "face \(id) does not exist"
        case let .invalidName(reason): "invalid subject name: \(reason)"
        case .invalidMetadata: "subject metadata must be a JSON object"
        case let .collectionNotFound(name): "collection \(name) does not exist"
        case let .collectionExists(name): "collection \(name) already exists"
        case let .invalidCollectionName(reason): "invalid collection name: \(reason)"
        case let .collectionInUse(name, reason): "collection \(name) cannot be deleted: \(reason)"
        case .subjectsInDifferentCollections: "the two subjects belong to different collections"
        case let .ambiguousName(name, count): "\(count) subjects are named \(name)"
        case let .key(error): "\(error)"
        case let .sealing(error): "\(error)"
        case let .activeKeyUnavailable(keyID):
            "the store's active key is now \(keyID) (a key rotation ran); to store faces, restart NETRA with that key, or while the rotation runs with the old key and NETRA_NEW_SECRET_KEY set to the new one"
        case let .tamperedSubject(id): "subject \(id) fails authentication (its name or metadata were edited outside NETRA); run netra db check"
        case .storageFull: "the disk holding the identity database is full; nothing was changed"
        case .readOnly: "the identity database cannot be written (read-only file or file system); nothing was changed"
        case .storageFailure: "the identity database's disk failed a read or write (failing, immutable, or over a size limit); nothing was changed"
        case let .databaseReplaced(path):
            "\(path) was deleted or replaced while NETRA was running; restart NETRA to open the file now there (nothing was read or written)"
        case .integrityKeyMissing:
            "the store's integrity key is missing from its settings (the database was tampered with); restore it from a backup"
        case .busy: "the identity database is busy with another writer; retry shortly"
        case let .invalidLocation(reason): reason
        case let .unreachable(reason): "the PostgreSQL store is unreachable: \(reason)"
        case let .foreignDatabase(location):
            "\(location) holds another application's tables, not a NETRA store; nothing was changed (use an empty database)"
        case let .targetNotEmpty(location, holding):
            "\(location) already holds a NETRA store (\(holding)); a copy goes only into an empty database; nothing was changed"
        case let .database(message): "database error: \(message)"
        }
    }
}
