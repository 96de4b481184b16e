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

    /// The migrations folder of NetraStore's resource bundle beside the executable, found from
    /// `/proc/self/exe` rather than `Bundle.module`: Foundation stops the process when it cannot
    /// resolve the executable's own path (a service user who may not read a folder above it).
    /// Elsewhere (macOS) `Bundle.module` finds it.
    static let migrationsFolder: URL? = {
        var path = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { return Bundle.module.url(forResource: "Migrations", withExtension: nil) }
        let executable = URL(fileURLWithPath: String(decoding: path[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return executable.deletingLastPathComponent().appendingPathComponent("netra_NetraStore.resources/Migrations", isDirectory: true)
    }()

    /// `NNNN_name.sql` files in name order.
    static func migrationFiles() throws -> [URL] {
        guard let folder = migrationsFolder,
              let files = try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        else { throw StoreError.database("the schema migrations are missing from NETRA's resources") }
        return files.filter { $0.pathExtension == "sql" }.sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}
