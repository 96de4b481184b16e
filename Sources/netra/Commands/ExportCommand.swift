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
            loaded; int8 runs the convolutions on post-ReLU activations as u8 x s8 (oneDNN), with the activation scales
            NETRA ships (int8-activation-scales.json), or calibrated on --calibration-images (face photos like those the
            service will see); --write-activation-scales saves those. Serve the bundle by setting model.path
            (NETRA_MODEL_PATH). Bundles other than f32 form their own model version: faces enrolled under another
            version must be re-enrolled.
            """
    )

    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Weight format: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).") var format: ExportFormat = .f32
    @Option(name: .long, help: "The bundle file to write.") var out: String?
    @Option(name: .customLong("calibration-images"),
            help: "Folder of face photos (searched recursively) to calibrate int8 activations on, instead of the shipped scales.")
    var calibrationImages: String?
    @Option(name: .customLong("write-activation-scales"), help: ArgumentHelp(
        "Write the activation scales calibrated on --calibration-images to this JSON file (what NETRA ships).", valueName: "FILE"))
    var writeActivationScales: String?

    func validate() throws {
        if out == nil, writeActivationScales == nil { throw ValidationError("name the bundle to write with --out (or --write-activation-scales)") }
        if writeActivationScales != nil, format != .int8 || calibrationImages == nil {
            throw ValidationError("--write-activation-scales needs --format int8 and --calibration-images")
        }
        if calibrationImages != nil, format != .int8 { throw ValidationError("--calibration-images applies to --format int8 only") }
    }

    func run() async throws {
        try await Self.reportingFailures {
            let configuration = try global.loadConfiguration()
            guard configuration.model.path.isEmpty else {
                throw CommandFailure(message: "export reads model.dir and model.head; unset model.path", exitCode: .failure)
            }
            let models = try ModelSelection(configuration, precision: .f32)
            let bundle: ModelBundle
            do {
                let files = try DlibModels(modelDirectory: models.directory)
                var scales: Int8ActivationScales?
                var builtFrom: [String: String] = [:]
                if format == .int8, let calibrationImages {
                    scales = try calibrate(files, on: calibrationImages, configuration: configuration)
                } else if format == .int8 {
                    let committed = try Int8ActivationScales.committed()
                    scales = committed.scales
                    builtFrom[Int8ActivationScales.resourceName] = committed.sha256
                }
                bundle = try ModelBundle.exporting(files, head: models.headFile, format: format, baseModelVersion: models.modelVersion,
                                                   threshold: Double(models.matchThreshold), thresholdSource: models.thresholdSource,
                                                   activationScales: scales, builtFrom: builtFrom)
                if let out { try bundle.write(to: URL(fileURLWithPath: out)) }
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw CommandFailure(message: "cannot export to \(out ?? writeActivationScales ?? "?"): \(error)", exitCode: .failure)
            }
            guard let out else { return }
            let size = (try? FileManager.default.attributesOfItem(atPath: out)[.size] as? Int) ?? 0
            print(String(format: "wrote %@: %@ bundle, %.1f MB, model version %@, threshold %.3f (%@)", out, format.rawValue,
                         Double(size) / 1_000_000, bundle.header.modelVersion, bundle.header.threshold, bundle.header.thresholdSource))
        }
    }

    /// Records the activation scales on the photos of `folder` (decoded one at a time, so a large
    /// folder is never held in memory), writing them to `--write-activation-scales` if given.
    private func calibrate(_ files: DlibModels, on folder: String, configuration: NetraConfiguration) throws -> Int8ActivationScales {
        let decoder = ImageDecoder(limits: configuration.decodingLimits)
        let photos = try Self.photoFiles(in: folder).lazy.compactMap { name -> Int8Quantization.Photo? in
            let url = URL(fileURLWithPath: folder).appendingPathComponent(name)
            do {
                return Int8Quantization.Photo(name: name, sha256: try SHA256Digest.hex(ofFileAt: url), image: try decoder.decode(contentsOf: url))
            } catch {
                FileHandle.standardError.write(Data("netra: skipping \(url.path): \(error)\n".utf8))
                return nil
            }
        }
        let recording = try Int8Quantization.record(detector: files.detector, embedder: files.embedder, landmarks: files.landmarks,
                                                    photos: photos, threads: configuration.computeThreads)
        let command = "netra export --format int8 --calibration-images \((folder as NSString).lastPathComponent)"
            + (writeActivationScales.map { " --write-activation-scales \(($0 as NSString).lastPathComponent)" } ?? "")
        let scales = Int8ActivationScales(recording: recording, models: files.sha256, command: command)
        if let writeActivationScales {
            do {
                try scales.encoded().write(to: URL(fileURLWithPath: writeActivationScales), options: .atomic)
            } catch {
                throw CommandFailure(message: "cannot write \(writeActivationScales): \(error.localizedDescription)", exitCode: .failure)
            }
            print("wrote \(writeActivationScales): activation scales of \(scales.detector.count) detector and \(scales.embedder.count) "
                + "embedder convolutions from \(recording.faces) faces in \(recording.photos.count) photos")
        }
        return scales
    }

    /// Every JPEG or PNG under `folder`, relative to it, in name order.
    private static func photoFiles(in folder: String) throws -> [String] {
        guard let files = FileManager.default.enumerator(atPath: folder) else {
            throw CommandFailure(message: "\(folder) is not a readable folder", exitCode: .failure)
        }
        let photos = files.compactMap { $0 as? String }
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted()
        guard !photos.isEmpty else { throw CommandFailure(message: "\(folder) holds no JPEG or PNG photos", exitCode: .failure) }
        return photos
    }
}

extension ExportFormat: ExpressibleByArgument {}
