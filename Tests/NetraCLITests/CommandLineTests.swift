import Foundation
import NetraTestSupport
import Testing

/// Runs the built `netra` binary as a user would and checks its output and exit codes.
@Suite("The netra command line", .tags(.endToEnd))
struct CommandLineTests {
    @Test("detect --json reports dlib's boxes for a golden image, in the documented shape", .offCooperativePool)
    func detectJSON() throws {
        let image = SharedData.golden.appendingPathComponent("images/two_people.jpg").path
        let result = try Netra.run(["detect", image, "--json"])
        #expect(result.exitCode == 0)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(report["face_count"] as? Int == 2)
        #expect(report["width"] as? Int == 1126 && report["height"] as? Int == 661)
        let faces = try #require(report["faces"] as? [[String: Any]])
        let golden = try GoldenImage.load("two_people").detections["upsample_0"] ?? []
        #expect(faces.map { $0["bbox"] as? [Int] ?? [] } == golden.map { [$0.left, $0.top, $0.right + 1, $0.bottom + 1] })
        for face in faces {
            let bbox = face["bbox"] as? [Int] ?? []
            #expect(face["area"] as? Int == (bbox[2] - bbox[0]) * (bbox[3] - bbox[1]))
            #expect((face["landmarks"] as? [[Int]])?.count == 5)
            let confidence = face["confidence"] as? Double ?? -1
            #expect(confidence > 0 && confidence < 1)
        }
    }

    @Test("verify decides a known same pair and a known different pair", .offCooperativePool)
    func verify() throws {
        let folder = FaceDataSet.publicFolder.appendingPathComponent("images/face_recognition")
        let same = try Netra.run(["verify", folder.appendingPathComponent("test_obama.jpg").path,
                                  folder.appendingPathComponent("test_obama2.jpg").path, "--json"])
        let different = try Netra.run(["verify", folder.appendingPathComponent("test_obama.jpg").path,
                                       folder.appendingPathComponent("test_biden.jpg").path, "--json"])
        for result in [same, different] { #expect(result.exitCode == 0) }
        let sameReport = try JSONSerialization.jsonObject(with: Data(same.output.utf8)) as? [String: Any]
        let differentReport = try JSONSerialization.jsonObject(with: Data(different.output.utf8)) as? [String: Any]
        #expect(sameReport?["is_match"] as? Bool == true)
        #expect(differentReport?["is_match"] as? Bool == false)
        #expect(sameReport?["threshold_used"] as? Double == 0.7)
        let similarity = sameReport?["similarity_score"] as? Double ?? -1, distance = sameReport?["distance"] as? Double ?? -1
        #expect(abs(similarity - max(0, 1 - distance / 2)) < 1e-6)
    }

    @Test("verify exits 3 naming the image without a face", .offCooperativePool)
    func verifyWithoutFace() throws {
        let dogs = FaceDataSet.multiFolder.appendingPathComponent("images/dlib_dogs.jpg").path
        let result = try Netra.run(["verify", SharedData.golden.appendingPathComponent("images/obama.jpg").path, dogs])
        #expect(result.exitCode == 3)
        #expect(result.error == "netra: no face found in \(dogs)\n")
    }

    @Test("an unreadable image is exit 2 with one line, and the other images are still processed", .offCooperativePool)
    func unreadableImage() throws {
        let text = SharedData.repositoryRoot.appendingPathComponent("README.md").path
        let result = try Netra.run(["detect", text, SharedData.golden.appendingPathComponent("images/astronaut.png").path, "--json"])
        #expect(result.exitCode == 2)
        #expect(result.error == "netra: \(text): not a JPEG or PNG image\n")
        let reports = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]]
        #expect(reports?.count == 1)
    }

    @Test("embed --chip gives the golden descriptor of a chip", .offCooperativePool)
    func embedChip() throws {
        let golden = try GoldenImage.load("obama").faces[0]
        let result = try Netra.run(["embed", "--chip", SharedData.golden.appendingPathComponent(golden.chipPNG).path, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        let embedding = try #require(report?["embedding"] as? [Double])
        #expect(embedding.count == 128)
        #expect(zip(embedding, golden.descriptor).allSatisfy { abs($0 - Double($1)) < 1e-4 })
    }

    @Test("--help lists every subcommand with a one-line description", .offCooperativePool)
    func help() throws {
        let result = try Netra.run(["--help"])
        for command in ["detect", "embed", "verify", "bench", "models"] {
            #expect(result.output.contains("  \(command) "), "\(command) missing from --help")
        }
    }

    @Test("a misspelt configuration key is a one-line error", .offCooperativePool)
    func badConfiguration() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("netra-\(UUID().uuidString).yaml")
        try Data("model:\n  dri: models\n".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let result = try Netra.run(["models", "list", "--config", url.path])
        #expect(result.exitCode == 1)
        #expect(result.error == "netra: configuration \(url.path) has an unknown key 'model.dri'\n")
    }
}

/// The `netra` binary of the current build.
enum Netra {
    struct Result {
        let exitCode: Int32
        let output: String
        let error: String
    }

    static var binary: URL {
        get throws {
            let binary = SharedData.builtBinary
            try #require(FileManager.default.isExecutableFile(atPath: binary.path), "build netra first (\(binary.path))")
            return binary
        }
    }

    /// Runs `netra` with `arguments` from the repository root; with a `timeout`, a command that
    /// does not end by itself (a server that should have stopped at start) is killed then.
    static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval? = nil) throws -> Result {
        let process = Process()
        process.executableURL = try binary
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = SharedData.repositoryRoot
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let pid = process.processIdentifier
        let deadline = DispatchWorkItem { _ = kill(pid, SIGKILL) }
        if let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline) }
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        deadline.cancel()
        return Result(exitCode: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
                      error: String(decoding: errorData, as: UTF8.self))
    }
}
