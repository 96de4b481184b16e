import Foundation
import PostgresNIO

extension PostgresStore {
    /// Re-reads and authenticates every stored face and subject, verifies the audit log's chain,
    /// and checks the database's referential integrity (what SQLite's integrity check stands for
    /// here: PostgreSQL keeps its own pages consistent, while references can still be broken by
    /// constraints dropped or disabled outside NETRA). `integrity` is `["ok"]` when it holds,
    /// else one sentence per problem found.
    public func check() throws(StoreError) -> (report: LoadReport, integrity: [String]) {
        let scratch = FaceGallery()
        var (report, _, _) = try Self.load(connections, sealers: sealers, integrity: integrity, modelVersion: modelVersion, into: scratch)
        report.auditProblems = try auditLogProblems()
        let problems = try read { sql in try Self.referenceProblems(sql) }
        return (report, problems.isEmpty ? ["ok"] : problems)
    }

    /// The most problems of one kind `referenceProblems` lists one by one (the rest are counted).
    static let listedProblemsPerKind = 100

    /// Rows that refer to a row that does not exist: faces without their subject or key, subjects
    /// without their collection.
    private static func referenceProblems(_ sql: PostgresSQL) throws -> [String] {
        var problems: [String] = []
        func collect(_ query: PostgresQuery, kind: String, _ sentence: (PostgresRandomAccessRow) throws -> String) throws {
            let rows = try sql.rows(query)
            problems += try rows.prefix(listedProblemsPerKind).map(sentence)
            if rows.count > listedProblemsPerKind {
                problems.append("\(rows.count - listedProblemsPerKind) more \(kind) are not listed")
            }
        }
        try collect("""
            SELECT f.id, f.subject_id FROM faces f WHERE NOT EXISTS (SELECT 1 FROM subjects s WHERE s.id = f.subject_id) ORDER BY f.id
            """, kind: "faces without their subject") { row in
            "face \(try row["id"].decode(Int64.self)) belongs to subject \(try row["subject_id"].decode(Int64.self)), which does not exist"
        }
        try collect("""
            SELECT s.id, s.collection_id FROM subjects s WHERE NOT EXISTS (SELECT 1 FROM collections c WHERE c.id = s.collection_id)
            ORDER BY s.id
            """, kind: "subjects without their collection") { row in
            "subject \(try row["id"].decode(Int64.self)) belongs to collection \(try row["collection_id"].decode(Int64.self)), which does not exist"
        }
        try collect("""
            SELECT f.id, f.key_id FROM faces f WHERE NOT EXISTS (SELECT 1 FROM encryption_keys k WHERE k.id = f.key_id) ORDER BY f.id
            """, kind: "faces under an unknown key") { row in
            "face \(try row["id"].decode(Int64.self)) is sealed under key \(try row["key_id"].decode(String.self)), which the store does not record"
        }
        return problems
    }
}
