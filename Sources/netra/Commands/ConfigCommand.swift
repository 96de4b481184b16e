import ArgumentParser
import Foundation
import NetraIdentity
import Yams

/// `netra config show`: the configuration in force.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show the effective configuration.",
        subcommands: [Show.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the configuration after the file and NETRA_* variables are applied (keys are never printed)."
        )
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                print(try YAMLEncoder().encode(configuration), terminator: "")
                let environment = ProcessInfo.processInfo.environment
                let source = environment["NETRA_SECRET_KEY"].map { _ in "NETRA_SECRET_KEY (set, value hidden)" }
                    ?? environment["NETRA_KEY_FILE"].map { "NETRA_KEY_FILE \($0)" }
                    ?? (configuration.data.keyFile.isEmpty ? "development key file beside the database" : "data.key_file")
                print("# store key: \(source)")
            }
        }
    }
}
