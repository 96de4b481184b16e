import Foundation
import NetraStore
import NetraTestSupport
import Testing

/// `netra db copy --to`: a SQLite store made with the commands, moved to a database of its own
/// on the process's test PostgreSQL, then used there through `data.url` as a user would.
@Suite("netra db copy to PostgreSQL", .tags(.endToEnd))
struct DatabaseCopyCommandTests {
    static let key = StoreCommandTests.key
    static let images = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition")

    /// The variables that select the SQLite store at `--db` (no `data.url`), with the target's password.
    func sqliteEnvironment(_ database: PostgresStoreCommandTests.Database) -> [String: String] {
        ["NETRA_DATA_URL": "", "NETRA_DATA_PASSWORD": database.password, "NETRA_SECRET_KEY": Self.key, "NETRA_KEY_FILE": "",
         "NETRA_DATA_KEY_FILE": "", "NETRA_DATA_PASSWORD_FILE": ""]
    }

    @Test("db copy fills an empty database, which then checks clean and identifies through data.url; a second copy is refused",
          .offCooperativePool)
    func copyThenUse() throws {
        let folder = try StoreCommandTests.Folder()
        let database = try PostgresStoreCommandTests.Database()
        let sqlite = sqliteEnvironment(database)
        for (name, file) in [("Barack Obama", "test_obama.jpg"), ("Joe Biden", "test_biden.jpg")] {
            let enrolled = try Netra.run(["enroll", "--db", folder.db, "--subject", name, Self.images.appendingPathComponent(file).path],
                                         environment: sqlite)
            try #require(enrolled.exitCode == 0, "\(enrolled.output) \(enrolled.error)")
        }
        let created = try Netra.run(["apikeys", "create", "--db", folder.db, "--name", "door"], environment: sqlite)
        try #require(created.exitCode == 0, "\(created.error)")

        let copied = try Netra.run(["db", "copy", "--db", folder.db, "--to", database.location.description, "--json"], environment: sqlite)
        #expect(copied.exitCode == 0, "\(copied.output) \(copied.error)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(copied.output.utf8)) as? [String: Any], "\(copied.output)")
        let counts = try #require(report["copied"] as? [String: Int])
        #expect(counts["subjects"] == 2 && counts["faces"] == 2 && counts["collections"] == 1 && counts["api_keys"] == 1, "\(counts)")
        #expect(report["target_counts"] as? [String: Int] == counts && report["verified"] as? Int == 2 && report["ok"] as? Bool == true)

        let checked = try Netra.run(["db", "check"], environment: database.environment(key: Self.key))
        #expect(checked.exitCode == 0, "\(checked.output) \(checked.error)")
        #expect(checked.output.contains("2 faces: 2 authenticated") && checked.output.contains("PostgreSQL integrity: ok"), "\(checked.output)")
        let identified = try Netra.run(["identify", Self.images.appendingPathComponent("test_obama2.jpg").path, "--json"],
                                       environment: database.environment(key: Self.key))
        #expect(identified.output.contains("Barack Obama"), "\(identified.output) \(identified.error)")

        let again = try Netra.run(["db", "copy", "--db", folder.db, "--to", database.location.description], environment: sqlite)
        #expect(again.exitCode == 1 && again.output.isEmpty, "\(again.output)")
        #expect(again.error.hasPrefix("netra: \(database.location) already holds a NETRA store (2 subjects, 2 faces, 1 API keys, ")
            && again.error.split(separator: "\n").count == 1, "\(again.error)")
    }

    @Test("db copy refuses, in one line and exit 1, a PostgreSQL source, a target that is not a PostgreSQL URL or cannot be reached",
          .offCooperativePool)
    func refusals() throws {
        let folder = try StoreCommandTests.Folder()
        let database = try PostgresStoreCommandTests.Database()
        let sqlite = sqliteEnvironment(database)
        let made = try Netra.run(["apikeys", "create", "--db", folder.db, "--name", "door"], environment: sqlite)
        try #require(made.exitCode == 0, "\(made.error)")
        var closedPort = database.location
        closedPort.port = 1
        let cases: [(what: String, arguments: [String], environment: [String: String], message: String)] = [
            ("a PostgreSQL source", ["--to", database.location.description], database.environment(key: Self.key),
             "the configured store is already PostgreSQL (data.url)"),
            ("a target of another kind", ["--db", folder.db, "--to", "mysql://netra@127.0.0.1/netra"], sqlite,
             "--to must name a PostgreSQL database"),
            ("a target without a database", ["--db", folder.db, "--to", "postgres://netra@127.0.0.1:\(database.location.port)"], sqlite,
             "--to names no database"),
            ("a target that cannot be reached", ["--db", folder.db, "--to", closedPort.description], sqlite, "cannot be reached"),
            ("a wrong password", ["--db", folder.db, "--to", database.location.description], sqlite.merging(["NETRA_DATA_PASSWORD": "wrong"]) { $1 },
             "refused the login of netra"),
            ("no source store", ["--db", folder.url.appendingPathComponent("none.db").path, "--to", database.location.description], sqlite,
             "there is no SQLite store at"),
        ]
        for (what, arguments, environment, message) in cases {
            let result = try Netra.run(["db", "copy"] + arguments, environment: environment)
            #expect(result.exitCode == 1, "\(what): exit \(result.exitCode), \(result.error)")
            #expect(result.error.hasPrefix("netra: ") && result.error.contains(message), "\(what): \(result.error)")
            #expect(result.error.split(separator: "\n").count == 1 && result.output.isEmpty, "\(what): \(result.output) \(result.error)")
            #expect(!result.error.contains(database.password), "\(what): \(result.error)")
        }
        // Nothing reached the target.
        let untouched = try Netra.run(["db", "copy", "--db", folder.db, "--to", database.location.description], environment: sqlite)
        #expect(untouched.exitCode == 0, "\(untouched.error)")
    }
}
