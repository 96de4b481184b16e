import Foundation
import PostgresNIO

extension PostgresStore {
    /// How many faces the store at `location` holds of each model version, read before the store
    /// is opened so that the models can be chosen to match its faces (a store keeps the model its
    /// faces were enrolled with), as `SQLiteStore.faceCountsByModelVersion(atPath:)` does. Needs no
    /// key: the version is stored in clear beside each sealed embedding. A database without faces
    /// yet gives an empty answer, one of another application `StoreError.foreignDatabase`; nothing is created (the read runs in a read-only transaction).
    public static func faceCountsByModelVersion(at location: PostgresLocation, password: String?) throws(StoreError) -> [String: Int] {
        let connections = try PostgresConnections(location: location, password: password, capacity: 1)
        defer { connections.close() }
        return try connections.read { sql in
            guard try PostgresSchema.tables(sql, at: location).contains("faces") else { return [:] }
            var counts: [String: Int] = [:]
            for row in try sql.rows("SELECT model_version, count(*) AS faces FROM faces GROUP BY model_version") {
                counts[try row["model_version"].decode(String.self)] = Int(try row["faces"].decode(Int64.self))
            }
            return counts
        }
    }
}
