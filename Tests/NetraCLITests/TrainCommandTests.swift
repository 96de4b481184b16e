import Foundation
import NetraTestSupport
import NetraVision
import Testing

@Suite("netra train", .tags(.endToEnd))
struct TrainCommandTests {
    @Test("trains on a folder per person, prints each epoch, saves a head that embed then applies", .offCooperativePool)
    func trainAndUse() throws {
        // Validation people are not training people: face_recognition's validate, the others train.
        let validation = try EvaluateCommandTests.dataset()
        let training = try EvaluateCommandTests.dataset { !$0.hasPrefix("face_recognition/") }
        let out = training.appendingPathComponent("heads")
        defer { for folder in [validation, training] { try? FileManager.default.removeItem(at: folder) } }
        let result = try Netra.run(["train", "--data", training.path, "--val", validation.path, "--epochs", "8",
                                    "--learning-rate", "0.001", "--out", out.path])
        #expect(result.exitCode == 0, "\(result.error)")
        #expect(result.output.contains("Epoch 1/8 - Train Loss: "), "\(result.output)")
        for label in ["Train Acc: ", "Val Loss: ", "Val Acc: "] { #expect(result.output.contains(label)) }

        let heads = try FileManager.default.contentsOfDirectory(atPath: out.path)
        let headName = try #require(heads.first { $0.hasSuffix(".netrahead") }, "no head saved: \(result.output)")
        let card = try String(contentsOf: out.appendingPathComponent(headName.replacingOccurrences(of: ".netrahead", with: ".md")), encoding: .utf8)
        #expect(card.contains("Model version: `dlib-resnet-v1-55533b28a958-head-"))
        let headPath = out.appendingPathComponent(headName).path
        let head = try EmbeddingHeadFile.read(from: URL(fileURLWithPath: headPath)).head

        let chip = SharedData.golden.appendingPathComponent("chips/obama_face0_chip.png").path
        let plain = try Self.embedding(try Netra.run(["embed", "--chip", "--json", chip]))
        let adapted = try Self.embedding(try Netra.run(["embed", "--chip", "--json", chip], environment: ["NETRA_MODEL_HEAD": headPath]))
        for (expected, actual) in zip(head.apply(plain), adapted) { #expect(abs(expected - actual) < 1e-5) }
        #expect(adapted != plain)
    }

    @Test("a damaged head file is a one-line error, not a crash", .offCooperativePool)
    func damagedHead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("damaged-\(UUID().uuidString).netrahead")
        defer { try? FileManager.default.removeItem(at: path) }
        try Data("NETRAHD1 but nothing else of a head file, padded out to look long enough".utf8).write(to: path)
        let chip = SharedData.golden.appendingPathComponent("chips/obama_face0_chip.png").path
        let result = try Netra.run(["embed", "--chip", chip], environment: ["NETRA_MODEL_HEAD": path.path])
        #expect(result.exitCode == 1)
        #expect(result.error == "netra: model file \(path.path) cannot be used: its checksum does not match: the file is damaged or was altered (model.head)\n")
    }

    @Test("too few people to split is a clear error", .offCooperativePool)
    func tooFewPeople() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("netra-train-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("solo"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent("solo/a.png"),
                                                   withDestinationURL: SharedData.golden.appendingPathComponent("chips/obama_face0_chip.png"))
        let result = try Netra.run(["train", "--data", folder.path])
        #expect(result.exitCode == 1)
        #expect(result.error.contains("has 1 people; give --val or at least 4 people to split"), "\(result.error)")
    }

    static func embedding(_ result: Netra.Result) throws -> [Float] {
        #expect(result.exitCode == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        return try #require(object["embedding"] as? [Double]).map(Float.init)
    }
}
