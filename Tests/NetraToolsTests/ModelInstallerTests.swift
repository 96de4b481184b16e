import Foundation
import NetraTestSupport
@testable import NetraTools
import NetraVision
import Testing

@Suite("Installing and verifying model files", .tags(.unit))
struct ModelInstallerTests {
    @Test("SHA-256 of a known vector", .offCooperativePool)
    func knownDigest() throws {
        #expect(try SHA256Digest.hex(of: Array("abc".utf8))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test("models/manifest.tsv lists exactly the catalogue's files and hashes", .offCooperativePool)
    func manifestMatchesCatalogue() throws {
        let text = try String(contentsOf: SharedData.repositoryRoot.appendingPathComponent("models/manifest.tsv"), encoding: .utf8)
        let rows = text.split(separator: "\n").dropFirst().map { $0.split(separator: "\t").map(String.init) }
        let catalogue = ModelCatalog.files.map { [$0.role.rawValue, $0.fileName, "\($0.byteCount)", $0.sha256, $0.licence] }
        #expect(rows == catalogue)
    }

    @Test("installs from a .tar.gz archive, verifying each file, and reports them verified", .offCooperativePool)
    func installsFromArchive() throws {
        let sandbox = try Sandbox()
        let archive = try sandbox.archive(named: "models.tar.gz", contents: FakeModels.contents)
        let installer = sandbox.installer(files: FakeModels.files)
        #expect(try installer.fetch(from: archive) == .given(archive))
        #expect(installer.status().map(\.state) == [.verified, .verified, .verified])
        #expect(sandbox.leftovers(in: sandbox.modelDirectory).isEmpty)
    }

    @Test("a corrupted file is rejected by its hash and nothing is written", .offCooperativePool)
    func rejectsCorruptedFile() throws {
        let sandbox = try Sandbox()
        var contents = FakeModels.contents
        contents[FakeModels.files[1].fileName] = "tampered detector"
        let archive = try sandbox.archive(named: "bad.tar.gz", contents: contents)
        let installer = sandbox.installer(files: FakeModels.files)
        let error = #expect(throws: ModelFetchError.self) { try installer.fetch(from: archive) }
        guard case let .hashMismatch(fileName, _, _, expected) = error else {
            Issue.record("expected a hash mismatch, got \(String(describing: error))")
            return
        }
        #expect(fileName == FakeModels.files[1].fileName)
        #expect(expected == FakeModels.files[1].sha256)
        #expect(installer.status().map(\.state) == [.missing, .missing, .missing])
        #expect(sandbox.leftovers(in: sandbox.modelDirectory).isEmpty)
    }

    @Test("an archive without one of the files names the missing file", .offCooperativePool)
    func reportsMissingFile() throws {
        let sandbox = try Sandbox()
        var contents = FakeModels.contents
        contents[FakeModels.files[2].fileName] = nil
        let archive = try sandbox.archive(named: "partial.tar.gz", contents: contents)
        #expect(throws: ModelFetchError.missingFromSource(fileName: FakeModels.files[2].fileName, source: archive.path)) {
            try sandbox.installer(files: FakeModels.files).fetch(from: archive)
        }
    }

    @Test("a file that is not an archive is reported as unreadable", .offCooperativePool)
    func rejectsGarbageArchive() throws {
        let sandbox = try Sandbox()
        let garbage = sandbox.root.appendingPathComponent("garbage.tar.gz")
        try Data("not gzip".utf8).write(to: garbage)
        let error = #expect(throws: ModelFetchError.self) { try sandbox.installer(files: FakeModels.files).fetch(from: garbage) }
        guard case .unreadableArchive = error else {
            Issue.record("expected an unreadable archive, got \(String(describing: error))")
            return
        }
    }

    @Test("a cached archive is used without the network, and a damaged one is dropped", .offCooperativePool)
    func usesCache() throws {
        let sandbox = try Sandbox()
        let cached = try sandbox.archive(named: ModelCatalog.sourceArchiveName, contents: FakeModels.contents,
                                         in: sandbox.cacheDirectory)
        let installer = sandbox.installer(files: FakeModels.files)
        #expect(try installer.fetch() == .cache(cached))
        #expect(try installer.fetch() == .alreadyInstalled)

        let other = try Sandbox()
        var contents = FakeModels.contents
        contents[FakeModels.files[0].fileName] = "damaged"
        let damaged = try other.archive(named: ModelCatalog.sourceArchiveName, contents: contents, in: other.cacheDirectory)
        #expect(throws: ModelFetchError.self) { try other.installer(files: FakeModels.files).fetch() }
        #expect(!FileManager.default.fileExists(atPath: damaged.path))
    }

