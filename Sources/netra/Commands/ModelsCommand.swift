import ArgumentParser
import Foundation
import NetraIdentity
import NetraTools
import NetraVision

/// `netra models`: install and inspect the dlib model files.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Install and inspect the dlib model files.",
        subcommands: [Fetch.self, List.self]
    )

    struct Fetch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download (or install from a local archive) and verify the three CC0 dlib models."
        )

        @OptionGroup var global: GlobalOptions

        @Option(name: .long, help: ArgumentHelp(
            "Install from an already downloaded \(ModelCatalog.sourceArchiveName) or a folder holding the .dat files.",
            valueName: "PATH"))
        var from: String?

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                let installer = configuration.modelInstaller
                let source: ModelInstaller.Source
                do {
                    source = try installer.fetch(
                        from: from.map { URL(fileURLWithPath: $0) },
                        logger: configuration.makeLogger(label: "netra.models"))
                } catch {
                    throw CommandFailure(message: "\(error)", exitCode: .failure)
                }
                let origin: String
                switch source {
                case .alreadyInstalled: origin = "already installed"
                case let .cache(url): origin = "installed from the cached \(url.path)"
                case let .download(url): origin = "downloaded to \(url.path) and installed"
                case let .given(url): origin = "installed from \(url.path)"
                }
                print("models in \(installer.modelDirectory.path): \(origin), all hashes verified")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each model file with its size, hash status and licence (exit 1 unless all verify)."
        )

        @OptionGroup var global: GlobalOptions

        @Flag(name: .long, help: "Print JSON instead of a table.")
        var json = false

        func run() async throws {
            try await Self.reportingFailures {
                let configuration = try global.loadConfiguration()
                let statuses = configuration.modelInstaller.status()
                if json {
                    print(try jsonReport(statuses))
                } else {
                    print(table(statuses))
                }
                if !statuses.allSatisfy(\.isVerified) { throw ExitCode.failure }
            }
        }

        private func table(_ statuses: [ModelStatus]) -> String {
            let rows = statuses.map { status in
                [status.file.role.rawValue, status.file.fileName, "\(status.file.byteCount)", status.stateText, status.file.licence]
            }
            let header = ["ROLE", "FILE", "BYTES", "STATUS", "LICENCE"]
            let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
            return ([header] + rows).map { row in
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }
                    .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }.joined(separator: "\n")
        }

        private func jsonReport(_ statuses: [ModelStatus]) throws -> String {
            struct Entry: Encodable {
                let role, file, path, status, sha256, licence: String
                let bytes: Int
            }
            let entries = statuses.map {
                Entry(role: $0.file.role.rawValue, file: $0.file.fileName, path: $0.path.path,
                      status: $0.stateText, sha256: $0.file.sha256, licence: $0.file.licence, bytes: $0.file.byteCount)
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return String(decoding: try encoder.encode(entries), as: UTF8.self)
        }
    }
}

extension ModelStatus {
    /// One word (or phrase) for tables and JSON.
    var stateText: String {
        switch state {
        case .verified: "verified"
        case .missing: "missing"
        case let .wrongSize(actual): "wrong size (\(actual) bytes)"
        case .hashMismatch: "hash mismatch"
        }
    }
}

extension NetraConfiguration {
    var modelInstaller: ModelInstaller {
        ModelInstaller(modelDirectory: modelDirectory, cacheDirectory: cacheDirectory)
    }
}
