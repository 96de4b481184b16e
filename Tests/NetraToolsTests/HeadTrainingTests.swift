import Foundation
import NetraDescriptor
import NetraTestSupport
@testable import NetraTools
import NetraVision
import Testing

@Suite("Siamese head training", .tags(.unit))
struct HeadTrainingTests {
    /// Random descriptors of `people` people, `each` per person, clustered around a centre each.
    static func clusters(people: Int, each: Int, spread: Float, seed: UInt64) -> [LabelledDescriptor] {
        var generator = SeededGenerator(seed: seed)
        func vector(_ scale: Float) -> [Float] {
            (0..<EmbeddingHead.dimension).map { _ in Float.random(in: -scale...scale, using: &generator) }
        }
        return (0..<people).flatMap { person in
            let centre = vector(0.1)
            return (0..<each).map { _ in LabelledDescriptor(person: person, values: zip(centre, vector(spread)).map(+)) }
        }
    }

    @Test("the analytic gradient of the contrastive loss matches finite differences", .offCooperativePool)
    func gradient() throws {
        let faces = Self.clusters(people: 3, each: 3, spread: 0.05, seed: 7)
        let loss = ContrastiveLoss(margin: 1.0, threshold: 0.7)
        var head = EmbeddingHead.identity
        var generator = SeededGenerator(seed: 3)
        for index in head.weights.indices { head.weights[index] += Float.random(in: -0.05...0.05, using: &generator) }
        let analytic = loss.evaluate(head, on: faces, gradient: true).gradient
        for index in [0, 5, 129, 1000, 16383] {
            var plus = head, minus = head
            plus.weights[index] += 1e-3
            minus.weights[index] -= 1e-3
            let numeric = (loss.evaluate(plus, on: faces, gradient: false).loss - loss.evaluate(minus, on: faces, gradient: false).loss) / 2e-3
            #expect(abs(numeric - Double(analytic[index])) <= 1e-3 + 0.02 * abs(numeric), "weight \(index): \(numeric) vs \(analytic[index])")
        }
    }

    @Test("training lowers the loss on a small set, and the untrained head is the identity", .offCooperativePool)
    func lossDecreases() throws {
        let training = Self.clusters(people: 6, each: 4, spread: 0.06, seed: 11)
        let validation = Self.clusters(people: 4, each: 3, spread: 0.06, seed: 12)
        #expect(EmbeddingHead.identity.apply(training[0].values) == training[0].values)
        let trainer = try HeadTrainer(options: TrainingOptions(epochs: 20, batchSize: 12, learningRate: 1e-3, margin: 1.0))
        let result = try trainer.train(training, validation: validation)
        let first = try #require(result.history.first), last = try #require(result.history.last)
        #expect(last.trainLoss < first.trainLoss)
        #expect(result.best.loss < result.untrained.loss)
        #expect(result.bestEpoch > 0)
    }

    @Test("too few people and bad options are clear errors", .offCooperativePool)
    func badInput() throws {
        let one = Self.clusters(people: 1, each: 4, spread: 0.05, seed: 1)
        let trainer = try HeadTrainer(options: TrainingOptions())
        #expect(throws: TrainingError.notEnoughPeople(set: "training", people: 1)) { try trainer.train(one, validation: one) }
        #expect(throws: TrainingError.self) { try HeadTrainer(options: TrainingOptions(learningRate: -1)) }
    }