    @Test("a damaged installed file shows up in the status", .offCooperativePool)
    func statusSeesDamage() throws {
        let sandbox = try Sandbox()
        let installer = sandbox.installer(files: FakeModels.files)
        try installer.fetch(from: sandbox.archive(named: "models.tar.gz", contents: FakeModels.contents))
        let embedder = sandbox.modelDirectory.appendingPathComponent(FakeModels.files[0].fileName)
        try Data("embedder WEIGHTS".utf8).write(to: embedder)
        try Data("x".utf8).write(to: sandbox.modelDirectory.appendingPathComponent(FakeModels.files[1].fileName))
        let states = installer.status().map(\.state)
        guard case .hashMismatch = states[0] else {
            Issue.record("expected a hash mismatch, got \(states[0])")
            return
        }
        #expect(states[1] == .wrongSize(actual: 1))
        #expect(states[2] == .verified)
    }

    @Test("the real models install offline from a folder (--from DIR) with their published hashes", .offCooperativePool)
    func installsRealModelsFromFolder() throws {
        let sandbox = try Sandbox()
        let installer = sandbox.installer(files: ModelCatalog.files)
        #expect(try installer.fetch(from: SharedData.models) == .given(SharedData.models))
        #expect(installer.status().allSatisfy { $0.isVerified })
    }

    @Test("a folder given through a symbolic link is searched too", .offCooperativePool)
    func installsFromLinkedFolder() throws {
        let sandbox = try Sandbox()
        let link = sandbox.root.appendingPathComponent("linked-models")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: SharedData.models)
        let installer = sandbox.installer(files: ModelCatalog.files)
        #expect(try installer.fetch(from: link) == .given(link))
        #expect(installer.status().allSatisfy { $0.isVerified })
    }
}

/// Three small stand-in model files with their real hashes, so the installer's logic is
/// tested without 32 MB of weights.
enum FakeModels {
    static let contents = [
        "embedder.dat": "embedder weights", "detector.dat": "detector weights", "landmarks.dat": "landmark trees",
    ]
    static let files = [
        fake(.embedder, "embedder.dat"), fake(.detector, "detector.dat"), fake(.landmarks, "landmarks.dat"),
    ]

    private static func fake(_ role: ModelFile.Role, _ fileName: String) -> ModelFile {
        let bytes = Array(contents[fileName]!.utf8)
        return ModelFile(role: role, fileName: fileName, byteCount: bytes.count,
                         sha256: try! SHA256Digest.hex(of: bytes), licence: "CC0-1.0")
    }
}

/// A temporary model directory, cache and scratch folder, removed when the test ends.
final class Sandbox {
    let root: URL
    var modelDirectory: URL { root.appendingPathComponent("models") }
    var cacheDirectory: URL { root.appendingPathComponent("cache") }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("netra-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: cacheDirectory, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: modelDirectory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    func installer(files: [ModelFile]) -> ModelInstaller {
        ModelInstaller(modelDirectory: modelDirectory, cacheDirectory: cacheDirectory, files: files)
    }

    /// A .tar.gz holding `contents` under a nested folder, as the real source archive does.
    func archive(named name: String, contents: [String: String], in folder: URL? = nil) throws -> URL {
        let tree = root.appendingPathComponent("tree-\(UUID().uuidString)")
        let nested = tree.appendingPathComponent("package-1.0/package/models")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        for (file, text) in contents {
            try Data(text.utf8).write(to: nested.appendingPathComponent(file))
        }
        let archive = (folder ?? root).appendingPathComponent(name)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", archive.path, "-C", tree.path, "package-1.0"]
        try tar.run()
        tar.waitUntilExit()
        try #require(tar.terminationStatus == 0)
        return archive
    }

    /// Files other than the installed model files (staging folders that should be gone).
    func leftovers(in folder: URL) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasPrefix(".") }
    }
}
