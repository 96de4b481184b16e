import ArgumentParser
import Foundation
import NetraIdentity
import NetraStore

/// `netra subjects`: the enrolled people.
struct SubjectsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subjects",
        abstract: "List, show, rename and delete enrolled subjects.",
        subcommands: [List.self, Show.self, Rename.self, Delete.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List subjects, optionally those whose name contains a text.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var collection: CollectionOption
        @Option(name: .long, help: "Only names containing this text.") var name: String?
        @Option(name: .long, help: "Page size.") var limit = 100
        @Option(name: .long, help: "Subjects to skip.") var offset = 0
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let directory = SubjectDirectory(store: store, collectionID: try collection.resolve(in: store).id)
                    let subjects = try directory.list(nameContaining: name, limit: max(1, limit), offset: max(0, offset)).subjects
                    if json { return try printJSON(subjects.map { SubjectJSON($0) }, asArray: true, snakeCase: false) }
                    for subject in subjects {
                        print("\(subject.id)\t\(subject.name)\t\(subject.faceCount) face\(subject.faceCount == 1 ? "" : "s")")
                    }
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one subject with its faces.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var collection: CollectionOption
        @Argument(help: "Subject id.") var id: Int64
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let directory = SubjectDirectory(store: store, collectionID: try collection.resolve(in: store).id)
                    let (subject, faces) = try directory.subjectWithFaces(id: id)
                    if json {
                        return try printJSON([SubjectJSON(subject, faces: faces)], asArray: false, snakeCase: false)
                    }
                    print("subject \(subject.id): \(subject.name)\nmetadata: \(subject.metadata)")
                    print("created \(subject.createdAt), updated \(subject.updatedAt)")
                    for face in faces {
                        let confidence = String(format: "%.2f", face.detectorConfidence)
                        print("  face \(face.id): \(face.faceWidth) x \(face.faceHeight) px, confidence \(confidence), \(face.createdAt)")
                    }
                }
            }
        }
    }

    struct Rename: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Rename a subject.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var collection: CollectionOption
        @Argument(help: "Subject id.") var id: Int64
        @Argument(help: "The new name.") var name: String

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    let directory = SubjectDirectory(store: store, collectionID: try collection.resolve(in: store).id)
                    let subject = try directory.update(id: id, with: SubjectChange(name: name))
                    print("subject \(subject.id) is now \(subject.name)")
                }
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a subject and all its faces.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var collection: CollectionOption
        @Argument(help: "Subject id.") var id: Int64

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    try SubjectDirectory(store: store, collectionID: try collection.resolve(in: store).id).delete(id: id)
                    print("deleted subject \(id)")
                }
            }
        }
    }
}

/// `netra faces`: single enrolled faces.
struct FacesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "faces",
        abstract: "Delete single enrolled faces.",
        subcommands: [Delete.self]
    )

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete one enrolled face.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var storeOptions: StoreOptions
        @OptionGroup var collection: CollectionOption
        @Argument(help: "Face id.") var id: Int64

        func run() async throws {
            try await Self.reportingFailures {
                try StoreSession.with(storeOptions, global) { store in
                    try SubjectDirectory(store: store, collectionID: try collection.resolve(in: store).id).deleteFace(id: id)
                    print("deleted face \(id)")
                }
            }
        }
    }
}

extension ExitCode {
    /// The subject or face named does not exist.
    static let notFound = ExitCode(5)
}
