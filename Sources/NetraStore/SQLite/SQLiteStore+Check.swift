import GRDB

extension SQLiteStore {
    /// Re-reads and authenticates every stored face, and runs SQLite's integrity check.
    public func check() throws(StoreError) -> (report: LoadReport, integrity: [String]) {
        let scratch = FaceIndex()
        let report = try Self.load(pool, sealers: sealers, modelVersion: modelVersion, into: scratch)
        let integrity = try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        return (report, integrity)
    }
}
