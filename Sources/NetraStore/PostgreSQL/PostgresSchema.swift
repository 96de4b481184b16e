import Foundation
import PostgresNIO

/// The PostgreSQL store's schema: the numbered SQL files of `PostgresMigrations/`, applied in
/// order at start, each in its own transaction and recorded in `netra_migrations`.
///
/// Replicas starting together take a session advisory lock first, so exactly one applies a
/// migration and the others then find it applied. A database that records migrations this
/// NETRA does not know (a newer NETRA wrote it) is refused untouched, and so is a database
/// holding tables of another application.
enum PostgresSchema {
    /// The advisory-lock key of NETRA's migrations (any fixed 64-bit number; "NETRA" in ASCII).
    static let lockKey: Int64 = 0x4E_45_54_52_41

    /// Applies the migrations `connections`' database lacks; returns their names.
    static func migrate(_ connections: PostgresConnections) throws(StoreError) -> Set<String> {
        let files = try migrationFiles()
        let known = files.map { $0.deletingPathExtension().lastPathComponent }
        return try connections.withConnection { connection in
            let sql = PostgresSQL(connection: connection, logger: Logger(label: "netra.postgres.schema"))
            try sql.execute("SELECT pg_advisory_lock(\(lockKey))")
            // A connection that may still hold the lock is never handed out again.
            defer { if (try? sql.execute("SELECT pg_advisory_unlock(\(lockKey))")) == nil { PostgresConnections.discard(connection) } }
            if try tables(sql, at: connections.location).isEmpty {
                try sql.execute("CREATE TABLE netra_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            }
            let applied = Set(try sql.rows("SELECT name FROM netra_migrations").map { try $0["name"].decode(String.self) })
            let unknown = applied.subtracting(known)
            guard unknown.isEmpty else { throw StoreError.newerSchema(unknownMigrations: unknown.sorted()) }
            var appliedNow: Set<String> = []
            for (name, file) in zip(known, files) where !applied.contains(name) {
                let text = try String(contentsOf: file, encoding: .utf8)
                try sql.execute("BEGIN")
                do {
                    // One statement at a time: postgres-nio sends every query as a prepared
                    // statement, which PostgreSQL refuses to hold several commands.
                    for statement in statements(of: text) { try sql.execute(PostgresQuery(unsafeSQL: statement)) }
                    try sql.execute("INSERT INTO netra_migrations (name, applied_at) VALUES (\(name), \(Timestamp.now()))")
                    try sql.execute("COMMIT")
                } catch {
                    _ = try? sql.execute("ROLLBACK")
                    throw error
                }
                appliedNow.insert(name)
            }
            return appliedNow
        }
    }

    /// The tables of the database's schema: none (a new store), or a NETRA store's; a database
    /// holding other tables and no `netra_migrations` belongs to another application and is
    /// refused (`StoreError.foreignDatabase`), whoever asks first (opening, counting faces).
    static func tables(_ sql: PostgresSQL, at location: PostgresLocation) throws -> Set<String> {
        let tables = Set(try sql.rows("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            .map { try $0["tablename"].decode(String.self) })
        guard tables.isEmpty || tables.contains("netra_migrations") else { throw StoreError.foreignDatabase(location.description) }
        return tables
    }

    /// The statements of a migration file: its `--` comment lines dropped, split at each `;`
    /// that ends a line (the files hold no function bodies or literals that would contain one).
    static func statements(of text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }
        var statements: [String] = [], current = ""
        for line in lines {
            current += line + "\n"
            if line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        return rest.isEmpty ? statements : statements + [rest]
    }

    /// The migrations folder of NetraStore's resource bundle (see `ExecutableResources`).
    static let migrationsFolder = ExecutableResources.url(inBundle: "netra_NetraStore", path: "PostgresMigrations")
        ?? Bundle.module.url(forResource: "PostgresMigrations", withExtension: nil)

    /// `NNNN_name.sql` files in name order.
    static func migrationFiles() throws(StoreError) -> [URL] {
        guard let folder = migrationsFolder,
              let files = try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        else { throw StoreError.database("the PostgreSQL schema migrations are missing from NETRA's resources") }
        return files.filter { $0.pathExtension == "sql" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
