import ArgumentParser
import Foundation
import NetraIdentity
import Logging
import NetraIdentity
import NetraTools

/// Options every subcommand accepts.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "Configuration file (default: configs/config.yaml when present, or $NETRA_CONFIG).")
    var config: String?

    /// The configuration in force, or a one-line failure.
    func loadConfiguration() throws -> NetraConfiguration {
        do {
            return try NetraConfiguration.load(path: config)
        } catch {
            throw CommandFailure(message: "\(error)", exitCode: .failure)
        }
    }
}

/// A failure reported as one line on standard error with a chosen exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: ExitCode

    var description: String { message }
}

extension ParsableCommand {
    /// Runs `body`, turning a `CommandFailure` into its message on stderr and its exit code.
    static func reportingFailures(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let failure as CommandFailure {
            FileHandle.standardError.write(Data("netra: \(failure.message)\n".utf8))
            throw failure.exitCode
        } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("netra: \(error)\n".utf8))
            throw ExitCode.failure
        } catch let error as IdentityError {
            FileHandle.standardError.write(Data("netra: \(error)\n".utf8))
            throw error.exitCode
        } catch let error as ToolError {
            FileHandle.standardError.write(Data("netra: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

extension IdentityError {
    /// The command line's exit code for a use case's refusal (see README, exit codes).
    var exitCode: ExitCode {
        switch self {
        case .noFace: .noFace
        case .notFound: .notFound
        case .enrollmentRejected: .rejected
        case .ambiguousName, .vision, .store: .failure
        }
    }
}

extension NetraConfiguration {
    /// A logger writing to standard error at the configured level.
    func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = logLevel
        return logger
    }
}
