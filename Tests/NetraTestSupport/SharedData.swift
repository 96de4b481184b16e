import Foundation

/// Paths to the read-only material in `../shared/` beside the repository, and to the
/// repository itself, for tests.
public enum SharedData {
    /// The repository root (found from this file's location, independent of the working directory).
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    public static let root = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    public static let golden = root.appendingPathComponent("golden")
    public static let faces = root.appendingPathComponent("data/faces")

    /// The `netra` binary built with the tests: beside the test bundle, whatever the build
    /// folder and configuration (so a stale binary of another build is never run).
    public static let builtBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        .deletingLastPathComponent().appendingPathComponent("netra")

    /// The model directory the test command fills with `netra models fetch`.
    public static let models = repositoryRoot.appendingPathComponent("models")

    /// Names of the four golden images (`golden/<name>.json`).
    public static let goldenImageNames = ["astronaut", "obama", "two_people", "biden"]

    /// The bytes of `golden/images/<file>`.
    public static func goldenImageBytes(_ file: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: golden.appendingPathComponent("images").appendingPathComponent(file)))
    }

    /// The golden record of one image.
    public static func goldenRecord(_ name: String) throws -> GoldenRecord {
        let data = try Data(contentsOf: golden.appendingPathComponent("\(name).json"))
        return try JSONDecoder().decode(GoldenRecord.self, from: data)
    }
}

/// The parts of a `golden/<image>.json` file the tests read.
public struct GoldenRecord: Decodable, Sendable {
    public let file: String
    public let width: Int
    public let height: Int
    public let decodedRGBMD5: String

    enum CodingKeys: String, CodingKey {
        case file, width, height
        case decodedRGBMD5 = "decoded_rgb_md5"
    }
}
