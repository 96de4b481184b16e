import ArgumentParser
import Foundation
import NetraIdentity
import NetraImaging
import NetraVision

/// What the vision commands share: the configuration, the loaded models and image reading
/// with the command line's error conventions (unreadable image: exit 2).
struct VisionSession {
    let configuration: NetraConfiguration
    let models: ModelSelection
    let analyzer: FaceAnalyzer
    let decoder: ImageDecoder

    /// - Parameter store: the store the command enrolls into or searches, whose faces decide the
    ///   models (`model.precision`); the precision chosen is kept in `configuration`, so that
    ///   `StoreSession.open` with it opens the store under the same model version.
    init(global: GlobalOptions, store: StoreOptions? = nil, flipAveraged: Bool = false, jitterCount: Int = 0) throws {
        var configuration = try global.loadConfiguration()
        models = try store.map { try StoreSession.models(for: $0, configuration: configuration) }
            ?? ModelSelection(configuration, int8Version: ModelSelection.fetchedInt8Version)
        if let precision = models.precision { configuration.model.precision = precision }
        self.configuration = configuration
        analyzer = try models.makeAnalyzer(threads: configuration.computeThreads, flipAveraged: flipAveraged, jitterCount: jitterCount)
        decoder = ImageDecoder(limits: configuration.decodingLimits)
    }

    /// The decoded image, or a failure naming the file (exit code 2).
    func image(at path: String) throws -> RGBImage {
        do {
            return try decoder.decode(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure(message: "\(path): \(error)", exitCode: .unreadableImage)
        }
    }

    func detectionOptions(upsample: Int?, minFace: Int?) -> DetectionOptions {
        configuration.detectionOptions(upsample: upsample, minFaceSize: minFace)
    }

    /// The identity layer's view of the models, with the configured detection settings.
    var finder: FaceFinder { FaceFinder(analyzer: analyzer, detection: detectionOptions(upsample: nil, minFace: nil)) }
}

extension FaceChoice: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(parsing: argument)
    }
}

extension ExitCode {
    /// An input image could not be read or decoded.
    static let unreadableImage = ExitCode(2)
    /// An image holds no face where one is required.
    static let noFace = ExitCode(3)
}

/// Results for several images, and the exit code of the first one that failed.
struct ImageBatch<Result> {
    var results: [Result] = []
    var failure: ExitCode?

    /// Runs `body` for each path; a failure is reported on stderr at once and the others
    /// still run, so one bad file does not hide the results for the rest.
    init(_ paths: [String], _ body: (String) throws -> Result) throws {
        for path in paths {
            do {
                results.append(try body(path))
            } catch let failure as CommandFailure {
                FileHandle.standardError.write(Data("netra: \(failure.message)\n".utf8))
                self.failure = self.failure ?? failure.exitCode
            }
        }
    }

    /// Ends the command with the first failure's exit code, if any.
    func finish() throws {
        if let failure { throw failure }
    }
}

/// Prints one JSON document: the single element, or an array when several paths were given.
/// `snakeCase: false` for types that spell their keys out (they embed client JSON).
func printJSON<Value: Encodable>(_ values: [Value], asArray: Bool, snakeCase: Bool = true) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
    let data = asArray ? try encoder.encode(values) : try encoder.encode(values.first)
    print(String(decoding: data, as: UTF8.self))
}
