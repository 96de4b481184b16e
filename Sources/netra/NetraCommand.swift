import ArgumentParser

/// The `netra` command line: one command per job, sharing NETRA's configuration.
@main
struct NetraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netra",
        abstract: "NETRA face-identity service and tools.",
        subcommands: [ModelsCommand.self]
    )
}
