import Foundation
import GRDB
import PostgresNIO

/// How many rows of each kind a store holds: what `netra db copy` compares between a SQLite
/// store and its copy on PostgreSQL.
public struct StoreCounts: Sendable, Equatable, Codable, CustomStringConvertible {
    public var subjects: Int
    public var faces: Int
    public var collections: Int
    public var apiKeys: Int
    public var auditEntries: Int

    public init(subjects: Int, faces: Int, collections: Int, apiKeys: Int, auditEntries: Int) {
        self.subjects = subjects
        self.faces = faces
        self.collections = collections
        self.apiKeys = apiKeys
        self.auditEntries = auditEntries
    }

    enum CodingKeys: String, CodingKey {
        case subjects, faces, collections
        case apiKeys = "api_keys", auditEntries = "audit_entries"
    }

    public var description: String {
        "\(subjects) subjects, \(faces) faces, \(collections) collections, \(apiKeys) API keys, \(auditEntries) audit entries"
    }

    /// The one query both backends answer, in the order of the fields.
    static let query = """
        SELECT (SELECT count(*) FROM subjects), (SELECT count(*) FROM faces), (SELECT count(*) FROM collections),
               (SELECT count(*) FROM api_keys), (SELECT count(*) FROM audit_log)
        """

    init(_ values: [Int64]) {
        self.init(subjects: Int(values[0]), faces: Int(values[1]), collections: Int(values[2]), apiKeys: Int(values[3]),
                  auditEntries: Int(values[4]))
    }

    /// The counts in a SQLite transaction.
    init(_ db: Database) throws {
        guard let row = try Row.fetchOne(db, sql: Self.query) else { throw StoreError.database("the row counts were not read") }
        self.init((0..<5).map { row[$0] as Int64 })
    }

    /// The counts in a PostgreSQL transaction.
    init(_ sql: PostgresSQL) throws {
        guard let row = try sql.rows(PostgresQuery(unsafeSQL: Self.query)).first else { throw StoreError.database("the row counts were not read") }
        self.init(try (0..<5).map { try row[$0].decode(Int64.self) })
    }
}

extension SQLiteStore {
    /// How many subjects, faces, collections, API keys and audit entries the store holds.
    public func rowCounts() throws(StoreError) -> StoreCounts {
        try read { db in try StoreCounts(db) }
    }
}

extension PostgresStore {
    /// How many subjects, faces, collections, API keys and audit entries the store holds.
    public func rowCounts() throws(StoreError) -> StoreCounts {
        try read { sql in try StoreCounts(sql) }
    }
}
