import ArgumentParser
import NetraDescriptor
import NetraIdentity
import NetraStore
import NetraVision

/// `netra identify`: who are the people in an image?
struct IdentifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identify",
        abstract: "Find every face of an image among the enrolled subjects (1:N)."
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var collection: CollectionOption
    @Argument(help: "A JPEG or PNG image.") var image: String
    @Option(name: .customLong("top-k"), help: "Candidates per face.") var topK = 5
    @Option(name: .long, help: "Only candidates with at least this similarity (default: model.threshold, 0.7).")
    var threshold: Float?
    @Option(name: .long, help: "Detector upsampling (default: model.upsample).") var upsample: Int?
    @Flag(inversion: .prefixedNo, help: "Give each subject to at most one face of the image (best match first).")
    var uniqueSubjects = true
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        guard (1...100).contains(topK) else { throw ValidationError("--top-k must be between 1 and 100") }
        if let threshold, !(0...1).contains(threshold) { throw ValidationError("--threshold must be between 0 and 1") }
    }

    struct Report: Encodable {
        let file: String
        let faceCount: Int
        let faces: [IdentifiedFaceJSON]
        let thresholdUsed: Float
    }

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global, store: storeOptions)
            let store = try StoreSession.open(storeOptions, configuration: session.configuration)
            let threshold = threshold ?? session.models.matchThreshold
            let picture = try session.image(at: image)
            let finder = FaceFinder(analyzer: session.analyzer, detection: session.detectionOptions(upsample: upsample, minFace: nil))
            let results = try Identifier(finder: finder, store: store, collectionID: try collection.resolve(in: store).id)
                .identify(picture, topK: topK, threshold: threshold, uniqueSubjects: uniqueSubjects)
            let report = Report(file: image, faceCount: results.count, faces: results, thresholdUsed: threshold)
            if json {
                try printJSON([report], asArray: false)
                return
            }
            print("\(image): \(results.count) face\(results.count == 1 ? "" : "s")")
            for face in results {
                let who = face.candidates.first.map { "\($0.name) (subject \($0.subjectId), similarity \(String(format: "%.3f", $0.similarityScore)))" }
                    ?? "unknown"
                print("  #\(face.id) bbox=\(face.bbox): \(who)")
                for other in face.candidates.dropFirst() {
                    print("      or \(other.name) (subject \(other.subjectId), similarity \(String(format: "%.3f", other.similarityScore)))")
                }
            }
        }
    }
}
