import ArgumentParser
import Foundation
import Logging
import NetraIdentity
import NetraTools
import NetraVision

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
    /// Runs `body`, turning a failure it reports (a `CommandFailure`, or a refusal of the
    /// identity layer, the configuration or a tool) into one line on stderr and its exit code.
    static func reportingFailures(_ body: () async throws -> Void) async throws {
        let failure: CommandFailure
        do {
            try await body()
            return
        } catch let error as CommandFailure {
            failure = error
        } catch let error as IdentityError {
            failure = CommandFailure(message: error.commandLineMessage, exitCode: error.exitCode)
        } catch let error as ConfigurationError {
            failure = CommandFailure(message: error.description, exitCode: .failure)
        } catch let error as ToolError {
            failure = CommandFailure(message: error.description, exitCode: .failure)
        } catch let error as VisionError {
            failure = CommandFailure(message: error.description, exitCode: .failure)
        }
        FileHandle.standardError.write(Data("netra: \(failure.message)\n".utf8))
        throw failure.exitCode
    }
}

extension IdentityError {
    /// The message in the command line's terms (its flags, not the API's fields).
    var commandLineMessage: String {
        if case let .ambiguousName(name, count) = self { return "\(count) subjects are named \(name); use --subject-id" }
        return description
    }

    /// The command line's exit code for a use case's refusal (see README, exit codes).
    var exitCode: ExitCode {
        switch self {
        case .noFace: .noFace
        case .notFound, .collectionNotFound: .notFound
        case .enrollmentRejected, .liveness: .rejected
        case .ambiguousName, .collectionNotAllowed, .vision, .store: .failure
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
