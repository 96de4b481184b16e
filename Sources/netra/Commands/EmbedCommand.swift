import ArgumentParser
import NetraIdentity
import NetraVision

/// `netra embed`: the 128-d descriptor of every face.
struct EmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Compute the 128-d embedding of every face in images (or of aligned chips)."
    )

    @OptionGroup var global: GlobalOptions
    @Argument(help: "JPEG or PNG images.") var images: [String]
    @Flag(name: .long, help: "Print JSON (one document; an array for several images).") var json = false
    @Flag(name: .long, help: "Treat each input as an already aligned 150x150 chip and print just its embedding.")
    var chip = false
    @Option(name: .long, help: "Double the image N times first to find smaller faces (default: model.upsample).")
    var upsample: Int?

    struct ChipReport: Encodable {
        let file: String
        let embedding: [Float]
    }

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global)
            if chip {
                let batch = try ImageBatch(images) { path in
                    let image = try session.image(at: path)
                    do {
                        return ChipReport(file: path, embedding: try session.analyzer.embedder.descriptor(ofChip: image).values)
                    } catch {
                        throw CommandFailure(message: "\(path): \(error)", exitCode: .unreadableImage)
                    }
                }
                if json {
                    try printJSON(batch.results, asArray: images.count > 1)
                } else {
                    batch.results.forEach { print("\($0.file): \($0.embedding.map { "\($0)" }.joined(separator: " "))") }
                }
                return try batch.finish()
            }
            let options = session.detectionOptions(upsample: upsample, minFace: nil)
            let batch = try ImageBatch(images) { path in
                let image = try session.image(at: path)
                let faces = try session.analyzer.analyze(image, options: options).enumerated().map { index, face in
                    FaceJSON(id: index, detection: face.detection, landmarks: face.landmarks, in: image,
                               embedding: face.descriptor.values)
                }
                return ImageReport(file: path, image: image, faces: faces)
            }
            if json {
                try printJSON(batch.results, asArray: images.count > 1)
            } else {
                for report in batch.results {
                    print(report.text)
                    for face in report.faces {
                        print("  #\(face.id) embedding: \((face.embedding ?? []).map { "\($0)" }.joined(separator: " "))")
                    }
                }
            }
            try batch.finish()
        }
    }
}