    @Test("honesty: a head trained on half the public people does not lower accuracy on the other half", .offCooperativePool)
    func heldOutPeople() throws {
        let faces = try PublicFaceDescriptors.faces.get()
        var generator = SeededGenerator(seed: 5)
        let people = Set(faces.map(\.identity)).sorted().shuffled(using: &generator)
        let heldOut = Set(people.prefix(people.count / 2))
        let trainingPeople = people.dropFirst(people.count / 2)
        let validationPeople = Set(trainingPeople.prefix(3))
        func labelled(_ keep: (String) -> Bool) -> [LabelledDescriptor] {
            faces.filter { keep($0.identity) }.map { LabelledDescriptor(person: people.firstIndex(of: $0.identity)!, values: $0.descriptor.values) }
        }
        let training = labelled { !heldOut.contains($0) && !validationPeople.contains($0) }
        let validation = labelled { validationPeople.contains($0) }
        let test = labelled { heldOut.contains($0) }

        // The shipped defaults, and each head judged at the threshold its validation people give.
        let trainer = try HeadTrainer(options: TrainingOptions())
        let result = try trainer.train(training, validation: validation)
        let untrainedThreshold = HeadTrainer.bestThreshold(.identity, validation)
        let before = VerificationReport(pairs: HeadTrainer.scoredPairs(.identity, test), threshold: untrainedThreshold)
        let after = VerificationReport(pairs: HeadTrainer.scoredPairs(result.head, test), threshold: result.threshold)
        print(String(format: "held-out people (%d faces, %d pairs): accuracy %.4f (threshold %.3f) -> %.4f (threshold %.3f), AUC %.5f -> %.5f (best epoch %d)",
                     test.count, before.pairs, before.accuracy, untrainedThreshold, after.accuracy, result.threshold,
                     before.rocAUC ?? 0, after.rocAUC ?? 0, result.bestEpoch))
        #expect(after.accuracy >= before.accuracy)
        #expect((after.rocAUC ?? 0) >= (before.rocAUC ?? 0) - 1e-4)
    }
}

@Suite("Embedding head file", .tags(.unit))
struct EmbeddingHeadFileTests {
    static let card = ModelCard(backboneSHA256: ModelCatalog.embedder.sha256, createdAt: "2026-11-30T00:00:00Z", trainingPeople: 6,
                                trainingImages: 24, validationPeople: 4, validationImages: 12, epochs: 20, bestEpoch: 17,
                                learningRate: 1e-3, margin: 1, validationLoss: 0.12, validationAccuracy: 0.98,
                                untrainedValidationAccuracy: 0.97, threshold: 0.71)

    static func trainedFile() throws -> EmbeddingHeadFile {
        var head = EmbeddingHead.identity
        var generator = SeededGenerator(seed: 9)
        for index in head.weights.indices { head.weights[index] += Float.random(in: -0.01...0.01, using: &generator) }
        return EmbeddingHeadFile(head: head, card: card)
    }

    @Test("a saved head reloads with the same weights and card, and gives the same embeddings", .offCooperativePool)
    func roundTrip() throws {
        let file = try Self.trainedFile()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("head-\(UUID().uuidString).netrahead")
        defer { try? FileManager.default.removeItem(at: url) }
        try file.write(to: url)
        let loaded = try EmbeddingHeadFile.read(from: url)
        #expect(loaded == file)
        #expect(loaded.headSHA256 == file.headSHA256 && file.headSHA256.count == 64)
        let descriptor = FaceDescriptor(values: try #require(GoldenImage.allFaces().first).face.descriptor)
        #expect(loaded.head.apply(descriptor.values) == file.head.apply(descriptor.values))
        #expect(loaded.head.apply(descriptor.values) != descriptor.values)
    }

    @Test("a damaged, truncated or foreign head file is a clear error", .offCooperativePool)
    func corrupted() throws {
        let bytes = try Self.trainedFile().encoded()
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(throws: VisionError.invalidModel(file: "h", reason: "its checksum does not match: the file is damaged or was altered")) {
            try EmbeddingHeadFile.decode(flipped, name: "h")
        }
        #expect(throws: VisionError.self) { try EmbeddingHeadFile.decode(Array(bytes.prefix(1000)), name: "h") }
        #expect(throws: VisionError.invalidModel(file: "h", reason: "it is not a NETRA embedding head (no NETRAHD1 header)")) {
            try EmbeddingHeadFile.decode(Array("not a head at all, just some text padding it out".utf8), name: "h")
        }
        #expect(throws: VisionError.invalidModel(file: "/nonexistent.netrahead", reason: "it cannot be read")) {
            try EmbeddingHeadFile.read(from: URL(fileURLWithPath: "/nonexistent.netrahead"))
        }
    }
}
