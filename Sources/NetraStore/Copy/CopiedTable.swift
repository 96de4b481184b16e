import Foundation
import GRDB
import PostgresNIO

/// One table `SQLiteStore.copy(to:password:batchSize:)` copies, with its columns in the types
/// both schemas give them: read from SQLite row by row, written to PostgreSQL in multi-row
/// INSERTs, every value as it is (ids, sealed bytes, MACs and chain values included).
struct CopiedTable: Sendable {
    /// How a column is read from SQLite and bound for PostgreSQL.
    enum ColumnType: Sendable {
        /// INTEGER / BIGINT (and INTEGER columns PostgreSQL narrows on assignment).
        case integer
        /// REAL / DOUBLE PRECISION.
        case real
        /// TEXT.
        case text
        /// BLOB / BYTEA.
        case bytes
        /// SQLite's INTEGER 0 or 1 / BOOLEAN.
        case boolean
    }

    let name: String
    let columns: [(name: String, type: ColumnType)]
    /// Whether its `id` is a serial the copy moves past the copied ids (`advanceSequence`).
    let serial: Bool

    /// The store's tables, each after those its rows refer to.
    static let all: [CopiedTable] = [
        CopiedTable(name: "store_settings", columns: [("name", .text), ("value", .bytes)], serial: false),
        CopiedTable(name: "encryption_keys", columns: [("id", .text), ("created_at", .text), ("state", .text), ("retired_at", .text)],
                    serial: false),
        CopiedTable(name: "collections", columns: [("id", .integer), ("name", .text), ("created_at", .text), ("strict_unknown", .boolean)],
                    serial: true),
        CopiedTable(name: "subjects", columns: [("id", .integer), ("collection_id", .integer), ("name", .text), ("metadata", .text),
                                                ("created_at", .text), ("updated_at", .text), ("mac", .bytes)], serial: true),
        CopiedTable(name: "faces", columns: [("id", .integer), ("subject_id", .integer), ("model_version", .text), ("key_id", .text),
                                             ("nonce", .bytes), ("ciphertext", .bytes), ("tag", .bytes), ("face_width", .integer),
                                             ("face_height", .integer), ("detector_confidence", .real), ("created_at", .text)], serial: true),
        CopiedTable(name: "audit_log", columns: [("id", .integer), ("at", .text), ("actor", .text), ("action", .text), ("subject_id", .integer),
                                                 ("face_id", .integer), ("result", .text), ("detail", .text), ("chain", .bytes)], serial: true),
        CopiedTable(name: "api_keys", columns: [("id", .text), ("name", .text), ("secret_hash", .bytes), ("scopes", .text),
                                                ("created_at", .text), ("last_used_at", .text), ("revoked_at", .text),
                                                ("collection_id", .integer)], serial: false),
    ]

    /// PostgreSQL binds at most 65535 parameters per statement.
    private static let parameterLimit = 60_000

    private var columnList: String { columns.map(\.name).joined(separator: ", ") }

    /// Copies every row of the table from `db` (the source's read snapshot) into `sql` (the
    /// target's transaction), `batchSize` rows per INSERT; returns how many rows were read and
    /// how many PostgreSQL reports inserted.
    func copy(from db: Database, to sql: PostgresSQL, batchSize: Int, sourcePath: String) throws -> (read: Int, inserted: Int) {
        let rowsPerStatement = max(1, min(batchSize, Self.parameterLimit / columns.count))
        let rows = try Row.fetchCursor(db, sql: "SELECT \(columnList) FROM \(name) ORDER BY \(columns[0].name)")
        var batch = PostgresBindings(capacity: rowsPerStatement * columns.count)
        var inBatch = 0, read = 0, inserted = 0
        while let row = try rows.next() {
            for (index, column) in columns.enumerated() {
                try bind(row[index] as DatabaseValue, of: column, row: row, into: &batch, sourcePath: sourcePath)
            }
            inBatch += 1
            read += 1
            if inBatch == rowsPerStatement {
                inserted += try insert(rows: inBatch, batch, sql)
                batch = PostgresBindings(capacity: rowsPerStatement * columns.count)
                inBatch = 0
            }
        }
        if inBatch > 0 { inserted += try insert(rows: inBatch, batch, sql) }
        return (read, inserted)
    }

    /// One multi-row INSERT of `rows` rows bound in `bindings` (`($1, $2, …), (…)`). A row
    /// PostgreSQL's constraints refuse (a reference to a row that does not exist, a value out
    /// of range) is reported as the source's fault, naming the table.
    private func insert(rows: Int, _ bindings: PostgresBindings, _ sql: PostgresSQL) throws -> Int {
        let width = columns.count
        let values = (0..<rows).map { row in
            "(" + (1...width).map { "$\(row * width + $0)" }.joined(separator: ", ") + ")"
        }.joined(separator: ", ")
        do {
            return try sql.execute(PostgresQuery(unsafeSQL: "INSERT INTO \(name) (\(columnList)) VALUES \(values)", binds: bindings))
        } catch {
            guard let state = PostgresFailure.sqlState(of: error), state.hasPrefix("23") else { throw error }
            throw StoreError.database("a row of the source's \(name) breaks a constraint of the PostgreSQL schema (SQLSTATE \(state)): "
                + "it refers to a row that does not exist or holds a value out of range; run netra db check on the source")
        }
    }

    /// Binds one SQLite value as its column's PostgreSQL type; a value of another storage class
    /// (the file edited outside NETRA) is refused, naming the row.
    private func bind(_ value: DatabaseValue, of column: (name: String, type: ColumnType), row: Row, into bindings: inout PostgresBindings,
                      sourcePath: String) throws {
        switch (column.type, value.storage) {
        case (.integer, .null): bindings.append(Int64?.none)
        case (.real, .null): bindings.append(Double?.none)
        case (.text, .null): bindings.append(String?.none)
        case (.bytes, .null): try bindings.append(Data?.none)
        case (.boolean, .null): bindings.append(Bool?.none)
        case let (.integer, .int64(integer)): bindings.append(integer)
        case let (.real, .double(real)): bindings.append(real)
        case let (.real, .int64(integer)): bindings.append(Double(integer))
        case let (.text, .string(text)): bindings.append(text)
        case let (.bytes, .blob(bytes)): try bindings.append(bytes)
        case let (.boolean, .int64(integer)) where integer == 0 || integer == 1: bindings.append(integer == 1)
        default:
            let key = (row[0] as DatabaseValue).description
            throw StoreError.unusableDatabase(path: sourcePath, reason: "\(name) row \(key): \(column.name) holds \(value.description.prefix(40)), "
                + "not a value of type \(column.type)")
        }
    }

    /// Moves the table's id sequence past the copied ids and past every id SQLite ever handed
    /// out (`sqlite_sequence`: a deleted newest row's id is not handed out again), so that the
    /// next row the target stores gets a new id.
    func advanceSequence(from db: Database, to sql: PostgresSQL) throws {
        guard serial else { return }
        let handedOut = try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = ?", arguments: [name]) ?? 0
        let largest = try Int64.fetchOne(db, sql: "SELECT max(id) FROM \(name)") ?? 0
        let last = max(handedOut, largest)
        try sql.execute("SELECT setval(pg_get_serial_sequence(\(name), 'id'), \(max(last, 1)), \(last >= 1))")
    }
}
