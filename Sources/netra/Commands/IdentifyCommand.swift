import ArgumentParser
import NetraService
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
    @Argument(help: "A JPEG or PNG image.") var image: String
    @Option(name: .customLong("top-k"), help: "Candidates per face.") var topK = 5
    @Option(name: .long, help: "Only candidates with at least this similarity (default: model.threshold, 0.7).")
    var threshold: Float?
    @Option(name: .long, help: "Detector upsampling (default: model.upsample).") var upsample: Int?
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
            let session = try VisionSession(global: global)
            let store = try StoreSession.open(storeOptions, configuration: session.configuration)
            let threshold = threshold ?? session.models.matchThreshold
            let picture = try session.image(at: image)
            let options = session.detectionOptions(upsample: upsample, minFace: nil)
            let faces = try session.analyzer.detectFacesExpectingOne(in: picture, options: options).map { detection in
                try session.analyzer.describe(detection, in: picture)
            }
            let results = try faces.enumerated().map { index, face in
                let candidates = store.index.search(face.descriptor.values, topK: topK,
                                                    maxDistance: FaceDescriptor.distance(forSimilarity: threshold))
                return IdentifiedFaceJSON(id: index, detection: face.detection, in: picture,
                                          candidates: try candidates.map { try CandidateJSON($0, store: store) })
            }
            let best = results.compactMap { $0.candidates.first?.subjectId }
            try store.recordEvent(action: "identify", subjectID: best.first,
                                  result: "\(results.count) faces, \(best.count) identified")
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
