import ArgumentParser
import Foundation
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraStore
import NetraTools
import NetraVision

/// `netra evaluate`: how accurate NETRA is on the operator's own labelled photos.
struct EvaluateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Measure verification (or 1:N identification) accuracy on labelled photos; calibrate a threshold.",
        usage: "netra evaluate --pairs PAIRS.csv --images DIR [options]\n       netra evaluate --dataset DIR [--identification] [options]"
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "CSV with columns a, b, same (1/0) and optional fold; paths relative to --images.") var pairs: String?
    @Option(name: .long, help: "Folder the pair paths are relative to.") var images: String?
    @Option(name: .long, help: "A folder with one subfolder of photos per person.") var dataset: String?
    @Option(name: .long, help: "Impostor pairs to sample in --dataset mode (default: all up to 20 per genuine pair).") var impostors: Int?
    @Option(name: .long, help: "Threshold to report accuracy at (default: the configured one).") var threshold: Float?
    @Option(name: .customLong("calibrate-far"), help: "Write the threshold giving at most this false-accept rate.") var calibrateFAR: Double?
    @Option(name: .long, help: "Calibration file to write (default: models/calibration.json).") var calibration = "models/calibration.json"
    @Flag(name: .long, help: "1:N mode (needs --dataset): enroll each person's first photo, query with the others.") var identification = false
    @Flag(name: .customLong("flip-average"), help: "Describe faces by the mean of the chip's and its mirror's descriptors (2x embedding cost).")
    var flipAverage = false
    @Option(name: .long, help: "Describe faces by the mean of N jittered crops (N embeddings per face).") var jitter = 0
    @Option(name: .long, help: "Which face stands for each photo: largest (default) or centre (as LFW labels its photos).")
    var face: FaceChoice = .largest
    @Option(name: .long, help: "Folder for report.json and the SVG plots.") var out: String?
    @Flag(name: .long, help: "Print the JSON report instead of a summary.") var json = false

    func validate() throws {
        guard (pairs != nil) != (dataset != nil) else { throw ValidationError("give --pairs (with --images) or --dataset") }
        if pairs != nil, images == nil { throw ValidationError("--pairs needs --images") }
        if identification, dataset == nil { throw ValidationError("--identification needs --dataset") }
        if let calibrateFAR, !(calibrateFAR > 0 && calibrateFAR < 1) { throw ValidationError("--calibrate-far must be between 0 and 1") }
        if !(0...100).contains(jitter) { throw ValidationError("--jitter must be between 0 and 100") }
        if jitter > 0, flipAverage { throw ValidationError("--jitter and --flip-average are alternatives (jittered crops are mirrored at random)") }
    }

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global, flipAveraged: flipAverage, jitterCount: jitter)
            let threshold = threshold ?? session.models.matchThreshold
            let embedder = CachedEmbeddings(session: session, face: face)
            if identification, let dataset {
                return try runIdentification(people: try PersonFolders.read(dataset), embedder: embedder, threshold: threshold)
            }
            let labelled = try pairs.map { try Self.readPairs($0, images: images ?? ".") } ?? Self.datasetPairs(try PersonFolders.read(dataset ?? ""), impostors: impostors)
            let progress = ProgressBar(total: Set(labelled.flatMap { [$0.a, $0.b] }).count, label: "embedding", enabled: !json)
            embedder.prefetch(labelled.flatMap { [$0.a, $0.b] }, progress: progress)
            var scored: [ScoredPair] = []
            for pair in labelled {
                guard let a = embedder.descriptor(pair.a, progress: progress), let b = embedder.descriptor(pair.b, progress: progress) else { continue }
                scored.append(ScoredPair(a: pair.a, b: pair.b, same: pair.same, fold: pair.fold, similarity: a.similarity(to: b)))
            }
            progress.finish()
            let report = Report(verification: VerificationReport(pairs: scored, threshold: threshold), images: embedder.attempted,
                                failedToEnroll: embedder.failures.count, failureToEnrollRate: embedder.failureRate,
                                skippedPairs: labelled.count - scored.count, sampledImpostors: dataset == nil ? nil : scored.filter { !$0.same }.count)
            if let out { try write(report, pairs: scored, threshold: threshold, to: URL(fileURLWithPath: out)) }
            if let calibrateFAR { try writeCalibration(far: calibrateFAR, pairs: scored, report: report, modelVersion: session.models.modelVersion) }
            if json { try printJSON([report], asArray: false) } else { print(summary(report)) }
        }
    }

    struct Report: Encodable {
        let verification: VerificationReport
        let images: Int
        let failedToEnroll: Int
        let failureToEnrollRate: Double
        let skippedPairs: Int
        let sampledImpostors: Int?
    }

    // MARK: Input

    struct LabelledPair {
        let a: String
        let b: String
        let same: Bool
        let fold: Int?
    }

    static func readPairs(_ path: String, images: String) throws -> [LabelledPair] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw CommandFailure(message: "\(path) cannot be read", exitCode: .failure)
        }
        let rows = text.split(whereSeparator: \.isNewline).map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        guard let header = rows.first, let a = header.firstIndex(of: "a"), let b = header.firstIndex(of: "b"),
              let same = header.firstIndex(of: "same")
        else { throw CommandFailure(message: "\(path) needs a header with columns a, b and same", exitCode: .failure) }
        let fold = header.firstIndex(of: "fold")
        let base = URL(fileURLWithPath: images)
        return try rows.dropFirst().enumerated().map { index, row in
            guard row.count > max(a, b, same), ["0", "1"].contains(row[same]) else {
                throw CommandFailure(message: "\(path) line \(index + 2): expected a, b and same (0 or 1)", exitCode: .failure)
            }
            return LabelledPair(a: base.appendingPathComponent(row[a]).path, b: base.appendingPathComponent(row[b]).path,
                                same: row[same] == "1", fold: fold.flatMap { $0 < row.count ? Int(row[$0]) : nil })
        }
    }

    /// Every genuine pair, and impostor pairs sampled with a fixed seed (reported in the output).
    static func datasetPairs(_ people: [PersonPhotos], impostors: Int?) -> [LabelledPair] {
        var pairs: [LabelledPair] = []
        for person in people {
            for i in person.photos.indices {
                for j in person.photos.indices where j > i {
                    pairs.append(LabelledPair(a: person.photos[i], b: person.photos[j], same: true, fold: nil))
                }
            }
        }
        var all: [LabelledPair] = []
        for (p, first) in people.enumerated() {
            for second in people[(p + 1)...] {
                for a in first.photos { for b in second.photos { all.append(LabelledPair(a: a, b: b, same: false, fold: nil)) } }
            }
        }
        let wanted = min(all.count, impostors ?? max(20 * pairs.count, 100))
        var generator = SeededGenerator(seed: 20_261_130)
        all.shuffle(using: &generator)
        return pairs + all.prefix(wanted)
    }

    // MARK: 1:N

    struct IdentificationReport: Encodable {
        let enrolled: Int
        let queries: Int
        let top1Accuracy: Double
        let top5Accuracy: Double
        /// Queries whose best candidate at or above the threshold is the wrong person.
        let falsePositiveIdentificationRate: Double
        let threshold: Float
        let failedToEnroll: Int
    }

    private func runIdentification(people: [PersonPhotos], embedder: CachedEmbeddings, threshold: Float) throws {
        let index = FaceIndex()
        var queries: [(person: Int64, descriptor: FaceDescriptor)] = []
        let progress = ProgressBar(total: people.reduce(0) { $0 + $1.photos.count }, label: "embedding", enabled: !json)
        embedder.prefetch(people.flatMap(\.photos), progress: progress)
        for (number, person) in people.enumerated() {
            var enrolled = false
            for photo in person.photos {
                guard let descriptor = embedder.descriptor(photo, progress: progress) else { continue }
                if enrolled {
                    queries.append((Int64(number), descriptor))
                } else {
                    index.add(faceID: Int64(number), subjectID: Int64(number), descriptor: descriptor.values)
                    enrolled = true
                }
            }
        }
        progress.finish()
        var top1 = 0, top5 = 0, falsePositives = 0
        for query in queries {
            let candidates = index.search(query.descriptor.values, topK: 5)
            if candidates.first?.subjectID == query.person { top1 += 1 }
            if candidates.contains(where: { $0.subjectID == query.person }) { top5 += 1 }
            if let best = candidates.first, best.subjectID != query.person, best.similarity >= threshold { falsePositives += 1 }
        }
        let count = Double(max(1, queries.count))
        let report = IdentificationReport(enrolled: index.count, queries: queries.count, top1Accuracy: Double(top1) / count,
                                          top5Accuracy: Double(top5) / count, falsePositiveIdentificationRate: Double(falsePositives) / count,
                                          threshold: threshold, failedToEnroll: embedder.failures.count)
        if json { return try printJSON([report], asArray: false) }
        print(String(format: "1:N: %d people enrolled, %d queries: top-1 %.2f %%, top-5 %.2f %%, false-positive identification rate %.2f %% at threshold %.3f; %d images without a usable face",
                     report.enrolled, report.queries, 100 * report.top1Accuracy, 100 * report.top5Accuracy,
                     100 * report.falsePositiveIdentificationRate, threshold, report.failedToEnroll))
    }

    // MARK: Output

    private func summary(_ report: Report) -> String {
        let v = report.verification
        var lines = [
            "\(v.pairs) pairs (\(v.genuinePairs) same, \(v.impostorPairs) different) from \(report.images) images; "
                + "\(report.failedToEnroll) without a usable face (failure to enroll \(String(format: "%.2f", 100 * report.failureToEnrollRate)) %), "
                + "\(report.skippedPairs) pairs skipped",
            String(format: "accuracy at threshold %.3f: %.2f %%  (TP %d, FN %d, FP %d, TN %d)", v.threshold, 100 * v.accuracy,
                   v.confusion.truePositives, v.confusion.falseNegatives, v.confusion.falsePositives, v.confusion.trueNegatives),
            String(format: "best threshold %.3f: %.2f %%", v.bestThreshold, 100 * v.bestAccuracy),
        ]
        if let mean = v.foldAccuracyMean, let std = v.foldAccuracyStd, let folds = v.folds {
            lines.append(String(format: "%d-fold accuracy: %.2f %% ± %.2f", folds, 100 * mean, 100 * std))
        }
        if let auc = v.rocAUC { lines.append(String(format: "ROC AUC %.5f", auc)) }
        if let eer = v.equalErrorRate, let at = v.equalErrorThreshold { lines.append(String(format: "EER %.2f %% at threshold %.3f", 100 * eer, at)) }
        for point in v.tarAtFAR {
            if let tar = point.tar, let at = point.threshold {
                lines.append(String(format: "TAR at FAR %g: %.2f %% (threshold %.3f)", point.far, 100 * tar, at))
            } else {
                lines.append("TAR at FAR \(point.far): \(point.note ?? "not measurable")")
            }
        }
        for pair in v.worstGenuine.prefix(3) {
            lines.append(String(format: "worst same-person pair: %@ / %@ similarity %.3f", pair.a, pair.b, pair.similarity))
        }
        for pair in v.worstImpostor.prefix(3) {
            lines.append(String(format: "worst different-person pair: %@ / %@ similarity %.3f", pair.a, pair.b, pair.similarity))
        }
        return lines.joined(separator: "\n")
    }

    private func write(_ report: Report, pairs: [ScoredPair], threshold: Float, to folder: URL) throws {
        try EvaluationPlots.write(pairs, threshold: threshold, to: folder)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(report).write(to: folder.appendingPathComponent("report.json"))
    }

    private func writeCalibration(far: Double, pairs: [ScoredPair], report: Report, modelVersion: String) throws {
        guard let threshold = VerificationMetrics.threshold(forFAR: far, pairs) else {
            throw CommandFailure(message: "\(report.verification.impostorPairs) impostor pairs are too few to calibrate a FAR of \(far)",
                                 exitCode: .failure)
        }
        let counts = VerificationMetrics.confusion(pairs, threshold: threshold)
        let record: [String: Any] = [
            "threshold": Double(threshold), "far_target": far, "far_measured": counts.falseAcceptRate, "tar": counts.trueAcceptRate,
            "genuine_pairs": report.verification.genuinePairs, "impostor_pairs": report.verification.impostorPairs,
            "data": self.pairs ?? dataset ?? "",
            "model_version": modelVersion, "created_at": ISO8601DateFormatter().string(from: Date()),
        ]
        let data = try JSONSerialization.data(withJSONObject: record, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: calibration), options: .atomic)
        FileHandle.standardError.write(Data("netra: threshold \(threshold) gives FAR \(counts.falseAcceptRate) <= \(far) on this data; written to \(calibration) (set model.calibration to use it)\n".utf8))
    }
}

