import ArgumentParser
import Foundation
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraTools
import NetraVision

/// `netra bench`: speed figures for BENCHMARKS.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure NETRA's speed.",
        subcommands: [Vision.self, Index.self, Collections.self, Load.self, Enroll.self, Propagation.self]
    )

    struct Vision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Median time per vision stage (decode, detect, landmarks+chip, embed, end to end) with 1 and 2 threads."
        )

        @OptionGroup var global: GlobalOptions
        @Argument(help: "JPEG or PNG images with a face (the first two also form the verify pair).") var images: [String]
        @Option(name: .long, help: "Timed runs per figure (after one warm-up).") var `repeat` = 5
        @Option(name: .long, help: "Detector upsampling.") var upsample = 0
        @Option(name: .customLong("min-face"), help: "Minimum face size for detection, pixels.") var minFace: Int?
        @Option(name: .long, parsing: .upToNextOption, help: "Thread counts to measure.") var threads: [Int] = [1, 2]
        @Flag(name: .long, help: "Print JSON instead of a table.") var json = false

        func validate() throws {
            guard !images.isEmpty else { throw ValidationError("give at least one image") }
            guard `repeat` >= 1 else { throw ValidationError("--repeat must be at least 1") }
        }

        struct Report: Codable {
            var stagesMs: [String: [String: [String: Double]]] = [:]
            var verifyPairMs: [String: Double] = [:]
            var rssAfterLoadMb = 0.0
            var rssPeakMb = 0.0
            var options: [String: Int] = [:]
        }

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                let decoder = ImageDecoder(limits: configuration.decodingLimits)
                let files = try images.map { path in
                    do { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) } catch {
                        throw CommandFailure(message: "\(path): cannot be read", exitCode: .unreadableImage)
                    }
                }
                let options = configuration.detectionOptions(upsample: upsample, minFaceSize: minFace)
                var report = Report()
                report.options = ["upsample": upsample, "min_face": minFace ?? 0, "repeat": `repeat`]
                if threads.count > 1 {
                    // Each thread count in its own process: OpenMP's pool, once grown or shrunk,
                    // slows the next configuration measured in the same process.
                    for threadCount in threads {
                        let part = try measureInChildProcess(threads: threadCount)
                        report.stagesMs.merge(part.stagesMs) { $1 }
                        report.verifyPairMs.merge(part.verifyPairMs) { $1 }
                        report.rssAfterLoadMb = max(report.rssAfterLoadMb, part.rssAfterLoadMb)
                        report.rssPeakMb = max(report.rssPeakMb, part.rssPeakMb)
                    }
                    return try output(report)
                }
                for threadCount in threads {
                    let analyzer = try ModelSelection(configuration, int8Version: ModelSelection.fetchedInt8Version).makeAnalyzer(threads: threadCount)
                    report.rssAfterLoadMb = max(report.rssAfterLoadMb, Double(ProcessMemory.residentBytes()) / 1_048_576)
                    var perImage: [String: [String: Double]] = [:]
                    for (path, bytes) in zip(images, files) {
                        perImage[(path as NSString).lastPathComponent] = try measure(bytes, path: path, analyzer: analyzer,
                                                                                     decoder: decoder, options: options)
                    }
                    report.stagesMs["\(threadCount)"] = perImage
                    if files.count >= 2 {
                        let verifier = FaceVerifier(finder: FaceFinder(analyzer: analyzer, detection: options))
                        report.verifyPairMs["\(threadCount)"] = try median {
                            do {
                                _ = try verifier.verify(FaceVerifier.Input(source: images[0], image: try decoder.decode(files[0])),
                                                        FaceVerifier.Input(source: images[1], image: try decoder.decode(files[1])))
                            } catch IdentityError.noFace {
                                // Timed all the same: the work up to the missing face is the pair's cost.
                            }
                        }
                    }
                }
                report.rssPeakMb = Double(ProcessMemory.peakResidentBytes()) / 1_048_576
                try output(report)
            }
        }

        private func output(_ report: Report) throws {
            if json {
                try printJSON([report], asArray: false)
            } else {
                print(table(report))
            }
        }

        /// Runs this benchmark for one thread count in a child `netra` and reads its JSON.
        private func measureInChildProcess(threads threadCount: Int) throws -> Report {
            var arguments = ["bench", "vision", "--threads", "\(threadCount)", "--repeat", "\(`repeat`)",
                             "--upsample", "\(upsample)", "--json"]
            if let minFace { arguments += ["--min-face", "\(minFace)"] }
            if let config = global.config { arguments += ["--config", config] }
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
            child.arguments = arguments + images
            let output = Pipe()
            child.standardOutput = output
            try child.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            guard child.terminationStatus == 0 else {
                throw CommandFailure(message: "the benchmark with \(threadCount) thread(s) failed", exitCode: .failure)
            }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            return try decoder.decode(Report.self, from: data)
        }

        private func measure(_ bytes: [UInt8], path: String, analyzer: FaceAnalyzer, decoder: ImageDecoder,
                             options: DetectionOptions) throws -> [String: Double] {
            let image: RGBImage
            do { image = try decoder.decode(bytes) } catch {
                throw CommandFailure(message: "\(path): \(error)", exitCode: .unreadableImage)
            }
            var figures: [String: Double] = [:]
            figures["decode"] = try median { _ = try decoder.decode(bytes) }
            figures["detect"] = try median { _ = try analyzer.detectFaces(in: image, options: options) }
            let detections = try analyzer.detectFaces(in: image, options: options)
            figures["faces"] = Double(detections.count)
            if let largest = detections.max(by: { $0.rect.area < $1.rect.area }) {
                figures["landmarks_chip"] = try median { _ = analyzer.align(largest, in: image) }
                let chip = analyzer.align(largest, in: image).chip
                figures["embed"] = try median { _ = try analyzer.embedder.descriptor(ofChip: chip) }
            }
            figures["end_to_end"] = try median { _ = try analyzer.analyze(try decoder.decode(bytes), options: options) }
            return figures
        }

        private func median(_ body: () throws -> Void) throws -> Double {
            try Timing.median(runs: `repeat`, body)
        }

        private func table(_ report: Report) -> String {
            let stages = ["decode", "detect", "landmarks_chip", "embed", "end_to_end"]
            var lines = ["threads  image" + String(repeating: " ", count: 28) + "faces  "
                + stages.map { $0.padding(toLength: 15, withPad: " ", startingAt: 0) }.joined()]
            for threadCount in threads {
                for path in images {
                    let name = (path as NSString).lastPathComponent
                    guard let figures = report.stagesMs["\(threadCount)"]?[name] else { continue }
                    let cells = stages.map { stage in
                        (figures[stage].map { String(format: "%.2f", $0) } ?? "-").padding(toLength: 15, withPad: " ", startingAt: 0)
                    }
                    lines.append("\(threadCount)".padding(toLength: 9, withPad: " ", startingAt: 0)
                        + name.padding(toLength: 33, withPad: " ", startingAt: 0)
                        + "\(Int(figures["faces"] ?? 0))".padding(toLength: 7, withPad: " ", startingAt: 0) + cells.joined())
                }
            }
            for threadCount in threads {
                if let pair = report.verifyPairMs["\(threadCount)"] {
                    lines.append(String(format: "verify pair, %d thread(s): %.2f ms", threadCount, pair))
                }
            }
            lines.append(String(format: "RSS after loading models: %.1f MB; peak: %.1f MB", report.rssAfterLoadMb, report.rssPeakMb))
            lines.append("medians of \(`repeat`) runs in ms; upsample \(upsample)" + (minFace.map { ", min face \($0) px" } ?? ""))
            return lines.joined(separator: "\n")
        }
    }
}
