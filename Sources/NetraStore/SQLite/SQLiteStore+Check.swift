import GRDB

extension SQLiteStore {
    /// Re-reads and authenticates every stored face and subject, verifies the audit log's
    /// chain, and runs SQLite's integrity check.
    public func check() throws(StoreError) -> (report: LoadReport, integrity: [String]) {
        let scratch = FaceGallery()
        var report = try Self.load(pool, sealers: sealers, modelVersion: modelVersion, into: scratch)
        report.tamperedSubjectIDs = try Self.tamperedSubjects(in: pool, integrity: integrity)
        report.auditProblems = try auditLogProblems()
        let integrity = try read { db in try String.fetchAll(db, sql: "PRAGMA integrity_check") }
        return (report, integrity)
    }
}
