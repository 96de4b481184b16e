import Foundation
import NetraTestSupport
import Testing

/// `netra serve` for real: a child process on a free loopback port, driven with curl.
@Suite("The running service", .serialized, .tags(.endToEnd))
struct LiveServerTests {
    final class Server {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-live-\(UUID().uuidString)")
        let process = Process()
        private(set) var port = 0

        /// `netra serve` on a free port, on a SQLite store of its own, or (`environment` naming
        /// one, `sqlite` false) on the store the environment names.
        init(environment: [String: String] = [:], sqlite: Bool = true) throws {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            process.executableURL = try Netra.binary
            process.arguments = ["serve", "--port", "0"] + (sqlite ? ["--db", folder.appendingPathComponent("netra.db").path] : [])
            process.environment = ProcessInfo.processInfo.environment
                .merging(["NETRA_SECRET_KEY": StoreCommandTests.key]) { $1 }.merging(environment) { $1 }
            process.currentDirectoryURL = SharedData.repositoryRoot
            let errors = Pipe()
            process.standardError = errors
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            // The log line "NETRA listening on [IPv4]127.0.0.1/127.0.0.1:PORT" gives the port.
            var log = ""
            let deadline = Date().addingTimeInterval(60)
            while port == 0, Date() < deadline {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                log += String(decoding: chunk, as: UTF8.self)
                if let line = log.split(separator: "\n").last(where: { $0.contains("NETRA listening on") }),
                   let value = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                    port = value
                }
            }
            try #require(port > 0, "netra serve did not start: \(log)")
            while Date() < deadline, (try? curl(["-s", "-o", "/dev/null", "-w", "%{http_code}", url("/ready")]))?.output != "200" {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }

        deinit {
            if process.isRunning { process.terminate() }
            try? FileManager.default.removeItem(at: folder)
        }

        func url(_ path: String) -> String { "http://localhost:\(port)\(path)" }
    }

    static func curl(_ arguments: [String], in folder: URL? = nil) throws -> (output: String, exitCode: Int32) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl"] + arguments
        if let folder { process.currentDirectoryURL = folder }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: data, as: UTF8.self), process.terminationStatus)
    }

    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
    }

    @Test("the seed's curl example works as written; the public set enrolls and the rest is identified; SIGTERM stops it cleanly", .offCooperativePool)
    func seedExampleAndRoundTrip() throws {
        let server = try Server()
        let images = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition")
        try FileManager.default.copyItem(at: images.appendingPathComponent("test_obama.jpg"), to: server.folder.appendingPathComponent("person1.jpg"))
        try FileManager.default.copyItem(at: images.appendingPathComponent("test_obama2.jpg"), to: server.folder.appendingPathComponent("person2.jpg"))
        let example = try Self.curl(["-X", "POST", "http://localhost:\(server.port)/api/v1/verify",
                                     "-F", "image1=@person1.jpg", "-F", "image2=@person2.jpg", "-F", "threshold=0.7"], in: server.folder)
        let verified = Self.json(example.output)
        #expect(verified["status"] as? String == "success")
        #expect(verified["is_match"] as? Bool == true)
        #expect(verified["threshold_used"] as? Double == 0.7)

        let client = try Netra.run(["client", "verify", "--url", server.url(""), server.folder.appendingPathComponent("person1.jpg").path,
                                    server.folder.appendingPathComponent("person2.jpg").path])
        #expect(client.exitCode == 0)
        #expect(Self.json(client.output)["is_match"] as? Bool == true)
        let refused = try Netra.run(["client", "detect", "--url", server.url(""), SharedData.repositoryRoot.appendingPathComponent("README.md").path])
        #expect(refused.exitCode == 1)
        #expect(refused.error == "netra: HTTP 422: image: not a JPEG or PNG image\n")

        var subjectOf: [String: Int] = [:]
        var later: [(file: String, identity: String)] = []
        for photo in try FaceDataSet.manifest() {
            guard subjectOf[photo.identity] == nil else {
                later.append(photo)
                continue
            }
            let path = FaceDataSet.publicFolder.appendingPathComponent(photo.file).path
            let enrolled = Self.json(try Self.curl(["-s", "-X", "POST", server.url("/api/v1/enroll"), "-F", "name=\(photo.identity)",
                                                   "-F", "largest=true", "-F", "image=@\(path)"]).output)
            subjectOf[photo.identity] = (enrolled["subject"] as? [String: Any])?["id"] as? Int
            #expect(subjectOf[photo.identity] != nil, "enrolling \(photo.file): \(enrolled)")
        }
        var wrong: [String] = []
        for photo in later {
            let path = FaceDataSet.publicFolder.appendingPathComponent(photo.file).path
            let identified = Self.json(try Self.curl(["-s", "-X", "POST", server.url("/api/v1/identify"), "-F", "image=@\(path)", "-F", "top_k=1"]).output)
            let faces = identified["faces"] as? [[String: Any]] ?? []
            let subjects = faces.compactMap { (($0["candidates"] as? [[String: Any]])?.first?["subject_id"]) as? Int }
            if !subjects.contains(subjectOf[photo.identity] ?? -1) { wrong.append(photo.file) }
        }
        #expect(later.count > 50)
        #expect(wrong.isEmpty, "not identified: \(wrong)")
        let health = Self.json(try Self.curl(["-s", server.url("/health")]).output)
        #expect(health["status"] as? String == "healthy")

        kill(server.process.processIdentifier, SIGTERM)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0)
    }
}
