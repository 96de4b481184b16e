import ArgumentParser
import Foundation
import NetraIdentity
import NetraStore

/// `netra db`: the identity database's health.
struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Check the identity database, or copy a SQLite one to PostgreSQL.",
        subcommands: [Check.self, Copy.self]
    )

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Authenticate every stored face and subject, verify the audit log's chain, run the database's integrity check (exit 1 on any problem)."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        struct Report: Encodable {
            let faces: Int
            let verified: Int
            let tamperedFaceIds: [Int64]
            let otherModelVersion: Int
            let unavailableKeys: [String: Int]
            let tamperedSubjectIds: [Int64]
            let auditLog: [String]
            let integrity: [String]
            let ok: Bool

            enum CodingKeys: String, CodingKey {
                case faces, verified, integrity, ok
                case tamperedFaceIds = "tampered_face_ids", otherModelVersion = "other_model_version"
                case unavailableKeys = "unavailable_keys", tamperedSubjectIds = "tampered_subject_ids", auditLog = "audit_log"
            }
        }

        func run() async throws {
            try await Self.reportingFailures {
                // Mid-rotation both keys are needed to open every row: the new one as for `keys rotate`.
                let store = try StoreSession.open(storeOptions, configuration: try global.loadConfiguration(),
                                                  additionalKeys: try StoreSession.newKey().map { [$0] } ?? [])
                let (load, integrity) = try store.check()
                let ok = load.problems.isEmpty && integrity == ["ok"]
                let report = Report(faces: try store.faceCount(), verified: load.loaded, tamperedFaceIds: load.tamperedFaceIDs,
                                    otherModelVersion: load.otherModelVersion, unavailableKeys: load.unavailableKeys,
                                    tamperedSubjectIds: load.tamperedSubjectIDs, auditLog: load.auditProblems.isEmpty ? ["ok"] : load.auditProblems,
                                    integrity: integrity, ok: ok)
                if json {
                    try printJSON([report], asArray: false)
                } else {
                    print("\(report.faces) faces: \(report.verified) authenticated, \(report.tamperedFaceIds.count) tampered"
                        + (report.tamperedFaceIds.isEmpty ? "" : " (ids \(report.tamperedFaceIds.map(String.init).joined(separator: ", ")))")
                        + ", \(report.otherModelVersion) of another model version; \(report.tamperedSubjectIds.count) subjects tampered"
                        + (report.tamperedSubjectIds.isEmpty ? "" : " (ids \(report.tamperedSubjectIds.map(String.init).joined(separator: ", ")))")
                        + "; audit log: \(report.auditLog.joined(separator: "; ")); \(store is PostgresStore ? "PostgreSQL" : "SQLite") integrity: "
                        + integrity.joined(separator: "; "))
                }
                if !ok { throw ExitCode.failure }
            }
        }
    }
}

/// `netra keys`: encryption key management.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the key that seals the stored embeddings.",
        subcommands: [Rotate.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every stored face under a new key (NETRA_NEW_SECRET_KEY or --new-key-file); resumable."
        )
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Option(name: .customLong("new-key-file"), help: "File holding the new key (mode 0600).") var newKeyFile: String?
        @Option(name: .customLong("batch-size"), help: "Rows re-sealed per transaction.") var batchSize = 500

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                guard let newKey = try StoreSession.newKey(file: newKeyFile) else {
                    throw CommandFailure(message: "give the new key in NETRA_NEW_SECRET_KEY, NETRA_NEW_KEY_FILE or with --new-key-file",
                                         exitCode: .failure)
                }
                // Interrupted, the new key is already the active one: the store opens with both either way.
                let store = try StoreSession.open(storeOptions, configuration: configuration, additionalKeys: [newKey])
                let report = try store.rotateKey(to: newKey, batchSize: max(1, batchSize)) { done, total in
                    FileHandle.standardError.write(Data("\rre-sealed \(done)/\(total)".utf8))
                }
                FileHandle.standardError.write(Data("\n".utf8))
                print("re-sealed \(report.resealed) faces under key \(report.newKeyID); retired \(report.retiredKeyIDs.joined(separator: ", "))")
                if !report.unreadableFaceIDs.isEmpty {
                    throw CommandFailure(message: "\(report.unreadableFaceIDs.count) faces could not be opened and were left as they are: ids "
                        + report.unreadableFaceIDs.map(String.init).joined(separator: ", "), exitCode: .failure)
                }
                print("use the new key from now on (NETRA_SECRET_KEY or NETRA_KEY_FILE)")
            }
        }
    }
}
