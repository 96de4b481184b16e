import Foundation
import NetraVision

/// A program NETRA runs for a one-off job (pip to download, tar to unpack), found on `PATH`.
struct ExternalCommand {
    let executable: URL
    let leadingArguments: [String]

    struct Outcome {
        let exitCode: Int32
        let standardError: String
    }

    /// The first of `names` found on `PATH`.
    static func find(_ names: [String], leadingArguments: [String] = []) -> ExternalCommand? {
        let searchPath = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for name in names {
            for folder in searchPath.split(separator: ":") {
                let candidate = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
                if FileManager.default.isExecutableFile(atPath: candidate.path) {
                    return ExternalCommand(executable: candidate, leadingArguments: leadingArguments)
                }
            }
        }
        return nil
    }

    /// Runs to completion with standard output discarded and standard error captured.
    func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = leadingArguments + arguments
        let errorPipe = Pipe()
        process.standardError = errorPipe
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errorData = errorPipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(exitCode: process.terminationStatus,
                       standardError: String(decoding: errorData, as: UTF8.self))
    }
}

extension ExternalCommand.Outcome {
    /// The most telling line of standard error: the last one that starts with "ERROR", else the last one.
    var summary: String {
        let lines = standardError.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        let line = lines.last { $0.hasPrefix("ERROR") } ?? lines.last ?? "exit code \(exitCode)"
        return line.hasPrefix("ERROR: ") ? String(line.dropFirst(7)) : line
    }
}
