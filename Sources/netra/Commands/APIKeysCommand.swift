import ArgumentParser
import Foundation
import NetraIdentity
import NetraStore

/// `netra apikeys`: keys for the HTTP API.
struct APIKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikeys",
        abstract: "Create, list and revoke API keys for the HTTP service.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key; it is printed once and stored only hashed.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Option(name: .long, help: "A name saying who uses the key.") var name: String
        @Option(name: .long, parsing: .upToNextOption, help: "Scopes: recognize, manage, admin.") var scope: [String] = ["recognize"]
        @Option(name: .long, help: "Bind the key to this collection: it then sees and searches only it.") var collection: String?

        func run() async throws {
            try await Self.reportingFailures {
                let scopes = try scope.flatMap { $0.split(separator: ",") }.map { text in
                    guard let scope = APIScope(rawValue: text.trimmingCharacters(in: .whitespaces)) else {
                        throw CommandFailure(message: "unknown scope '\(text)': use recognize, manage or admin", exitCode: .failure)
                    }
                    return scope
                }
                try StoreSession.with(storeOptions, global) { store in
                    let bound = try collection.map { try CollectionAccess(store: store).resolve(requested: $0, boundTo: nil) }
                    let (key, record) = try store.createAPIKey(name: name, scopes: scopes, collectionID: bound?.id)
                    print(key)
                    let binding = bound.map { "; bound to collection \($0.name)" } ?? ""
                    FileHandle.standardError.write(Data("netra: created API key \(record.id) (\(record.name); scopes \(record.scopes.map(\.rawValue).joined(separator: ", "))\(binding)); it is shown only once\n".utf8))
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never their secrets).")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let keys = try store.apiKeys()
                    if json { return try printJSON(keys, asArray: true) }
                    for key in keys {
                        let state = key.revokedAt.map { "revoked \($0)" } ?? "active"
                        print("\(key.id)\t\(key.name)\t\(key.scopes.map(\.rawValue).joined(separator: ","))\t\(state)")
                    }
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke an API key; it stops working at once.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The key's id (the part after netra_).") var id: String

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    try store.revokeAPIKey(id: id)
                    print("revoked API key \(id)")
                }
            }
        }
    }
}
