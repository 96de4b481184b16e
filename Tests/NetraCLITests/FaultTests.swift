import Foundation
import NetraTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults of the disk and of the processes under a running `netra serve` (or the CLI where
/// that is the natural surface): a full disk, a read-only database, the database deleted or
/// replaced while serving, and `kill -9` during a bulk enrollment and during a key rotation.
///
/// The small disk is a tmpfs mounted for the test (root is needed); without mount it falls back
/// to an ext4 image on a loop device, then to RLIMIT_FSIZE on the server (`prlimit`, with
/// SIGXFSZ ignored so that writes fail with EFBIG instead of killing the process).
/// `NETRA_FAULT_DISK=tmpfs|loop|rlimit` forces one of them.
///
/// Where a fault shows a NETRA defect the expectation is wrapped in `withKnownIssue`, naming it.
@Suite("Faults: full disk, read-only and replaced databases, kill -9", .serialized, .tags(.endToEnd))
struct FaultTests {
    // MARK: Fixtures

    static let images = FaceDataSet.publicFolder.appendingPathComponent("images")
    static func photo(_ name: String) -> String { images.appendingPathComponent("face_recognition/\(name)").path }
    static func deepface(_ name: String) -> String { images.appendingPathComponent("deepface/\(name)").path }
    static let otherKey = "base64:" + Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString()
    /// The environment of every server: the rate limit out of the way of the parallel reads.
    static let serverEnvironment = ["NETRA_SECRET_KEY": StoreCommandTests.key, "NETRA_APP_RATE_LIMIT_PER_SECOND": "100000",
                                    "NETRA_APP_RATE_LIMIT_BURST": "100000"]
    static var isRoot: Bool { getuid() == 0 }

    /// A temporary folder, removed at the end (after whatever was mounted in it is unmounted).
    final class Scratch {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netra-fault-\(UUID().uuidString)")
        private var mounts: [String] = []
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }

        func folder(_ name: String) throws -> URL {
            let folder = url.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            return folder
        }

        func mounted(_ path: String) { mounts.append(path) }

        deinit {
            for path in mounts.reversed() {
                _ = try? FaultTests.sh(["chattr", "-R", "-i", path])
                if (try? FaultTests.sh(["umount", path]))?.status != 0 { _ = try? FaultTests.sh(["umount", "-l", path]) }
            }
            try? FileManager.default.removeItem(at: url)
        }
    }

    /// A small file system for the database, or a process limit that acts like one.
    final class SmallDisk {
        enum Mechanism: String { case tmpfs, loop, rlimit }
        let folder: URL
        let mechanism: Mechanism
        private let scratch: Scratch
        private var filler: URL { folder.appendingPathComponent("filler") }

        /// `megabytes` of room in `scratch/name`, by the first mechanism that works here.
        init(in scratch: Scratch, name: String, megabytes: Int) throws {
            self.scratch = scratch
            folder = try scratch.folder(name)
            let forced = ProcessInfo.processInfo.environment["NETRA_FAULT_DISK"].flatMap(Mechanism.init(rawValue:))
            if forced == nil || forced == .tmpfs,
               try FaultTests.sh(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0755", "tmpfs", folder.path]).status == 0 {
                mechanism = .tmpfs
                scratch.mounted(folder.path)
                return
            }
            if forced == nil || forced == .loop {
                let image = scratch.url.appendingPathComponent("\(name).ext4").path
                if try FaultTests.sh(["truncate", "-s", "\(max(megabytes, 2))M", image]).status == 0,
                   try FaultTests.sh(["mkfs.ext4", "-q", "-F", image]).status == 0,
                   try FaultTests.sh(["mount", "-o", "loop", image, folder.path]).status == 0 {
                    mechanism = .loop
                    scratch.mounted(folder.path)
                    return
                }
            }
            mechanism = .rlimit
        }

        /// What `netra serve` is run under: with RLIMIT_FSIZE, SIGXFSZ ignored (a write over the
        /// limit then fails with EFBIG instead of killing the process).
        var serverPrefix: [String] { mechanism == .rlimit ? ["/bin/sh", "-c", "trap '' XFSZ; exec \"$@\"", "sh"] : [] }

        /// No room left: the file system filled, or the server's file size limit lowered to
        /// the size of its largest file.
        func fill(serverPID: Int32) throws {
            switch mechanism {
            case .tmpfs, .loop:
                _ = try FaultTests.sh(["dd", "if=/dev/zero", "of=\(filler.path)", "bs=16k"])
                // ext4 keeps blocks for root: fill those too (dd runs as root).
                let free = try FaultTests.sh(["df", "--output=avail", "-B1", folder.path]).output
                    .split(separator: "\n").last.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
                #expect(free < 16384, "the small disk still has \(free) bytes free")
            case .rlimit:
                let sizes = try FileManager.default.contentsOfDirectory(atPath: folder.path).map {
                    (try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent($0).path)[.size] as? Int) ?? 0
                }
                let limit = sizes.max() ?? 0
                #expect(try FaultTests.sh(["prlimit", "--pid", "\(serverPID)", "--fsize=\(limit):unlimited"]).status == 0)
            }
        }

        /// Room again.
        func free(serverPID: Int32) throws {
            switch mechanism {
            case .tmpfs, .loop: try FileManager.default.removeItem(at: filler)
            case .rlimit: #expect(try FaultTests.sh(["prlimit", "--pid", "\(serverPID)", "--fsize=unlimited:unlimited"]).status == 0)
            }
        }
    }

    /// `netra serve` on a free loopback port, its output in a log file (quoted by failure
    /// messages, kept in `folder`, or removed with the server without one); on the store `db`,
    /// or, without one, the store `environment` names.
    final class Server: @unchecked Sendable {
        /// What failure messages call it (the replica tests run two).
        let name: String
        let process = Process()
        let logURL: URL
        private let removesLog: Bool
        private(set) var port = 0

        init(db: String?, in folder: URL? = nil, name: String = "netra serve", prefix: [String] = [],
             environment: [String: String] = FaultTests.serverEnvironment) throws {
            self.name = name
            removesLog = folder == nil
            logURL = (folder ?? FileManager.default.temporaryDirectory).appendingPathComponent("server-\(UUID().uuidString.prefix(8)).log")
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
            let arguments = ["serve", "--port", "0"] + (db.map { ["--db", $0] } ?? [])
            if prefix.isEmpty {
                process.executableURL = try Netra.binary
                process.arguments = arguments
            } else {
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = prefix + [try Netra.binary.path] + arguments
            }
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.currentDirectoryURL = SharedData.repositoryRoot
            let log = try FileHandle(forWritingTo: logURL)
            process.standardOutput = log
            process.standardError = log
            try process.run()
            // "NETRA listening on [IPv4]127.0.0.1/127.0.0.1:PORT" gives the port.
            let deadline = Date().addingTimeInterval(60)
            while port == 0, Date() < deadline, process.isRunning {
                if let line = self.log.split(separator: "\n").last(where: { $0.contains("NETRA listening on") }),
                   let value = line.split(separator: ":").last.flatMap({ Int($0.trimmingCharacters(in: .whitespaces)) }) {
                    port = value
                } else {
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
            try #require(port > 0, "\(name) did not start: \(self.log)")
        }

        deinit {
            kill(SIGKILL)
            if removesLog { try? FileManager.default.removeItem(at: logURL) }
        }

        /// The log's end, for failure messages.
        var logTail: String { String(log.suffix(3000)) }

        var pid: Int32 { process.processIdentifier }
        var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }
        var url: String { "http://127.0.0.1:\(port)" }

        /// `ready`, `failed`, or `timeout`, once the background loading has ended.
        func waitUntilLoaded(timeout: TimeInterval = 90) -> String {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline, process.isRunning {
                if let reply = try? FaultTests.call(self, "GET", "/ready"),
                   let status = reply.json["status"] as? String, status == "ready" || status == "failed" {
                    return status
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return "timeout"
        }

        func kill(_ signal: Int32) {
            guard process.isRunning else { return }
            Glibc.kill(process.processIdentifier, signal)
            process.waitUntilExit()
        }

        /// SIGTERM; the exit status.
        @discardableResult
        func stop() -> Int32 {
            kill(SIGTERM)
            return process.terminationStatus
        }
    }

    struct Reply {
        let status: Int
        let text: String
        let headers: [String: String]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var names: [String] { (json["subjects"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
        var faceID: Int? { (json["face"] as? [String: Any])?["id"] as? Int }
        /// The best candidate's name of each face (identify).
        var candidates: [String] {
            (json["faces"] as? [[String: Any]] ?? []).compactMap { (($0["candidates"] as? [[String: Any]])?.first?["name"]) as? String }
        }
    }

    /// One HTTP request with curl: `form` fields (a value `@path` uploads that file) or a JSON body.
    static func call(_ server: Server, _ method: String, _ path: String, form: [(String, String)] = [], json: String? = nil,
                     timeout: Int = 120) throws -> Reply {
        let stamp = UUID().uuidString
        let folder = FileManager.default.temporaryDirectory
        let body = folder.appendingPathComponent("netra-fault-body-\(stamp)"), head = folder.appendingPathComponent("netra-fault-head-\(stamp)")
        defer {
            try? FileManager.default.removeItem(at: body)
            try? FileManager.default.removeItem(at: head)
        }
        var arguments = ["-s", "-X", method, "-H", "Expect:", "--max-time", "\(timeout)", "-o", body.path, "-D", head.path,
                         "-w", "%{http_code}", server.url + path]
        for (name, value) in form { arguments += ["-F", "\(name)=\(value)"] }
        if let json { arguments += ["-H", "Content-Type: application/json", "--data-binary", json] }
        let result = try LiveServerTests.curl(arguments)
        let text = (try? String(contentsOf: body, encoding: .utf8)) ?? ""
        // The last header block (after any 1xx).
        let block = ((try? String(contentsOf: head, encoding: .utf8)) ?? "").components(separatedBy: "\r\n\r\n")
            .last { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty } ?? ""
        var headers: [String: String] = [:]
        for line in block.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return Reply(status: Int(result.output) ?? 0, text: text, headers: headers)
    }

    /// `count` GETs of each path at once (curl --parallel): the reply of each.
    static func parallelGets(_ server: Server, _ paths: [String], count: Int, in folder: URL) throws -> [(path: String, reply: Reply)] {
        let out = folder.appendingPathComponent("parallel-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: out) }
        var arguments = ["-s", "-Z", "--parallel-max", "48", "--max-time", "60", "-w", "%{http_code} %{filename_effective}\n"]
        var pathOf: [String: String] = [:]
        for index in 0..<(count * paths.count) {
            let file = out.appendingPathComponent("\(index).json").path
            pathOf[file] = paths[index % paths.count]
            arguments += ["-o", file, server.url + paths[index % paths.count]]
        }
        let result = try LiveServerTests.curl(arguments)
        return result.output.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, let path = pathOf[parts[1]] else { return nil }
            let text = (try? String(contentsOfFile: parts[1], encoding: .utf8)) ?? ""
            return (path: path, reply: Reply(status: Int(parts[0]) ?? 0, text: text, headers: [:]))
        }
    }

    /// A command's exit status and its standard output and error together.
    @discardableResult
    static func sh(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func netra(_ arguments: [String], db: String, key: String = StoreCommandTests.key, extra: [String: String] = [:]) throws -> Netra.Result {
        try Netra.run(arguments + ["--db", db], environment: ["NETRA_SECRET_KEY": key].merging(extra) { $1 })
    }

    /// `netra db check --json`: its exit status and report.
    static func check(_ db: String, key: String = StoreCommandTests.key) throws -> (exitCode: Int32, report: [String: Any], error: String) {
        let result = try netra(["db", "check", "--json"], db: db, key: key)
        let report = (try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]) ?? [:]
        return (result.exitCode, report, result.error)
    }

    /// A write the store cannot take must be refused clearly: a 4xx or 503 (with Retry-After)
    /// JSON error with a code, never a 500, never SQL text.
    static func expectClearRefusal(_ reply: Reply, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == 503 || reply.status == 507 || (400..<500).contains(reply.status),
                "\(what): \(reply.status) \(reply.text)", sourceLocation: sourceLocation)
        #expect(reply.json["status"] as? String == "error" && !(reply.errorCode ?? "").isEmpty,
                "\(what): no JSON error code: \(reply.text)", sourceLocation: sourceLocation)
        if reply.status == 503 {
            #expect(reply.headers["retry-after"] != nil, "\(what): 503 without Retry-After", sourceLocation: sourceLocation)
        }
        for word in ["sqlite", "sql error", "commit", "insert into", "transaction"] {
            #expect(!reply.text.lowercased().contains(word), "\(what): the answer quotes the database: \(reply.text)",
                    sourceLocation: sourceLocation)
        }
    }

    /// Reads must keep working: identify finds obama's face, verify matches it, the list answers.
    static func expectReadsWork(_ server: Server, subjects: Set<String>, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let identified = try call(server, "POST", "/api/v1/identify", form: [("image", "@" + photo("test_obama3.jpg"))])
        #expect(identified.status == 200 && identified.candidates == ["obama"], "identify: \(identified.status) \(identified.text)",
                sourceLocation: sourceLocation)
        let verified = try call(server, "POST", "/api/v1/verify",
                                form: [("image1", "@" + photo("test_obama3.jpg")), ("image2", "@" + photo("test_obama.jpg"))])
        #expect(verified.status == 200 && verified.json["is_match"] as? Bool == true, "verify: \(verified.status) \(verified.text)",
                sourceLocation: sourceLocation)
        let listed = try call(server, "GET", "/api/v1/subjects")
        #expect(listed.status == 200 && Set(listed.names) == subjects, "list: \(listed.status) \(listed.text)", sourceLocation: sourceLocation)
    }

    /// A store with obama and biden (one face each), written by one `netra enroll --dir` (closed cleanly).
    /// Seeds `db` with two people. `precision` f32 keeps the store free of the int8 bundle, for
    /// a server run as another user who cannot reach the model folder (it then starts, and
    /// reports what the store does).
    static func seedStore(_ db: String, precision: String? = nil) throws {
        let people = FileManager.default.temporaryDirectory.appendingPathComponent("netra-fault-seed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: people) }
        for (person, file) in [("obama", "test_obama.jpg"), ("biden", "test_biden.jpg")] {
            let folder = people.appendingPathComponent(person)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent(file).path, withDestinationPath: photo(file))
        }
        let seeded = try netra(["enroll", "--dir", people.path], db: db, extra: precision.map { ["NETRA_MODEL_PRECISION": $0] } ?? [:])
        try #require(seeded.exitCode == 0, "seeding \(db): \(seeded.output) \(seeded.error)")
    }

    /// What the subject list and subject 1 answer now (compared with the answers after a fault).
    static func baseline(_ server: Server) throws -> [String: String] {
        var answers: [String: String] = [:]
        for path in ["/api/v1/subjects", "/api/v1/subjects/1"] {
            let reply = try call(server, "GET", path)
            try #require(reply.status == 200, "\(path): \(reply.status) \(reply.text)")
            answers[path] = reply.text
        }
        return answers
    }

    // MARK: 1. Full disk

    @Test("full disk: writes are refused with a clear 503, reads go on, nothing is damaged, enrollment resumes when room returns", .offCooperativePool)
    func fullDisk() throws {
        let scratch = try Scratch()
        let disk = try SmallDisk(in: scratch, name: "disk", megabytes: 4)
        let db = disk.folder.appendingPathComponent("netra.db").path
        let server = try Server(db: db, in: scratch.url, prefix: disk.serverPrefix)
        defer { server.kill(SIGKILL) }
        try #require(server.waitUntilLoaded() == "ready", "\(server.log)")
        for (name, file) in [("obama", "test_obama.jpg"), ("biden", "test_biden.jpg")] {
            let enrolled = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", name), ("image", "@" + Self.photo(file))])
            try #require(enrolled.status == 201, "\(enrolled.text)")
        }

        try disk.fill(serverPID: server.pid)
        let writes = [
            ("enroll a face of a known subject", try Self.call(server, "POST", "/api/v1/enroll",
                                                               form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])),
            ("enroll a new subject", try Self.call(server, "POST", "/api/v1/enroll",
                                                   form: [("name", "rose"), ("image", "@" + Self.photo("knn_train_rose_leslie_img1.jpg"))])),
            ("create a subject", try Self.call(server, "POST", "/api/v1/subjects", json: #"{"name": "empty", "metadata": {"a": "b"}}"#)),
            ("delete a face", try Self.call(server, "DELETE", "/api/v1/subjects/2/faces/2")),
        ]
        let tolerant = disk.mechanism == .rlimit
        for (what, reply) in writes {
            if tolerant {
                // EFBIG (a file size limit) is no ENOSPC: SQLite reports it as an I/O error.
                Self.expectClearRefusal(reply, "\(what) on a full disk (\(disk.mechanism))")
            } else {
                Self.expectClearRefusal(reply, "\(what) on a full disk (\(disk.mechanism))")
            }
        }
        #expect(writes.first?.1.errorCode == "storage_full" || tolerant, "\(writes.first?.1.text ?? "")")
        #expect(server.process.isRunning, "the server died on a full disk: \(server.log)")
        try Self.expectReadsWork(server, subjects: ["obama", "biden"])
        let ready = try Self.call(server, "GET", "/ready")
        #expect(ready.status == 200, "/ready on a full disk: \(ready.status) \(ready.text)")

        // Room again: enrollment works without a restart, and the store is intact.
        try disk.free(serverPID: server.pid)
        let resumed = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])
        #expect(resumed.status == 201, "enroll after the disk has room again: \(resumed.status) \(resumed.text)")
        let obama = try Self.call(server, "GET", "/api/v1/subjects/1")
        #expect(obama.json["face_count"] as? Int == 2, "\(obama.text)")
        #expect(server.stop() == 0)
        let checked = try Self.check(db)
        #expect(checked.exitCode == 0 && checked.report["faces"] as? Int == 3, "db check: \(checked.report) \(checked.error)")
        #expect(checked.report["integrity"] as? [String] == ["ok"])
    }

    // MARK: 2. Read-only database

    @Test("read-only file system: writes are refused clearly and reads work, on a store left by a crash and on a cleanly closed one", .offCooperativePool,
          .enabled(if: FaultTests.isRoot, "mounting a tmpfs needs root"))
    func readOnlyFileSystem() throws {
        let scratch = try Scratch()

        // (a) The store as a crashed server leaves it (-wal and -shm beside it), then read-only.
        let crashed = try scratch.folder("crashed")
        guard try Self.sh(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", crashed.path]).status == 0 else {
            Issue.record("mount -t tmpfs is not permitted here")
            return
        }
        scratch.mounted(crashed.path)
        let db = crashed.appendingPathComponent("netra.db").path
        try Self.seedStore(db)
        do {
            let first = try Server(db: db, in: scratch.url)
            try #require(first.waitUntilLoaded() == "ready", "\(first.log)")
            first.kill(SIGKILL)
        }
        #expect(FileManager.default.fileExists(atPath: db + "-shm"))
        #expect(try Self.sh(["mount", "-o", "remount,ro", crashed.path]).status == 0)
        do {
            let server = try Server(db: db, in: scratch.url)
            defer { server.kill(SIGKILL) }
            #expect(server.waitUntilLoaded() == "ready", "\(server.log)")
            let enrolled = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])
            Self.expectClearRefusal(enrolled, "enroll on a read-only file system")
            #expect(enrolled.errorCode == "store_read_only", "\(enrolled.text)")
            Self.expectClearRefusal(try Self.call(server, "DELETE", "/api/v1/subjects/2"), "delete a subject on a read-only file system")
            Self.expectClearRefusal(try Self.call(server, "PATCH", "/api/v1/subjects/2", json: #"{"name": "joe"}"#),
                                    "rename a subject on a read-only file system")
            try Self.expectReadsWork(server, subjects: ["obama", "biden"])
            #expect(server.stop() == 0)
        }
        #expect(try Self.check(db).exitCode == 0)

        // (b) A store closed cleanly (no -wal, no -shm), then read-only: it should be served too.
        let clean = try scratch.folder("clean")
        #expect(try Self.sh(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", clean.path]).status == 0)
        scratch.mounted(clean.path)
        let cleanDB = clean.appendingPathComponent("netra.db").path
        try Self.seedStore(cleanDB)
        #expect(!FileManager.default.fileExists(atPath: cleanDB + "-wal"))
        #expect(try Self.sh(["mount", "-o", "remount,ro", clean.path]).status == 0)
        let server = try Server(db: cleanDB, in: scratch.url)
        defer { server.kill(SIGKILL) }
        let loaded = server.waitUntilLoaded()
        withKnownIssue("netra serve cannot open a cleanly closed WAL store on a read-only file system: /ready says failed and the log says 'is not a usable NETRA database: unable to open database file'") {
            #expect(loaded == "ready", "\(server.log.split(separator: "\n").filter { $0.contains("could not load") })")
        }
        if loaded == "ready" {
            let enrolled = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])
            Self.expectClearRefusal(enrolled, "enroll on a read-only file system (clean store)")
            try Self.expectReadsWork(server, subjects: ["obama", "biden"])
        } else {
            // At least it says so: not ready, and a clear line in the log.
            #expect(loaded == "failed")
            #expect(server.log.contains("could not load"))
            let refused = try Self.call(server, "POST", "/api/v1/identify", form: [("image", "@" + Self.photo("test_obama3.jpg"))])
            #expect(refused.status == 503 && refused.errorCode == "not_ready", "\(refused.status) \(refused.text)")
        }
    }

    @Test("read-only database file: chmod 0400 before the start (server not root), immutable under a running server", .offCooperativePool,
          .enabled(if: FaultTests.isRoot, "running the server as another user and loop mounts need root"))
    func readOnlyFile() throws {
        let scratch = try Scratch()

        // (a) chmod: root ignores file modes, so the server runs as nobody (uid 65534), owning the folder.
        let folder = try scratch.folder("chmod")
        let db = folder.appendingPathComponent("netra.db").path
        try Self.seedStore(db, precision: "f32")
        #expect(try Self.sh(["chown", "-R", "65534:65534", folder.path]).status == 0)
        #expect(try Self.sh(["chmod", "0755", scratch.url.path]).status == 0)
        #expect(chmod(db, 0o400) == 0)
        do {
            let server = try Server(db: db, in: scratch.url, prefix: ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
                                    environment: FaultTests.serverEnvironment.merging(["NETRA_MODEL_PRECISION": "f32"]) { $1 })
            defer { server.kill(SIGKILL) }
            let loaded = server.waitUntilLoaded()
            withKnownIssue("netra serve cannot open a read-only (chmod 0400) database file: /ready says failed and the log quotes SQLite: 'attempt to write a readonly database - while executing CREATE TABLE grdb_issue_102'") {
                #expect(loaded == "ready", "\(server.log.split(separator: "\n").filter { $0.contains("could not load") })")
            }
            if loaded == "ready" {
                let enrolled = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])
                Self.expectClearRefusal(enrolled, "enroll into a chmod 0400 database")
                try Self.expectReadsWork(server, subjects: ["obama", "biden"])
            } else {
                #expect(loaded == "failed")
            }
        }

        // (b) Immutable (ext4 chattr +i) under a running server: writes to the open files fail with EPERM.
        let image = scratch.url.appendingPathComponent("ext4.img").path
        let ext4 = try scratch.folder("ext4")
        guard try Self.sh(["truncate", "-s", "16M", image]).status == 0, try Self.sh(["mkfs.ext4", "-q", "-F", image]).status == 0,
              try Self.sh(["mount", "-o", "loop", image, ext4.path]).status == 0 else {
            Issue.record("no loop mount here: the immutable case was not run")
            return
        }
        scratch.mounted(ext4.path)
        let lockedDB = ext4.appendingPathComponent("netra.db").path
        try Self.seedStore(lockedDB)
        let server = try Server(db: lockedDB, in: scratch.url)
        defer { server.kill(SIGKILL) }
        try #require(server.waitUntilLoaded() == "ready", "\(server.log)")
        let files = [lockedDB, lockedDB + "-wal"].filter { FileManager.default.fileExists(atPath: $0) }
        #expect(try Self.sh(["chattr", "+i"] + files).status == 0)
        let enrolled = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])
        Self.expectClearRefusal(enrolled, "enroll into an immutable database")
        #expect(!enrolled.text.lowercased().contains("sqlite"), "\(enrolled.text)")
        #expect(server.process.isRunning)
        try Self.expectReadsWork(server, subjects: ["obama", "biden"])
        #expect(try Self.sh(["chattr", "-i"] + files).status == 0)
        let resumed = try Self.call(server, "POST", "/api/v1/enroll", form: [("name", "obama"), ("image", "@" + Self.photo("test_obama2.jpg"))])
        #expect(resumed.status == 201, "enroll once the file is writable again: \(resumed.text)")
        #expect(server.stop() == 0)
        let checked = try Self.check(lockedDB)
        #expect(checked.exitCode == 0 && checked.report["faces"] as? Int == 3, "\(checked.report) \(checked.error)")
    }

    // MARK: 3. Database deleted or replaced under a running server

    @Test("database deleted while serving: every store request is refused with 503 store_replaced, nothing is acknowledged into the unlinked file", .offCooperativePool)
    func deletedDatabase() throws {
        let scratch = try Scratch()
        let folder = try scratch.folder("data")
        let db = folder.appendingPathComponent("netra.db").path
        try Self.seedStore(db)
        var server = try Server(db: db, in: scratch.url)
        defer { server.kill(SIGKILL) }
        try #require(server.waitUntilLoaded() == "ready", "\(server.log)")
        let before = try Self.baseline(server)

        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        // Enough reads at once that the connection pool opens new connections (to the path).
        let reads = try Self.parallelGets(server, Array(before.keys), count: 60, in: scratch.url)
        #expect(reads.count == 120)
        let refused = reads.filter { $0.reply.status == 503 && $0.reply.text.contains("store_replaced") }
        #expect(refused.count == reads.count, "every read refused, none answered from the unlinked file: \(reads.first { $0.reply.status != 503 }?.reply.text ?? "")")
        let ready = try Self.call(server, "GET", "/ready")
        #expect(ready.status == 503 && ready.text.contains("store_unavailable"), "\(ready.text)")
        let identified = try Self.call(server, "POST", "/api/v1/identify", form: [("image", "@" + Self.photo("test_obama3.jpg"))])
        #expect(identified.status == 503, "names come from the store: \(identified.text)")

        // Nothing is acknowledged into a file that a restart would not find.
        let enrolled = try Self.call(server, "POST", "/api/v1/enroll",
                                     form: [("name", "kit"), ("image", "@" + Self.photo("knn_train_kit_harington_john2.jpeg"))])
        #expect(enrolled.status == 503 && enrolled.text.contains("store_replaced"), "\(enrolled.text)")
        Self.expectClearRefusal(enrolled, "enroll after the database was deleted")
        #expect(server.stop() == 0)
        // Restarted on the same path, the server finds no file there and starts an empty store.
        server = try Server(db: db, in: scratch.url)
        #expect(server.waitUntilLoaded() == "ready")
    }

    @Test("database replaced by another store's file while serving: no wrong data, 503 store_replaced; a restart with the original key refuses it", .offCooperativePool)
    func replacedDatabase() throws {
        let scratch = try Scratch()
        let folder = try scratch.folder("data"), otherFolder = try scratch.folder("other")
        let db = folder.appendingPathComponent("netra.db").path, other = otherFolder.appendingPathComponent("netra.db").path
        try Self.seedStore(db)
        let otherImages = [Self.photo("knn_train_rose_leslie_img1.jpg"), Self.photo("knn_train_rose_leslie_img2.jpg")]
        #expect(try Self.netra(["enroll", "--subject", "Other Person"] + otherImages, db: other, key: Self.otherKey).exitCode == 0)
        let server = try Server(db: db, in: scratch.url)
        defer { server.kill(SIGKILL) }
        try #require(server.waitUntilLoaded() == "ready", "\(server.log)")
        let before = try Self.baseline(server)

        // An atomic replacement, as a restore from another host's backup would do it.
        let copy = folder.appendingPathComponent("incoming.db").path
        try FileManager.default.copyItem(atPath: other, toPath: copy)
        #expect(rename(copy, db) == 0)
        let reads = try Self.parallelGets(server, Array(before.keys), count: 60, in: scratch.url)
        #expect(reads.count == 120)
        // Never other data than before (the other store's subjects are sealed under another key, so
        // they fail authentication; but the page and its total are read separately).
        let wrong = reads.filter { $0.reply.status == 200 && $0.reply.text != before[$0.path] }
        #expect(wrong.count == 0, "\(wrong.count) of \(reads.count) reads answered other data, e.g. \(wrong.first?.reply.text ?? "")")
        let refused = reads.filter { $0.reply.status == 503 && $0.reply.text.contains("store_replaced") }
        #expect(refused.count == reads.count, "\(reads.first { $0.reply.status != 503 }?.reply.text ?? "")")
        let ready = try Self.call(server, "GET", "/ready")
        #expect(ready.status == 503 && ready.text.contains("replaced"), "\(ready.text)")
        let enrolled = try Self.call(server, "POST", "/api/v1/enroll",
                                     form: [("name", "kit"), ("image", "@" + Self.photo("knn_train_kit_harington_john2.jpeg"))])
        #expect(enrolled.status == 503 && enrolled.text.contains("store_replaced"), "\(enrolled.text)")
        #expect(server.stop() == 0)

        // A restart with the original key on the replaced file is refused, saying why.
        let restarted = try Server(db: db, in: scratch.url)
        defer { restarted.kill(SIGKILL) }
        #expect(restarted.waitUntilLoaded() == "failed")
        #expect(restarted.log.contains("the key does not match key id"), "\(restarted.log)")
        let checked = try Self.check(db)
        #expect(checked.exitCode == 1 && checked.error.contains("the key does not match key id"), "\(checked.error)")
    }

    // MARK: 4. kill -9 during bulk enrollment and during key rotation

    /// A process whose standard error is a terminal (so that `netra enroll --dir` draws its
    /// progress); returns the master side's file descriptor.
    static func runWithTerminal(_ process: Process) throws -> Int32 {
        // posix_openpt and friends are not in Swift's Glibc module: /dev/ptmx and its ioctls.
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        try #require(master >= 0, "no /dev/ptmx")
        var unlock: CInt = 0, number: CUnsignedInt = 0
        try #require(ioctl(master, 0x4004_5431 /* TIOCSPTLCK */, &unlock) == 0 && ioctl(master, 0x8004_5430 /* TIOCGPTN */, &number) == 0)
        let slave = open("/dev/pts/\(number)", O_RDWR | O_NOCTTY)
        try #require(slave >= 0, "cannot open /dev/pts/\(number)")
        process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        try process.run()
        close(slave)
        return master
    }

    @Test("kill -9 during netra enroll of a folder: every enrollment it had reported is there, the store checks", .offCooperativePool)
    func killDuringBulkEnrollment() throws {
        let scratch = try Scratch()
        let people = try scratch.folder("people")
        let photos: [String: [String]] = [
            "angelina": ["img1.jpg", "img2.jpg", "img4.jpg", "img5.jpg", "img6.jpg"].map(Self.deepface),
            "biden": ["test_biden.jpg", "knn_train_biden_biden2.jpg"].map(Self.photo),
            "obama": ["test_obama.jpg", "test_obama2.jpg", "test_obama3.jpg", "obama-720p.jpg", "knn_test_obama1.jpg"].map(Self.photo),
            "scarlett": ["img8.jpg", "img9.jpg", "img47.jpg", "img48.jpg"].map(Self.deepface),
        ]
        var plan: [String] = []  // the person of each image, in the order netra enrolls them
        for person in photos.keys.sorted() {
            let folder = try scratch.folder("people/\(person)")
            var names: [String] = []
            for file in photos[person]! {
                let name = URL(fileURLWithPath: file).lastPathComponent
                try FileManager.default.createSymbolicLink(atPath: folder.appendingPathComponent(name).path, withDestinationPath: file)
                names.append(name)
            }
            plan += names.sorted().map { _ in person }
        }
        let db = scratch.url.appendingPathComponent("netra.db").path

        let process = Process()
        process.executableURL = try Netra.binary
        process.arguments = ["enroll", "--dir", people.path, "--db", db]
        process.environment = ProcessInfo.processInfo.environment.merging(["NETRA_SECRET_KEY": StoreCommandTests.key]) { $1 }
        process.currentDirectoryURL = SharedData.repositoryRoot
        process.standardOutput = FileHandle.nullDevice
        let terminal = try Self.runWithTerminal(process)
        defer { close(terminal) }
        // The progress bar "enrolling [###...] k/16": the first k images are done.
        var text = "", reported = 0
        var buffer = [UInt8](repeating: 0, count: 4096)
        while reported < 5 {
            let count = read(terminal, &buffer, buffer.count)
            if count <= 0 { break }
            text += String(decoding: buffer[0..<count], as: UTF8.self)
            reported = text.components(separatedBy: "\r").compactMap { line in
                line.contains("enrolling [") ? line.split(separator: " ").last.flatMap { Int($0.split(separator: "/").first ?? "") } : nil
            }.max() ?? 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "netra enroll ended before the kill: \(text)")
        try #require(reported >= 5 && reported < plan.count, "progress seen: \(text)")

        let checked = try Self.check(db)
        #expect(checked.exitCode == 0 && checked.report["ok"] as? Bool == true, "\(checked.report) \(checked.error)")
        #expect(checked.report["integrity"] as? [String] == ["ok"])
        let faces = checked.report["faces"] as? Int ?? -1
        #expect(faces >= reported && faces <= plan.count, "\(faces) faces after \(reported) reported")
        let listed = try Self.netra(["subjects", "list", "--json"], db: db)
        let subjects = (try? JSONSerialization.jsonObject(with: Data(listed.output.utf8)) as? [[String: Any]]) ?? []
        var stored: [String: Int] = [:]
        for subject in subjects { stored[subject["name"] as? String ?? "?"] = subject["face_count"] as? Int ?? 0 }
        let done = Dictionary(plan.prefix(reported).map { ($0, 1) }, uniquingKeysWith: +)
        for (person, count) in done {
            #expect((stored[person] ?? 0) >= count, "\(person): \(count) reported enrolled, \(stored[person] ?? 0) stored")
        }
        #expect(stored.values.allSatisfy { $0 > 0 }, "a subject without faces: \(stored)")
        #expect(stored.values.reduce(0, +) == faces)

        // Run again, to the end: every photo is in, once.
        let again = try Self.netra(["enroll", "--dir", people.path, "--json"], db: db)
        #expect(again.exitCode == 0, "\(again.error)")
        let total = try Self.check(db).report["faces"] as? Int ?? -1
        #expect(total >= plan.count)
        withKnownIssue("netra enroll --dir is not resumable: re-run after a kill it enrolls again the photos enrolled before the kill (duplicate faces); without a terminal it reports nothing before it ends") {
            #expect(total == plan.count, "\(total) faces for \(plan.count) photos after the re-run")
        }
    }

    @Test("kill -9 during keys rotate: the store checks, every reported enrollment is there, the rotation run again completes", .offCooperativePool)
    func killDuringKeyRotation() throws {
        let scratch = try Scratch()
        let db = scratch.url.appendingPathComponent("netra.db").path
        let enrolled = try Self.netra(["enroll", "--subject", "obama", Self.photo("test_obama.jpg"), "--json"], db: db)
        let faceID = ((try? JSONSerialization.jsonObject(with: Data(enrolled.output.utf8)) as? [String: Any])?["accepted"] as? [[String: Any]])?
            .first?["face_id"] as? Int
        try #require(enrolled.exitCode == 0 && faceID != nil, "\(enrolled.output) \(enrolled.error)")
        #expect(try Self.netra(["bench", "enroll", "--n", "1500"], db: db).exitCode == 0)
        let total = 1501
        let newKey = "base64:" + Data((0..<32).map { UInt8(($0 * 7 + 3) % 256) }).base64EncodedString()

        let process = Process()
        process.executableURL = try Netra.binary
        process.arguments = ["keys", "rotate", "--batch-size", "2", "--db", db]
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["NETRA_SECRET_KEY": StoreCommandTests.key, "NETRA_NEW_SECRET_KEY": newKey]) { $1 }
        process.currentDirectoryURL = SharedData.repositoryRoot
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // "\rre-sealed done/total" after each batch.
        var text = "", done = 0
        while done < 300 {
            let chunk = errors.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
            done = text.components(separatedBy: "\r").compactMap { line in
                line.hasPrefix("re-sealed ") ? Int(line.dropFirst(10).split(separator: "/").first ?? "") : nil
            }.max() ?? 0
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the rotation ended before the kill: \(text.suffix(200))")
        try #require(done >= 300 && done < total, "progress seen: \(text.suffix(200))")

        // Interrupted: the new key is active; the old key alone is refused, saying so; with the
        // new key the store is intact (no row tampered, SQLite's check ok), the rest still under the old key.
        let old = try Self.check(db)
        #expect(old.exitCode == 1 && old.error.contains("the key does not match key id"), "\(old.error)")
        let interrupted = try Self.check(db, key: newKey)
        #expect(interrupted.report["integrity"] as? [String] == ["ok"], "\(interrupted.report) \(interrupted.error)")
        #expect((interrupted.report["tampered_face_ids"] as? [Int])?.isEmpty == true)
        #expect(interrupted.report["faces"] as? Int == total)
        let verified = interrupted.report["verified"] as? Int ?? -1
        let waiting = (interrupted.report["unavailable_keys"] as? [String: Int] ?? [:]).values.reduce(0, +)
        #expect(verified + waiting == total && verified >= done, "verified \(verified), under the old key \(waiting)")

        // Run again with both keys: it completes.
        let resumed = try Netra.run(["keys", "rotate", "--db", db], environment: ["NETRA_SECRET_KEY": StoreCommandTests.key, "NETRA_NEW_SECRET_KEY": newKey])
        #expect(resumed.exitCode == 0, "\(resumed.error)")
        #expect(resumed.output.contains("re-sealed \(waiting) faces"), "\(resumed.output)")
        #expect(resumed.output.contains("retired "), "\(resumed.output)")
        let finished = try Self.check(db, key: newKey)
        #expect(finished.exitCode == 0 && finished.report["verified"] as? Int == total, "\(finished.report) \(finished.error)")
        // The enrollment reported before the rotation is there, and found.
        let identified = try Self.netra(["identify", Self.photo("test_obama2.jpg"), "--json"], db: db, key: newKey)
        #expect(identified.output.contains("\"obama\""), "\(identified.output) \(identified.error)")
        let shown = try Self.netra(["subjects", "show", "1", "--json"], db: db, key: newKey)
        let faceIDs = ((try? JSONSerialization.jsonObject(with: Data(shown.output.utf8)) as? [String: Any])?["faces"] as? [[String: Any]] ?? [])
            .compactMap { $0["id"] as? Int }
        #expect(faceIDs.contains(faceID!), "face \(faceID!) reported enrolled: \(shown.output) \(shown.error)")
        #expect(try Self.check(db).exitCode == 1, "the old key must no longer open the store")
    }
}