/// Descriptors of the face of each image (`FaceChoice`), computed once per distinct file content.
///
/// `prefetch` describes many photos ahead, the chosen faces of up to `FaceEmbedder.maxBatch`
/// photos per embedding call (their chips share forward passes); `descriptor` then answers
/// from the cache, and describes a photo it has not seen on its own.
final class CachedEmbeddings {
    private let session: VisionSession
    private let face: FaceChoice
    private let backboneOnly: Bool
    private var byContent: [String: FaceDescriptor?] = [:]
    private var byPath: [String: FaceDescriptor?] = [:]
    private(set) var failures: [String] = []

    /// With `backboneOnly`, the ResNet's own descriptors, without the configured head (what training needs).
    init(session: VisionSession, face: FaceChoice = .largest, backboneOnly: Bool = false) {
        self.session = session
        self.face = face
        self.backboneOnly = backboneOnly
    }

    var attempted: Int { byPath.count }
    var failureRate: Double { byPath.isEmpty ? 0 : Double(failures.count) / Double(byPath.count) }

    func descriptor(_ path: String, progress: ProgressBar) -> FaceDescriptor? {
        if let known = byPath[path] { return known }
        prefetch([path], progress: progress)
        return byPath[path] ?? nil
    }

    /// Describes the photos of `paths` not described yet, in order, with the progress bar.
    func prefetch(_ paths: [String], progress: ProgressBar) {
        var pending: [(path: String, key: String, face: (detection: FaceDetection, image: RGBImage))] = []
        func describePending() {
            let faces = pending.map(\.face)
            let descriptors = (try? describe(faces)) ?? faces.map { try? describe([$0]).first }
            for (item, descriptor) in zip(pending, descriptors) {
                byContent[item.key] = descriptor
                record(item.path, descriptor)
            }
            pending.removeAll()
        }
        for path in paths where byPath[path] == nil && !pending.contains(where: { $0.path == path }) {
            progress.update(byPath.count + pending.count)
            guard let bytes = FileManager.default.contents(atPath: path) else {
                record(path, nil)
                continue
            }
            let key = (try? SHA256Digest.hex(of: [UInt8](bytes))) ?? path
            if pending.contains(where: { $0.key == key }) { describePending() }
            if let cached = byContent[key] {
                record(path, cached)
                continue
            }
            guard let image = try? session.decoder.decode(bytes),
                  let chosen = try? face.pick(from: session.finder.detections(in: image), in: image)
            else {
                byContent[key] = .some(nil)
                record(path, nil)
                continue
            }
            pending.append((path, key, (chosen, image)))
            if pending.count == FaceEmbedder.maxBatch { describePending() }
        }
        describePending()
    }

    private func record(_ path: String, _ descriptor: FaceDescriptor?) {
        if descriptor == nil { failures.append(path) }
        byPath[path] = .some(descriptor)
    }

    /// The descriptors of the chosen faces of several photos, in one embedding call.
    private func describe(_ faces: [(detection: FaceDetection, image: RGBImage)]) throws -> [FaceDescriptor] {
        guard !faces.isEmpty else { return [] }
        let analyzer = session.analyzer
        guard backboneOnly else { return try analyzer.describe(faces).map(\.descriptor) }
        return try analyzer.embedder.backboneDescriptors(ofChips: faces.map { analyzer.align($0.detection, in: $0.image).chip })
    }
}
