import ArgumentParser
import Foundation
import NetraVision

/// `netra export`: one self-describing model file for `serve` (config `model.path`).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the models in use (dlib's three, the trained head, the threshold) as one checked bundle file.",
        discussion: """
            f32 computes exactly what dlib's files do; f16 halves the weights' size and widens them to float32 when
            loaded. Serve the bundle by setting model.path (NETRA_MODEL_PATH). Bundles other than f32 form their own
            model version: faces enrolled under another version must be re-enrolled.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Weight format: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).") var format: ExportFormat = .f32
    @Option(name: .long, help: "The bundle file to write.") var out: String

    func run() async throws {
        try await Self.reportingFailures {
            let configuration = try global.loadConfiguration()
            let models = try ModelSelection(configuration)
            guard models.bundle == nil else {
                throw CommandFailure(message: "export reads model.dir and model.head; unset model.path", exitCode: .failure)
            }
            let bundle: ModelBundle
            do {
                bundle = try ModelBundle.exporting(modelDirectory: models.directory, head: models.headFile, format: format,
                                                   baseModelVersion: models.modelVersion, threshold: Double(models.matchThreshold),
                                                   thresholdSource: models.thresholdSource)
                try bundle.write(to: URL(fileURLWithPath: out))
            } catch {
                throw CommandFailure(message: "cannot export to \(out): \(error)", exitCode: .failure)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print(String(format: "wrote %@: %@ bundle, %.1f MB, model version %@, threshold %.3f (%@)", out, format.rawValue,
                         Double(size) / 1_000_000, bundle.header.modelVersion, bundle.header.threshold, bundle.header.thresholdSource))
        }
    }
}

extension ExportFormat: ExpressibleByArgument {}
