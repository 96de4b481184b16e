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
        subcommands: [Create.self, List.self, Set.self, Delete.self]
    )

    /// `--strict-unknown true|false|default`: the compatible APIs' strict unknown for one collection.
    enum StrictUnknown: String, ExpressibleByArgument, CaseIterable {
        case `true`, `false`, `default`

        var value: Bool? {
            switch self {
            case .true: true
            case .false: false
            case .default: nil
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a collection.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "Its name: letters, digits, '-', '_', '.'.") var name: String
        @Option(name: .long, help: "The compatible APIs' strict unknown here: true, false (always the nearest, for Viseron) or default (compat.strict_unknown).")
        var strictUnknown: StrictUnknown = .default

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let created = try CollectionAccess(store: store).create(name: name, strictUnknown: strictUnknown.value)
                    print("created collection \(created.name)")
                }
            }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a collection's settings.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @Argument(help: "The collection's name.") var name: String
        @Option(name: .long, help: "The compatible APIs' strict unknown here: true, false or default (compat.strict_unknown).")
        var strictUnknown: StrictUnknown

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let updated = try CollectionAccess(store: store).setStrictUnknown(strictUnknown.value, forCollectionNamed: name)
                    print("collection \(updated.name): strict unknown \(updated.strictUnknown.map(String.init) ?? "default")")
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
                        let strict = collection.strictUnknown.map { "\tstrict unknown \($0)" } ?? ""
                        print("\(collection.name)\t\(collection.subjectCount) subjects\t\(collection.faceCount) faces\(strict)")
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
