import ArgumentParser
import Foundation
import NetraIdentity
import NetraStore

extension DatabaseCommand {
    /// `netra db copy --to postgres://…`: moves a SQLite store to PostgreSQL and verifies the copy.
    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy the SQLite store into an empty PostgreSQL database, then verify the copy: the same counts and a clean db check (exit 1 otherwise).",
            discussion: """
                Every row is copied as it is (ids, sealed faces, key ids, MACs, the audit chain, hashed API keys) in one \
                transaction: a failed copy leaves the target as it was. A target holding any subject, face, API key, \
                collection besides default or audit entry is refused. The PostgreSQL password comes from --password-file, \
                NETRA_DATA_PASSWORD or data.password_file; the store key (NETRA_SECRET_KEY, NETRA_KEY_FILE or data.key_file) \
                opens the source and the copy, and must be used for the copy from then on. Stop the service first: what \
                the source stores while the copy runs is not copied.
                """
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Option(name: .long, help: "The PostgreSQL database to fill: postgres://USER@HOST:PORT/DATABASE[?sslmode=disable|prefer|require].")
        var to: String
        @Option(name: .customLong("password-file"), help: "File holding the PostgreSQL password (mode 0600; default: NETRA_DATA_PASSWORD, data.password_file).")
        var passwordFile: String?
        @Option(name: .customLong("batch-size"), help: "Rows per INSERT.") var batchSize = 1000
        @Flag(name: .long, help: "Print JSON.") var json = false

        struct Report: Encodable {
            let source: String
            let target: String
            let copied: StoreCounts
            let targetCounts: StoreCounts
            let verified: Int
            let sourceVerified: Int
            let tamperedFaceIds: [Int64]
            let unavailableKeys: [String: Int]
            let tamperedSubjectIds: [Int64]
            let auditLog: [String]
            let integrity: [String]
            var ok = false

            enum CodingKeys: String, CodingKey {
                case source, target, copied, verified, integrity, ok
                case targetCounts = "target_counts", sourceVerified = "source_verified", tamperedFaceIds = "tampered_face_ids"
                case unavailableKeys = "unavailable_keys", tamperedSubjectIds = "tampered_subject_ids", auditLog = "audit_log"
            }

            /// What differs between the source and the copy, one phrase each; empty when nothing does.
            var differences: [String] {
                var differences: [String] = []
                if targetCounts != copied { differences.append("the copy holds \(targetCounts), the source \(copied)") }
                if verified != sourceVerified { differences.append("\(verified) faces authenticate on the copy, \(sourceVerified) on the source") }
                if !tamperedFaceIds.isEmpty { differences.append("\(tamperedFaceIds.count) faces of the copy fail authentication") }
                for (keyID, count) in unavailableKeys.sorted(by: { $0.key < $1.key }) {
                    differences.append("\(count) faces of the copy are sealed with key \(keyID), which was not supplied")
                }
                if !tamperedSubjectIds.isEmpty { differences.append("\(tamperedSubjectIds.count) subjects of the copy fail authentication") }
                if auditLog != ["ok"] { differences.append("the copy's audit log: \(auditLog.joined(separator: "; "))") }
                if integrity != ["ok"] { differences.append("the copy's PostgreSQL integrity: \(integrity.joined(separator: "; "))") }
                return differences
            }
        }

        func run() async throws {
            try await Self.reportingFailures {
                do {
                    try copy()
                } catch let error as StoreError {
                    throw CommandFailure(message: error.description, exitCode: .failure)
                }
            }
        }

        private func copy() throws {
            let configuration = try global.loadConfiguration()
            guard case let .sqlite(path) = try StoreSession.location(storeOptions, configuration) else {
                throw CommandFailure(message: "the configured store is already PostgreSQL (data.url); db copy copies a SQLite store: "
                    + "unset data.url, or name the SQLite file with --db", exitCode: .failure)
            }
            guard PostgresLocation.isPostgresURL(to) else {
                throw CommandFailure(message: "--to must name a PostgreSQL database: postgres://USER@HOST:PORT/DATABASE", exitCode: .failure)
            }
            let target = try PostgresLocation(url: to, setting: "--to")
            guard FileManager.default.fileExists(atPath: path) else {
                throw CommandFailure(message: "there is no SQLite store at \(path) to copy (name it with --db or data.db)", exitCode: .failure)
            }
            let password = try StoreLocation.password(file: passwordFile, configuration: configuration)
            let key = try StoreSession.key(for: path, configuration: configuration)
            // Mid-rotation both keys open the source's rows, and the copy's.
            let additionalKeys = try StoreSession.newKey().map { [$0] } ?? []
            let modelVersion = try StoreSession.models(for: .sqlite(path: path), configuration: configuration).modelVersion
            let source = try SQLiteStore(path: path, key: key, additionalKeys: additionalKeys, modelVersion: modelVersion,
                                         actor: StoreSession.cliActor)
            let (sourceLoad, sourceIntegrity) = try source.check()
            guard sourceLoad.problems.isEmpty, sourceIntegrity == ["ok"] else {
                let problems = sourceLoad.problems + (sourceIntegrity == ["ok"] ? [] : ["SQLite integrity: " + sourceIntegrity.joined(separator: "; ")])
                throw CommandFailure(message: "the SQLite store \(path) does not check clean (\(problems.joined(separator: "; "))); nothing was copied "
                    + "(see netra db check)", exitCode: .failure)
            }

            let copied = try source.copy(to: target, password: password, batchSize: max(1, batchSize))
            let copy = try PostgresStore(location: target, password: password, key: key, additionalKeys: additionalKeys,
                                         modelVersion: modelVersion, actor: StoreSession.cliActor)
            defer { copy.close() }
            let (load, integrity) = try copy.check()
            var report = Report(source: path, target: target.description, copied: copied, targetCounts: try copy.rowCounts(),
                                verified: load.loaded, sourceVerified: sourceLoad.loaded, tamperedFaceIds: load.tamperedFaceIDs,
                                unavailableKeys: load.unavailableKeys, tamperedSubjectIds: load.tamperedSubjectIDs,
                                auditLog: load.auditProblems.isEmpty ? ["ok"] : load.auditProblems, integrity: integrity)
            let differences = report.differences
            report.ok = differences.isEmpty
            if json {
                try printJSON([report], asArray: false)
            } else {
                print("copied \(path) to \(target): \(copied); the copy "
                    + (differences.isEmpty ? "has the same counts, \(load.loaded) faces authenticated, audit log ok, PostgreSQL integrity ok"
                                           : "differs"))
            }
            guard differences.isEmpty else {
                throw CommandFailure(message: "the copy on \(target) differs from the source: \(differences.joined(separator: "; "))", exitCode: .failure)
            }
        }
    }
}
