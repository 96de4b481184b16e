import ArgumentParser
import Foundation
import NetraDescriptor
import NetraIdentity
import NetraVision
import Synchronization

/// `netra verify`: are the faces of two images the same person?
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Decide whether the faces of two images are the same person (exit 3 if one has no face)."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "The first image.") var image1: String
    @Argument(help: "The second image.") var image2: String
    @Option(name: .long, help: "Similarity at or above which the faces match, 0...1 (default: model.threshold, 0.7).")
    var threshold: Float?
    @Option(name: .long, help: "Which face stands for each image: largest (default) or centre.") var face: FaceChoice = .largest
    @Flag(name: .long, help: "Print JSON.") var json = false

    struct Report: Encodable {
        let similarityScore: Float
        let distance: Float
        let isMatch: Bool
        let thresholdUsed: Float
    }

    func validate() throws {
        if let threshold, !(0...1).contains(threshold) {
            throw ValidationError("--threshold must be between 0 and 1")
        }
    }

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global)
            let verifier = FaceVerifier(finder: session.finder, threshold: session.models.matchThreshold)
            let sides = try Self.bothSides([image1, image2]) { path in
                try verifier.side(FaceVerifier.Input(source: path, image: try session.image(at: path)), choice: face)
            }
            let comparison = verifier.compare(sides[0], sides[1], threshold: threshold).comparison
            let report = Report(similarityScore: comparison.similarity, distance: comparison.distance,
                                isMatch: comparison.isMatch, thresholdUsed: comparison.threshold)
            if json {
                try printJSON([report], asArray: false)
            } else {
                let verdict = comparison.isMatch ? "same person" : "different people"
                print(String(format: "%@: similarity %.4f (distance %.4f, threshold %.2f)",
                             verdict, comparison.similarity, comparison.distance, comparison.threshold))
            }
        }
    }

    /// `side` of each path, both at once (each with the configured compute threads), in path
    /// order; when both fail, the first path's error is the one reported, as one after the other.
    static func bothSides(_ paths: [String], _ side: @Sendable (String) throws -> FaceVerifier.Side) throws -> [FaceVerifier.Side] {
        let results = Mutex([Result<FaceVerifier.Side, any Error>](repeating: .failure(CancellationError()), count: paths.count))
        DispatchQueue.concurrentPerform(iterations: paths.count) { index in
            let result = Result { try side(paths[index]) }
            results.withLock { $0[index] = result }
        }
        return try results.withLock { $0 }.map { try $0.get() }
    }
}
