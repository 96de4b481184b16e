import Foundation
import GRDB

extension SQLiteStore {
    /// How many faces the store at `path` holds of each model version, read before the store is
    /// opened so that the models can be chosen to match its faces (a store keeps the model its
    /// faces were enrolled with). Needs no key: the version is stored in clear beside each sealed
    /// embedding. A missing file, or one without faces yet, gives an empty answer and is not created.
    public static func faceCountsByModelVersion(atPath path: String) throws(StoreError) -> [String: Int] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        // First as the store opens itself (a pool, which also reads a WAL store a crash left on a
        // read-only file system), then read-only (which a file without write permission needs).
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        var readOnly = configuration
        readOnly.readonly = true
        do {
            do {
                return try counts(in: try DatabasePool(path: path, configuration: configuration))
            } catch {
                return try counts(in: try DatabaseQueue(path: path, configuration: readOnly))
            }
        } catch let error as DatabaseError where [.SQLITE_NOTADB, .SQLITE_CORRUPT, .SQLITE_CANTOPEN].contains(error.resultCode) {
            throw .unusableDatabase(path: path, reason: error.message ?? "\(error.resultCode)")
        } catch {
            throw .database("\(error)")
        }
    }

    private static func counts(in reader: some DatabaseReader) throws -> [String: Int] {
        try reader.read { db in
            guard try db.tableExists("faces") else { return [:] }
            var counts: [String: Int] = [:]
            let rows = try Row.fetchCursor(db, sql: "SELECT model_version, count(*) FROM faces GROUP BY model_version")
            while let row = try rows.next() {
                counts[row[0] as String] = row[1] as Int
            }
            return counts
        }
    }
}
