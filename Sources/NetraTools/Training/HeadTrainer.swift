import NetraDescriptor
import NetraVision
/// How `HeadTrainer` trains (the `training:` section of the configuration).
public struct TrainingOptions: Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var margin: Float
    /// Epochs without a lower validation loss before training stops early.
    public var patience: Int
    /// Images of one person per batch, so every batch holds same-person pairs.
    public var imagesPerPerson: Int
    /// Similarity at or above which a pair counts as "same" in the accuracy figures.
    public var threshold: Float
    public var seed: UInt64

    public init(epochs: Int = 30, batchSize: Int = 32, learningRate: Float = 1e-4, margin: Float = 1.0, patience: Int = 5,
                imagesPerPerson: Int = 4, threshold: Float = FaceComparison.defaultThreshold, seed: UInt64 = 1) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.margin = margin
        self.patience = patience
        self.imagesPerPerson = imagesPerPerson
        self.threshold = threshold
        self.seed = seed
    }
}

/// One epoch's figures, in the order the command line prints them.
public struct EpochReport: Sendable {
    public let epoch: Int
    public let trainLoss: Double
    public let trainAccuracy: Double
    public let validationLoss: Double
    public let validationAccuracy: Double
    /// Whether this epoch's head is the best so far (lowest validation loss).
    public let isBest: Bool
}

/// What training produced: the head of the epoch with the lowest validation loss.
public struct TrainingResult: Sendable {
    public let head: EmbeddingHead
    /// 0 when no epoch improved on the untrained head.
    public let bestEpoch: Int
    public let history: [EpochReport]
    public let untrained: ContrastiveLoss.Evaluation
    public let best: ContrastiveLoss.Evaluation
    public let stoppedEarly: Bool
    /// The similarity threshold with the best validation pair accuracy after the head: a
    /// trained head changes the distance scale, so dlib's 0.7 is no longer the right one.
    public let threshold: Float
}

/// Why training cannot start.
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    case notEnoughPeople(set: String, people: Int)
    case invalidOption(String)

    public var description: String {
        switch self {
        case let .notEnoughPeople(set, people):
            "the \(set) set has \(people) people with a usable face; it needs at least 2, one with 2 or more photos"
        case let .invalidOption(message): message
        }
    }
}

/// Trains the embedding head on cached backbone descriptors with contrastive loss and Adam,
/// starting from the identity head, keeping the head with the lowest validation loss and
/// stopping when it has not improved for `patience` epochs. Because training starts from
/// the identity and the untrained head is a candidate too, the result never scores a worse
/// validation loss than the backbone alone.
public struct HeadTrainer: Sendable {
    public let options: TrainingOptions

    public init(options: TrainingOptions) throws(TrainingError) {
        guard options.epochs >= 1, options.imagesPerPerson >= 2, options.patience >= 1 else {
            throw .invalidOption("epochs and patience must be at least 1, images per person at least 2")
        }
        guard (2 * options.imagesPerPerson...1024).contains(options.batchSize) else {
            throw .invalidOption("the batch size must be between \(2 * options.imagesPerPerson) (two people's photos) and 1024")
        }
        guard options.learningRate > 0, options.learningRate.isFinite, options.margin > 0, options.margin.isFinite else {
            throw .invalidOption("learning rate and margin must be positive numbers")
        }
        self.options = options
    }

