import ArgumentParser
import Foundation
import NetraIdentity
import NetraImaging
import NetraTools
import NetraVision

/// `netra export`: one self-describing model file for `serve` (config `model.path`).
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the models in use (dlib's three, the trained head, the threshold) as one checked bundle file.",
        discussion: """
            f32 computes exactly what dlib's files do; f16 halves the weights' size and widens them to float32 when
            loaded; int8 runs the convolutions on post-ReLU activations as u8 x s8 (oneDNN), with activation scales
            calibrated on --calibration-images (face photos like those the service will see). Serve the bundle by setting model.path (NETRA_MODEL_PATH). Bundles other than f32 form their own
            model version: faces enrolled under another version must be re-enrolled.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Weight format: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).") var format: ExportFormat = .f32
    @Option(name: .long, help: "The bundle file to write.") var out: String
    @Option(name: .customLong("calibration-images"), help: "Folder of face photos (searched recursively) to calibrate int8 activations on.")
    var calibrationImages: String?

    func validate() throws {
        if format == .int8, calibrationImages == nil { throw ValidationError("--format int8 needs --calibration-images") }
    }

    func run() async throws {
        try await Self.reportingFailures {
            let configuration = try global.loadConfiguration()
            let models = try ModelSelection(configuration)
            guard models.bundle == nil else {
                throw CommandFailure(message: "export reads model.dir and model.head; unset model.path", exitCode: .failure)
            }
            let decoder = ImageDecoder(limits: configuration.decodingLimits)
            let photoFiles = try calibrationImages.map(Self.photoFiles) ?? []
            // Decoded one at a time while calibrating, so a large folder is never held in memory.
            let samples = photoFiles.lazy.compactMap { path -> RGBImage? in
                do {
                    return try decoder.decode(contentsOf: URL(fileURLWithPath: path))
                } catch {
                    FileHandle.standardError.write(Data("netra: skipping \(path): \(error)\n".utf8))
                    return nil
                }
            }
            let bundle: ModelBundle
            do {
                bundle = try ModelBundle.exporting(modelDirectory: models.directory, head: models.headFile, format: format,
                                                   baseModelVersion: models.modelVersion, threshold: Double(models.matchThreshold),
                                                   thresholdSource: models.thresholdSource, calibrationImages: samples,
                                                   threads: configuration.computeThreads)
                try bundle.write(to: URL(fileURLWithPath: out))
            } catch {
                throw CommandFailure(message: "cannot export to \(out): \(error)", exitCode: .failure)
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print(String(format: "wrote %@: %@ bundle, %.1f MB, model version %@, threshold %.3f (%@)", out, format.rawValue,
                         Double(size) / 1_000_000, bundle.header.modelVersion, bundle.header.threshold, bundle.header.thresholdSource))
        }
    }

    /// Every JPEG or PNG under `folder`, in name order.
    private static func photoFiles(in folder: String) throws -> [String] {
        guard let files = FileManager.default.enumerator(atPath: folder) else {
            throw CommandFailure(message: "\(folder) is not a readable folder", exitCode: .failure)
        }
        let photos = files.compactMap { $0 as? String }
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted()
            .map { (folder as NSString).appendingPathComponent($0) }
        guard !photos.isEmpty else { throw CommandFailure(message: "\(folder) holds no JPEG or PNG photos", exitCode: .failure) }
        return photos
    }
}

extension ExportFormat: ExpressibleByArgument {}
