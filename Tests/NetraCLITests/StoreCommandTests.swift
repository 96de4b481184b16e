import Foundation
import NetraIdentity
import NetraStore
import NetraTestSupport
import NetraVision
import Testing

/// The identity-store commands, run as a user would, on a temporary database.
@Suite("The store commands", .tags(.endToEnd))
struct StoreCommandTests {
    static let key = "base64:" + Data((0..<32).map { UInt8($0) }).base64EncodedString()

    final class Folder {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netra-cli-\(UUID().uuidString)")
        var db: String { url.appendingPathComponent("netra.db").path }
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }
    }

    func netra(_ arguments: [String], _ folder: Folder, key: String = StoreCommandTests.key) throws -> Netra.Result {
        try Netra.run(arguments + ["--db", folder.db], environment: ["NETRA_SECRET_KEY": key])
    }

    func json(_ result: Netra.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    }

    @Test("enroll, identify, list, rename, delete and check, end to end", .offCooperativePool)
    func workflow() throws {
        let folder = try Folder()
        let images = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition")
        let enrolled = try netra(["enroll", "--subject", "Barack Obama", images.appendingPathComponent("test_obama.jpg").path, "--json"], folder)
        #expect(enrolled.exitCode == 0)
        let report = try json(enrolled)
        #expect(report["accepted_count"] as? Int == 1)
        let biden = try netra(["enroll", "--subject", "Joe Biden", images.appendingPathComponent("test_biden.jpg").path], folder)
        #expect(biden.exitCode == 0)

        let group = FaceDataSet.multiFolder.appendingPathComponent("images/fr_obama_and_biden.jpg").path
        let identified = try json(try netra(["identify", group, "--json"], folder))
        let names = (identified["faces"] as? [[String: Any]] ?? []).compactMap {
            (($0["candidates"] as? [[String: Any]])?.first?["name"]) as? String
        }
        #expect(Set(names) == ["Barack Obama", "Joe Biden"])

        let rejected = try netra(["enroll", "--subject", "Barack Obama", group, "--json"], folder)
        #expect(rejected.exitCode == 4)
        #expect((try json(rejected)["rejections_by_reason"] as? [String: Int]) == ["multiple_faces": 1])
        let wrongPerson = try netra(["enroll", "--subject", "Barack Obama", images.appendingPathComponent("test_biden.jpg").path], folder)
        #expect(wrongPerson.exitCode == 4)
        #expect(wrongPerson.output.contains("does not look like this subject"))

        let list = try netra(["subjects", "list", "--json"], folder)
        let subjects = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
        #expect(subjects.map { $0["name"] as? String } == ["Barack Obama", "Joe Biden"])
        #expect(try netra(["subjects", "rename", "2", "Joseph Biden"], folder).exitCode == 0)
        #expect(try netra(["subjects", "show", "2"], folder).output.contains("Joseph Biden"))
        #expect(try netra(["subjects", "show", "99"], folder).exitCode == 5)
        #expect(try netra(["faces", "delete", "1"], folder).exitCode == 0)
        #expect(try netra(["faces", "delete", "1"], folder).error == "netra: face 1 does not exist\n")
        #expect(try netra(["db", "check"], folder).exitCode == 0)
        #expect(try netra(["subjects", "delete", "2"], folder).exitCode == 0)

        let wrongKey = try netra(["subjects", "list"], folder, key: "base64:" + Data(repeating: 1, count: 32).base64EncodedString())
        #expect(wrongKey.exitCode == 1)
        #expect(wrongKey.error.hasPrefix("netra: the key does not match key id "))
    }

    @Test("collections: create, set, list, bound keys, enroll and identify in one, delete only with --yes", .offCooperativePool)
    func collections() throws {
        let folder = try Folder()
        let obama = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/test_obama.jpg").path
        #expect(try netra(["collections", "create", "lobby", "--strict-unknown", "false"], folder).exitCode == 0)
        #expect(try netra(["collections", "create", "lobby"], folder).error.contains("collection lobby already exists"))
        #expect(try netra(["collections", "set", "lobby", "--strict-unknown", "default"], folder).output.contains("strict unknown default"))
        #expect(try netra(["enroll", "--subject", "Barack Obama", "--collection", "lobby", obama], folder).exitCode == 0)
        let inLobby = try netra(["identify", obama, "--collection", "lobby", "--json"], folder)
        #expect(inLobby.output.contains("Barack Obama"))
        #expect(!(try netra(["identify", obama, "--json"], folder).output.contains("Barack Obama")), "default has nobody")
        let missing = try netra(["subjects", "list", "--collection", "nowhere"], folder)
        #expect(missing.exitCode == 5 && missing.error.contains("collection nowhere does not exist"))
        let key = try netra(["apikeys", "create", "--name", "door", "--collection", "lobby"], folder)
        #expect(key.exitCode == 0 && key.error.contains("bound to collection lobby"))
        let listed = try netra(["collections", "list"], folder).output
        #expect(listed.contains("default\t0 subjects") && listed.contains("lobby\t1 subjects\t1 faces"))
        #expect(try netra(["collections", "delete", "lobby"], folder).error.contains("--yes"))
        #expect(try netra(["collections", "delete", "lobby", "--yes"], folder).error.contains("active API keys are bound to it"))
    }

    @Test("keys rotate re-seals the store; the old key no longer opens it", .offCooperativePool)
    func rotation() throws {
        let folder = try Folder()
        let image = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition/test_obama.jpg").path
        #expect(try netra(["enroll", "--subject", "Obama", image], folder).exitCode == 0)
        let newKey = "a new passphrase for the store"
        let rotated = try Netra.run(["keys", "rotate", "--db", folder.db],
                                    environment: ["NETRA_SECRET_KEY": Self.key, "NETRA_NEW_SECRET_KEY": newKey])
        #expect(rotated.exitCode == 0)
        #expect(rotated.output.contains("re-sealed 1 faces"))
        #expect(try netra(["db", "check"], folder, key: newKey).exitCode == 0)
        #expect(try netra(["db", "check"], folder).exitCode == 1)
    }

    @Test("every enrollment acknowledged before a SIGKILL is there and decryptable after reopening", .offCooperativePool)
    func crashSafety() throws {
        for extraDelay in [0.0, 0.15, 0.4] {
            let folder = try Folder()
            let process = Process()
            process.executableURL = try Netra.binary
            process.arguments = ["bench", "enroll", "--n", "1000000", "--db", folder.db, "--acknowledge"]
            process.environment = ProcessInfo.processInfo.environment.merging(["NETRA_SECRET_KEY": Self.key]) { $1 }
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            // Kill at a moment while enrollments are under way: after the first few
            // acknowledgements, plus a varying delay.
            var text = ""
            while text.components(separatedBy: "acknowledged").count <= 5 {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            Thread.sleep(forTimeInterval: extraDelay)
            kill(process.processIdentifier, SIGKILL)
            text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            #expect(process.terminationReason == .uncaughtSignal)
            let acknowledged = text.split(separator: "\n").compactMap { line -> Int64? in
                line.hasPrefix("acknowledged ") ? Int64(line.dropFirst(13)) : nil
            }
            #expect(acknowledged.count >= 5, "the child stopped before enrolling")
            // The version the benchmark recorded its vectors under (that of a new store: int8 once the bundle is built).
            let version = try #require(try SQLiteStore.faceCountsByModelVersion(atPath: folder.db).keys.first)
            let store = try SQLiteStore(path: folder.db, key: try KeySource.parse(Self.key), modelVersion: version)
            #expect(store.loadReport.tamperedFaceIDs.isEmpty)
            let missing = acknowledged.filter { store.index.descriptor(faceID: $0) == nil }
            #expect(missing.isEmpty, "acknowledged but lost: \(missing.prefix(5))")
            #expect(try store.check().integrity == ["ok"])
        }
    }
}