    public func train(_ training: [LabelledDescriptor], validation: [LabelledDescriptor],
                      onEpoch: (EpochReport) -> Void = { _ in }) throws(TrainingError) -> TrainingResult {
        try Self.requireUsable(training, name: "training")
        try Self.requireUsable(validation, name: "validation")
        let loss = ContrastiveLoss(margin: options.margin, threshold: options.threshold)
        var head = EmbeddingHead.identity
        var optimizer = AdamOptimizer(learningRate: options.learningRate, parameterCount: head.weights.count)
        var generator = SeededGenerator(seed: options.seed)
        // All pairs of the validation faces are scored each epoch: a sample bounds the cost.
        let validation = validation.count > Self.validationLimit
            ? Array(validation.shuffled(using: &generator).prefix(Self.validationLimit)) : validation
        let untrained = loss.evaluate(head, on: validation, gradient: false)
        var best = (head: head, evaluation: untrained, epoch: 0)
        var history: [EpochReport] = []
        var stoppedEarly = false
        for epoch in 1...options.epochs {
            var trainLoss = 0.0, trainCorrect = 0.0, trainPairs = 0
            for batch in batches(of: training, using: &generator) {
                let evaluation = loss.evaluate(head, on: batch, gradient: true)
                optimizer.step(&head.weights, gradient: evaluation.gradient)
                trainLoss += evaluation.loss * Double(evaluation.pairs)
                trainCorrect += evaluation.accuracy * Double(evaluation.pairs)
                trainPairs += evaluation.pairs
            }
            let validated = loss.evaluate(head, on: validation, gradient: false)
            let isBest = validated.loss < best.evaluation.loss
            if isBest { best = (head, validated, epoch) }
            let report = EpochReport(epoch: epoch, trainLoss: trainLoss / Double(max(1, trainPairs)),
                                     trainAccuracy: trainCorrect / Double(max(1, trainPairs)),
                                     validationLoss: validated.loss, validationAccuracy: validated.accuracy, isBest: isBest)
            history.append(report)
            onEpoch(report)
            if epoch - best.epoch >= options.patience, epoch < options.epochs {
                stoppedEarly = true
                break
            }
        }
        return TrainingResult(head: best.head, bestEpoch: best.epoch, history: history, untrained: untrained,
                              best: best.evaluation, stoppedEarly: stoppedEarly,
                              threshold: best.epoch == 0 ? options.threshold : Self.bestThreshold(best.head, validation))
    }

    /// The similarity threshold with the best pair accuracy on `faces` after `head`.
    public static func bestThreshold(_ head: EmbeddingHead, _ faces: [LabelledDescriptor]) -> Float {
        VerificationReport(pairs: scoredPairs(head, faces), threshold: FaceComparison.defaultThreshold).bestThreshold
    }

    /// Every pair of `faces`, scored after `head`.
    public static func scoredPairs(_ head: EmbeddingHead, _ faces: [LabelledDescriptor]) -> [ScoredPair] {
        let mapped = faces.map { FaceDescriptor(values: head.apply($0.values)) }
        var pairs: [ScoredPair] = []
        for i in faces.indices {
            for j in faces.indices where j > i {
                pairs.append(ScoredPair(a: "\(i)", b: "\(j)", same: faces[i].person == faces[j].person,
                                        similarity: mapped[i].similarity(to: mapped[j])))
            }
        }
        return pairs
    }

    /// At most this many validation faces (a seeded sample) are scored: all their pairs are.
    public static let validationLimit = 1000

    /// One epoch's batches: each person's images in shuffled groups of `imagesPerPerson`, the
    /// groups shuffled and packed into batches of about `batchSize` images.
    func batches(of faces: [LabelledDescriptor], using generator: inout SeededGenerator) -> [[LabelledDescriptor]] {
        var groups: [[LabelledDescriptor]] = []
        for person in Set(faces.map(\.person)).sorted() {
            let images = faces.filter { $0.person == person }.shuffled(using: &generator)
            groups += stride(from: 0, to: images.count, by: options.imagesPerPerson).map {
                Array(images[$0..<min($0 + options.imagesPerPerson, images.count)])
            }
        }
        groups.shuffle(using: &generator)
        var batches: [[LabelledDescriptor]] = [[]]
        for group in groups {
            if batches[batches.count - 1].count + group.count > options.batchSize, !batches[batches.count - 1].isEmpty {
                batches.append([])
            }
            batches[batches.count - 1] += group
        }
        return batches.filter { $0.count >= 2 }
    }

    private static func requireUsable(_ faces: [LabelledDescriptor], name: String) throws(TrainingError) {
        var counts: [Int: Int] = [:]
        for face in faces { counts[face.person, default: 0] += 1 }
        guard counts.count >= 2, counts.values.contains(where: { $0 >= 2 }) else {
            throw .notEnoughPeople(set: name, people: counts.count)
        }
    }
}
