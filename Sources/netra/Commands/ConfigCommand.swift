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
            abstract: "Print the configuration after the file and NETRA_* variables are applied (keys and passwords are never printed)."
        )
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await Self.reportingFailures {
                var configuration = try global.loadConfiguration()
                let environment = ProcessInfo.processInfo.environment
                let postgres = try configuration.postgresLocation
                // data.url as PostgresLocation prints it: a password never appears.
                if let postgres { configuration.data.url = postgres.description }
                print(try YAMLEncoder().encode(configuration), terminator: "")
                if let postgres {
                    print("# store: PostgreSQL \(postgres); password: "
                        + (StoreLocation.passwordSource(configuration, environment: environment) ?? "none"))
                } else {
                    print("# store: SQLite \(configuration.data.db)")
                }
                // As the store reads them (KeySource.fromEnvironment): an empty variable is unset.
                let source = environment["NETRA_SECRET_KEY"].flatMap { $0.isEmpty ? nil : "NETRA_SECRET_KEY (set, value hidden)" }
                    ?? environment["NETRA_KEY_FILE"].flatMap { $0.isEmpty ? nil : "NETRA_KEY_FILE \($0)" }
                    ?? (!configuration.data.keyFile.isEmpty ? "data.key_file"
                        : postgres == nil ? "development key file beside the database"
                        : "none (a PostgreSQL store needs NETRA_SECRET_KEY, NETRA_KEY_FILE or data.key_file)")
                print("# store key: \(source)")
            }
        }
    }
}
