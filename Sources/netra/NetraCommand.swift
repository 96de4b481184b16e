import ArgumentParser
import Foundation
import NetraVision

/// The `netra` command line: one command per job, sharing NETRA's configuration.
struct NetraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "netra",
        abstract: "NETRA face-identity service and tools.",
        subcommands: [
            ServeCommand.self, DetectCommand.self, EmbedCommand.self, VerifyCommand.self,
            EnrollCommand.self, IdentifyCommand.self, SubjectsCommand.self, FacesCommand.self, CollectionsCommand.self,
            EvaluateCommand.self, TrainCommand.self, ExportCommand.self, DatabaseCommand.self, KeysCommand.self, APIKeysCommand.self, ConfigCommand.self, ClientCommand.self,
            BenchCommand.self, ModelsCommand.self,
        ]
    )
}

/// Entry point: makes sure the numeric libraries' thread pools are configured before they
/// load (re-executing once with the variables set), then runs the command.
@main
enum Entry {
    static func main() async {
        let missing = ComputeEnvironment.missing()
        if !missing.isEmpty {
            for (name, value) in missing { setenv(name, value, 1) }
            execv("/proc/self/exe", CommandLine.unsafeArgv)
            // Only reached when re-execution is impossible: carry on with the defaults.
        }
        await NetraCommand.main()
    }
}
