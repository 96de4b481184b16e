import ArgumentParser
import Foundation
import NetraIdentity
import NetraImaging
import NetraStore
import NetraTools
import NetraVision

/// `netra enroll`: add people's faces to the identity store.
struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Enroll faces: IMAGE... for one subject, or a folder with a subfolder per person (exit 4 if any image is rejected).",
        usage: "netra enroll --subject NAME IMAGE...\n       netra enroll --subject-id ID IMAGE...\n       netra enroll --dir DIR"
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var collection: CollectionOption
    @Option(name: .long, help: "The subject's name; created if no subject has it.") var subject: String?
    @Option(name: .customLong("subject-id"), help: "An existing subject's id.") var subjectID: Int64?
    @Option(name: .long, help: "A folder with one subfolder per person (DIR/<person>/*.jpg|png).") var dir: String?
    @Argument(help: "Images of the subject (one face each).") var images: [String] = []
    @Flag(name: .long, help: "Enroll even when the face does not look like the subject's earlier faces.") var force = false
    @Flag(name: .long, help: "With several faces in an image, enroll the largest instead of refusing.") var largest = false
    @Flag(name: .long, help: "Print JSON.") var json = false

    func validate() throws {
        let modes = [subject != nil, subjectID != nil, dir != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one of --subject, --subject-id or --dir") }
        if dir == nil, images.isEmpty { throw ValidationError("give at least one image") }
        if dir != nil, !images.isEmpty { throw ValidationError("--dir takes no image arguments") }
    }

    struct Accepted: Encodable {
        let file: String
        let subjectId: Int64
        let name: String
        let faceId: Int64
        let similarSubjects: [CandidateJSON]
    }

    struct Rejected: Encodable {
        let file: String
        let reason: String
        let message: String
    }

    struct Report: Encodable {
        var accepted: [Accepted] = []
        var rejected: [Rejected] = []
        var acceptedCount: Int { accepted.count }
        var rejectedCount: Int { rejected.count }
        var rejectionsByReason: [String: Int] { Dictionary(rejected.map { ($0.reason, 1) }, uniquingKeysWith: +) }

        enum CodingKeys: String, CodingKey {
            case accepted, rejected, acceptedCount, rejectedCount, rejectionsByReason
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(accepted, forKey: .accepted)
            try container.encode(rejected, forKey: .rejected)
            try container.encode(acceptedCount, forKey: .acceptedCount)
            try container.encode(rejectedCount, forKey: .rejectedCount)
            try container.encode(rejectionsByReason, forKey: .rejectionsByReason)
        }
    }

    func run() async throws {
        try await Self.reportingFailures {
            let session = try VisionSession(global: global, store: storeOptions)
            let store = try StoreSession.open(storeOptions, configuration: session.configuration)
            let enroller = Enroller(finder: session.finder, store: store,
                                    policy: session.configuration.enrollmentPolicy(threshold: session.models.matchThreshold),
                                    collectionID: try collection.resolve(in: store).id)

            let work = try plan()
            var report = Report()
            var unreadable = false
            let progress = ProgressBar(total: work.count, label: "enrolling", enabled: dir != nil)
            // A few photos at a time: their faces are described together, then enrolled in order.
            for start in stride(from: 0, to: work.count, by: FaceEmbedder.maxBatch) {
                let chunk = work[start..<min(work.count, start + FaceEmbedder.maxBatch)]
                let images = chunk.map { item in Result { try session.image(at: item.file) } }
                let readable = images.compactMap { try? $0.get() }
                var faces = enroller.facesToEnroll(in: readable, largestFace: largest).makeIterator()
                for (item, image) in zip(chunk, images) {
                    progress.update(report.accepted.count + report.rejected.count)
                    let decoded: RGBImage
                    do {
                        decoded = try image.get()
                    } catch let failure as CommandFailure {
                        unreadable = true
                        report.rejected.append(Rejected(file: item.file, reason: "unreadable_image", message: failure.message))
                        continue
                    }
                    do {
                        let enrolled = try enroller.enroll(faces.next()!, of: decoded, subject: item.subject, force: force)
                        report.accepted.append(Accepted(file: item.file, subjectId: enrolled.subject.id, name: enrolled.subject.name,
                                                        faceId: enrolled.enrollment.face.id, similarSubjects: enroller.namedSimilarSubjects(of: enrolled.enrollment)))
                    } catch let IdentityError.enrollmentRejected(error) {
                        report.rejected.append(Rejected(file: item.file, reason: error.reason, message: error.description))
                    } catch let IdentityError.vision(error) {
                        report.rejected.append(Rejected(file: item.file, reason: EnrollmentError.vision(error).reason, message: "\(error)"))
                    } catch let IdentityError.store(error) {
                        report.rejected.append(Rejected(file: item.file, reason: EnrollmentError.store(error).reason, message: "\(error)"))
                    }
                }
            }
            progress.finish()
            if json {
                try printJSON([report], asArray: false)
            } else {
                print(text(report))
            }
            if unreadable { throw ExitCode.unreadableImage }
            if !report.rejected.isEmpty { throw ExitCode.rejected }
        }
    }

    /// One image to enroll and the subject it is for.
    private struct Item {
        let file: String
        let subject: SubjectChoice
    }

    private func plan() throws -> [Item] {
        if let dir {
            return try PersonFolders.read(dir).flatMap { person in
                person.photos.map { Item(file: $0, subject: .named(person.name)) }
            }
        }
        let choice: SubjectChoice = subjectID.map { .id($0) } ?? .named(subject ?? "")
        return images.map { Item(file: $0, subject: choice) }
    }

    private func text(_ report: Report) -> String {
        var lines = report.accepted.map { accepted in
            var line = "accepted \(accepted.file): subject \(accepted.subjectId) (\(accepted.name)), face \(accepted.faceId)"
            if !accepted.similarSubjects.isEmpty {
                line += "; WARNING: also looks like " + accepted.similarSubjects
                    .map { "\($0.name) (subject \($0.subjectId), similarity \(String(format: "%.3f", $0.similarityScore)))" }
                    .joined(separator: ", ")
            }
            return line
        }
        lines += report.rejected.map { "rejected \($0.file): \($0.message)" }
        let reasons = report.rejectionsByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        lines.append("\(report.acceptedCount) accepted, \(report.rejectedCount) rejected" + (reasons.isEmpty ? "" : " (\(reasons))"))
        return lines.joined(separator: "\n")
    }
}

/// A one-line progress bar on standard error, drawn only on a terminal.
struct ProgressBar {
    let total: Int
    let label: String
    let enabled: Bool

    init(total: Int, label: String, enabled: Bool) {
        self.total = total
        self.label = label
        self.enabled = enabled && isatty(STDERR_FILENO) == 1 && total > 0
    }

    func update(_ done: Int) {
        guard enabled else { return }
        let width = 30, filled = width * done / total
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
    }

    func finish() {
        guard enabled else { return }
        update(total)
        FileHandle.standardError.write(Data("\n".utf8))
    }
}

extension ExitCode {
    /// Some images were not enrolled (see the report).
    static let rejected = ExitCode(4)
}
