import Foundation
import GRDB

/// The store's schema: the numbered SQL files of `migrations/` (shipped as resources),
/// applied in order by GRDB's migrator, which records each applied file in the database.
enum StoreSchema {
    static func migrator() throws -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for file in try migrationFiles() {
            let sql = try String(contentsOf: file, encoding: .utf8)
            migrator.registerMigration(file.deletingPathExtension().lastPathComponent) { db in
                try db.execute(sql: sql)
            }
        }
        return migrator
    }

    /// The migrations folder of NetraStore's resource bundle (see `ExecutableResources`).
    static let migrationsFolder = ExecutableResources.url(inBundle: "netra_NetraStore", path: "Migrations")
        ?? Bundle.module.url(forResource: "Migrations", withExtension: nil)

    /// `NNNN_name.sql` files in name order.
    static func migrationFiles() throws -> [URL] {
        guard let folder = migrationsFolder,
              let files = try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        else { throw StoreError.database("the schema migrations are missing from NETRA's resources") }
        return files.filter { $0.pathExtension == "sql" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
