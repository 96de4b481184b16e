import ArgumentParser
import NetraIdentity
import NetraVision

/// `netra detect`: the faces in each image.
struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Find the faces in images: boxes, confidence and 5 landmarks."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "JPEG or PNG images.") var images: [String]
    @Flag(name: .long, help: "Print JSON (one document; an array for several images).") var json = false
    @Option(name: .long, help: "Double the image N times first to find smaller faces (default: model.upsample).")
    var upsample: Int?
    @Option(name: .customLong("min-face"), help: "Skip work that can only find faces smaller than PX pixels.")
    var minFace: Int?

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global)
            let finder = FaceFinder(analyzer: session.analyzer, detection: session.detectionOptions(upsample: upsample, minFace: minFace))
            let batch = try ImageBatch(images) { path in
                let image = try session.image(at: path)
                return ImageReport(file: path, image: image, faces: try finder.detect(in: image))
            }
            if json {
                try printJSON(batch.results, asArray: images.count > 1)
            } else {
                batch.results.forEach { print($0.text) }
            }
            try batch.finish()
        }
    }
}
