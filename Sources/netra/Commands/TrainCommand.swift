import ArgumentParser
import Foundation
import NetraIdentity
import NetraTools
import NetraVision

/// `netra train`: adapts the Siamese network to the operator's photos by training the
/// embedding head on top of the frozen ResNet (contrastive loss, Adam).
struct TrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the embedding head on a folder of photos per person; save the best head and its model card.",
        discussion: """
            The ResNet backbone stays frozen: each photo's descriptor is computed once and kept in memory only.
            Defaults come from the configuration's training section. Faces enrolled before switching to the new
            head (model.head) belong to another model version and must be re-enrolled: no images are kept.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Folder with one subfolder of photos per person (default: training.data).") var data: String?
    @Option(name: .long, help: "Validation folder of the same shape (default: training.val, else a held-out share of --data's people).")
    var val: String?
    @Option(name: .long, help: "Most epochs to train.") var epochs: Int?
    @Option(name: .customLong("batch-size"), help: "Images per batch; all pairs in a batch are used.") var batchSize: Int?
    @Option(name: .customLong("learning-rate"), help: "Adam step size.") var learningRate: Double?
    @Option(name: .long, help: "Contrastive loss margin (Euclidean distance).") var margin: Double?
    @Option(name: .long, help: "Folder to write the head and model card to (default: training.output_dir).") var out: String?

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1") }
        if let batchSize, batchSize < 2 { throw ValidationError("--batch-size must be at least 2") }
        if let learningRate, !(learningRate > 0) { throw ValidationError("--learning-rate must be positive") }
        if let margin, !(margin > 0) { throw ValidationError("--margin must be positive") }
    }

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global)
            guard session.models.bundle == nil else {
                throw CommandFailure(message: "train runs on dlib's backbone in model.dir; unset model.path", exitCode: .failure)
            }
            let settings = session.configuration.training
            let options = try trainingOptions(settings, threshold: session.models.matchThreshold)
            let (trainingPeople, validationPeople) = try peopleSets(settings)

            let embedder = CachedEmbeddings(session: session, backboneOnly: true)
            let progress = ProgressBar(total: (trainingPeople + validationPeople).reduce(0) { $0 + $1.photos.count },
                                       label: "backbone descriptors", enabled: true)
            let training = Self.describe(trainingPeople, embedder: embedder, progress: progress)
            let validation = Self.describe(validationPeople, embedder: embedder, progress: progress)
            progress.finish()
            print("\(training.count) training faces of \(trainingPeople.count) people, \(validation.count) validation faces of "
                + "\(validationPeople.count) people; \(embedder.failures.count) photos without a usable face")

            let trainer: HeadTrainer
            let result: TrainingResult
            do {
                trainer = try HeadTrainer(options: options)
                result = try trainer.train(training, validation: validation) { report in
                    print(String(format: "Epoch %d/%d - Train Loss: %.4f - Train Acc: %.4f - Val Loss: %.4f - Val Acc: %.4f%@",
                                 report.epoch, options.epochs, report.trainLoss, report.trainAccuracy,
                                 report.validationLoss, report.validationAccuracy, report.isBest ? " (best)" : ""))
                }
            } catch {
                throw CommandFailure(message: "\(error)", exitCode: .failure)
            }
            if result.stoppedEarly { print("Stopped early: no lower validation loss for \(options.patience) epochs.") }
            print(String(format: "Untrained head: Val Loss %.4f, Val Acc %.4f; best head (epoch %d): Val Loss %.4f, Val Acc %.4f",
                         result.untrained.loss, result.untrained.accuracy, result.bestEpoch, result.best.loss, result.best.accuracy))
            guard result.bestEpoch > 0 else {
                print("No epoch improved on the untrained head; nothing was saved.")
                return
            }
            try save(result, options: options, training: (trainingPeople.count, training.count),
                     validation: (validationPeople.count, validation), folder: out ?? settings.outputDir)
        }
    }

    private func trainingOptions(_ settings: NetraConfiguration.Training, threshold: Float) throws -> TrainingOptions {
        TrainingOptions(epochs: epochs ?? settings.epochs, batchSize: batchSize ?? settings.batchSize,
                        learningRate: Float(learningRate ?? settings.learningRate), margin: Float(margin ?? settings.margin),
                        patience: settings.patience, threshold: threshold, seed: UInt64(max(0, settings.seed)))
    }

    /// The training and validation people: two folders, or one folder split by person (never by
    /// photo, so that validation measures faces of people the head has not seen).
    private func peopleSets(_ settings: NetraConfiguration.Training) throws -> ([PersonPhotos], [PersonPhotos]) {
        let people = try PersonFolders.read(data ?? settings.data)
        if let validationFolder = val ?? (settings.val.isEmpty ? nil : settings.val) {
            return (people, try PersonFolders.read(validationFolder))
        }
        guard people.count >= 4 else {
            throw CommandFailure(message: "\(data ?? settings.data) has \(people.count) people; give --val or at least 4 people to split",
                                 exitCode: .failure)
        }
        var generator = SeededGenerator(seed: UInt64(max(0, settings.seed)))
        let shuffled = people.shuffled(using: &generator)
        let validationCount = min(people.count - 2, max(2, Int((Double(people.count) * settings.valFraction).rounded())))
        return (Array(shuffled.dropFirst(validationCount)), Array(shuffled.prefix(validationCount)))
    }

    private static func describe(_ people: [PersonPhotos], embedder: CachedEmbeddings, progress: ProgressBar) -> [LabelledDescriptor] {
        people.enumerated().flatMap { number, person in
            person.photos.compactMap { photo in
                embedder.descriptor(photo, progress: progress).map { LabelledDescriptor(person: number, values: $0.values) }
            }
        }
    }

    private func save(_ result: TrainingResult, options: TrainingOptions, training: (people: Int, images: Int),
                      validation: (people: Int, faces: [LabelledDescriptor]), folder: String) throws {
        let card = ModelCard(backboneSHA256: ModelCatalog.embedder.sha256, createdAt: ISO8601DateFormatter().string(from: Date()),
                             trainingPeople: training.people, trainingImages: training.images, validationPeople: validation.people,
                             validationImages: validation.faces.count, epochs: result.history.count, bestEpoch: result.bestEpoch,
                             learningRate: Double(options.learningRate), margin: Double(options.margin),
                             validationLoss: result.best.loss, validationAccuracy: result.best.accuracy,
                             untrainedValidationAccuracy: result.untrained.accuracy, threshold: Double(result.threshold))
        let file = EmbeddingHeadFile(head: result.head, card: card)
        let base = URL(fileURLWithPath: folder).appendingPathComponent("head-\(file.headSHA256.prefix(12))")
        let headURL = base.appendingPathExtension("netrahead"), cardURL = base.appendingPathExtension("md")
        let version = ModelSelection.version(of: file)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try file.write(to: headURL)
            try Data(ModelCardDocument.markdown(card, headFile: headURL.lastPathComponent, modelVersion: version).utf8)
                .write(to: cardURL, options: .atomic)
        } catch {
            throw CommandFailure(message: "cannot write the head to \(folder): \(error)", exitCode: .failure)
        }
        print("Saved \(headURL.path) and its model card \(cardURL.path) (model version \(version)).")
        print("Use it with model.head: \(headURL.path) (or NETRA_MODEL_HEAD); faces enrolled under another model version must be re-enrolled.")
    }
}

/// The human-readable model card written next to a trained head.
enum ModelCardDocument {
    static func markdown(_ card: ModelCard, headFile: String, modelVersion: String) -> String {
        """
        # NETRA embedding head \(headFile)

        - Model version: `\(modelVersion)` (backbone + head; faces enrolled under other versions must be re-enrolled)
        - Backbone: dlib_face_recognition_resnet_model_v1.dat, SHA-256 `\(card.backboneSHA256)` (frozen)
        - Head: linear 128 -> 128, initialised to the identity, trained with contrastive loss (margin \(card.margin)) and Adam (learning rate \(String(format: "%g", card.learningRate)))
        - Created: \(card.createdAt)
        - Training data: \(card.trainingImages) faces of \(card.trainingPeople) people
        - Validation data: \(card.validationImages) faces of \(card.validationPeople) people (people not in the training data)
        - Epochs run: \(card.epochs); best epoch (lowest validation loss): \(card.bestEpoch)
        - Validation loss: \(String(format: "%.4f", card.validationLoss))
        - Validation pair accuracy: \(String(format: "%.4f", card.validationAccuracy)) (untrained head: \(String(format: "%.4f", card.untrainedValidationAccuracy)))
        - Best validation threshold (similarity): \(String(format: "%.3f", card.threshold)); calibrate on your own pairs with `netra evaluate --calibrate-far`

        """
    }
}
