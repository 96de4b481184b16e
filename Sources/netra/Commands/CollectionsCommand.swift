import ArgumentParser
import Foundation
import NetraIdentity
import NetraStore

/// `--collection`: the collection a command acts in.
struct CollectionOption: ParsableArguments {
    @Option(name: .long, help: "The collection to act in (default: default).") var collection = SubjectCollection.defaultName

    /// The collection named, or a one-line failure when it does not exist.
    func resolve(in store: any IdentityStore) throws -> SubjectCollection {
        try CollectionAccess(store: store).resolve(requested: collection, boundTo: nil)
    }
}

/// `netra collections`: the galleries subjects belong to.
struct CollectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "collections",
        abstract: "Create, list and delete collections (galleries of subjects).",
        subcommands: [Create.self, List.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a collection.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Its name: letters, digits, '-', '_', '.'.") var name: String

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let created = try CollectionAccess(store: store).create(name: name)
                    print("created collection \(created.name)")
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List collections with their subject and face counts.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let collections = try CollectionAccess(store: store).list()
                    if json { return try printJSON(collections, asArray: true) }
                    for collection in collections {
                        print("\(collection.name)\t\(collection.subjectCount) subjects\t\(collection.faceCount) faces")
                    }
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a collection with all its subjects and faces.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The collection's name.") var name: String
        @Flag(name: .long, help: "Confirm that its subjects and faces are deleted too.") var yes = false

        func run() async throws {
            try await Self.reportingFailures {
                guard yes else {
                    throw CommandFailure(message: "deleting collection \(name) deletes all its subjects and faces; add --yes to confirm",
                                         exitCode: .failure)
                }
                try StoreSession.with(storeOptions, global) { store in
                    try CollectionAccess(store: store).delete(named: name)
                    print("deleted collection \(name)")
                }
            }
        }
    }
}
