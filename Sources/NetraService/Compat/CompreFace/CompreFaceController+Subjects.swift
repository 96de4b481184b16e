import Foundation
import Hummingbird
import NetraIdentity
import NetraImaging
import NetraStore

/// CompreFace's subjects and examples (faces): by subject name, within the caller's collection.
extension CompreFaceController {
    func addManagementRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.post("subjects", use: addSubject)
        group.get("subjects", use: listSubjects)
        group.put("subjects/:subject", use: renameSubject)
        group.delete("subjects/:subject", use: deleteSubject)
        group.delete("subjects", use: deleteAllSubjects)
        group.post("faces", use: addExample)
        group.get("faces", use: listExamples)
        group.delete("faces", use: deleteExamplesOfSubject)
        group.delete("faces/:image_id", use: deleteExample)
        group.post("faces/delete", use: deleteExamples)
        group.get("faces/:image_id/img", use: downloadImage)
    }

    // MARK: Subjects

    func addSubject(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let name = try await subjectField(of: request, context)
        let subject = try await blocking { () throws -> Subject in
            guard try Self.subjects(named: name, in: directory).isEmpty else { throw PeerError(.badRequest, code: 43, "Subject already exists") }
            return try identityCall { () throws(IdentityError) in try directory.create(name: name) }
        }
        return try answer(CompreFaceJSON.SubjectName(subject: subject.name), status: .created, request, context)
    }

    func listSubjects(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let names = try await blocking { try Self.allSubjects(of: directory).map(\.name) }
        return try answer(CompreFaceJSON.SubjectList(subjects: names), request, context)
    }

    /// Renames a subject; onto an existing name, the two are merged (faces moved, old deleted).
    func renameSubject(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let old = try Self.pathSubject(context)
        let new = try await subjectField(of: request, context)
        try await blocking {
            let sources = try Self.subjects(named: old, in: directory), targets = try Self.subjects(named: new, in: directory)
            guard let subject = sources.first else { throw Self.subjectNotFound(old) }
            guard sources.count == 1, targets.count <= 1 else {
                throw PeerError(.badRequest, code: 26, "several subjects are named \(sources.count > 1 ? old : new); rename them with NETRA's own API")
            }
            if let target = targets.first, target.id != subject.id {
                _ = try identityCall { () throws(IdentityError) in try directory.merge(id: subject.id, into: target.id) }
            } else {
                _ = try identityCall { () throws(IdentityError) in try directory.update(id: subject.id, with: SubjectChange(name: new)) }
            }
        }
        return try answer(CompreFaceJSON.Updated(), request, context)
    }

    func deleteSubject(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let name = try Self.pathSubject(context)
        try await blocking {
            let named = try Self.subjects(named: name, in: directory)
            guard !named.isEmpty else { throw Self.subjectNotFound(name) }
            _ = try Self.delete(named, in: directory)
        }
        return try answer(CompreFaceJSON.SubjectName(subject: name), request, context)
    }

    func deleteAllSubjects(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let deleted = try await blocking { try Self.delete(try Self.allSubjects(of: directory), in: directory).subjects }
        return try answer(CompreFaceJSON.Deleted(deleted: deleted), request, context)
    }

    // MARK: Examples

    /// Adds one example (face) of `subject`, creating the subject on first use; NETRA's
    /// enrollment rules apply (one face, large and confident enough, like the subject's others).
    func addExample(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let parameters = PeerParameters(request)
        guard let name = parameters.string("subject") else { throw PeerError(.badRequest, code: 33, "Required parameter subject is missing") }
        let options = try CompreFaceOptions(parameters, exposeEmbeddings: false)
        let collection = try await context.collection(named: parameters.string("collection"), in: loaded.store)
        let bytes = try await imageFile("file", of: request, context)
        let enroller = Enroller(finder: configuration.finder(loaded), store: loaded.store, policy: configuration.enrollment, collectionID: collection.id)
        let decoder = configuration.imageDecoder
        let enrolled = try await workers.run { () throws -> Enroller.Result in
            let image = try decoder.decode(bytes, field: "file")
            // Every face NETRA's detector accepts reports at least 0.9, so only a higher threshold can drop one.
            if let minimum = options.analysis.minimumProbability, minimum > PeerScale.detectionProbability(confidence: 0) {
                let kept = try identityCall { () throws(IdentityError) in try enroller.finder.detections(in: image) }
                    .filter { PeerScale.detectionProbability(confidence: $0.confidence) >= minimum }
                if kept.isEmpty { throw PeerError(.badRequest, code: 28, "No face is found in the given image") }
            }
            do {
                return try enroller.enroll(image, subject: .named(name))
            } catch let IdentityError.enrollmentRejected(rejection) {
                throw Self.peerError(rejection)
            }
        }
        return try answer(CompreFaceJSON.Example(imageID: String(enrolled.enrollment.face.id), subject: enrolled.subject.name),
                          status: .created, request, context)
    }

    /// A page of examples (Spring's `page`, from 0, and `size`), optionally of one subject.
    func listExamples(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let parameters = PeerParameters(request)
        let page = try Self.nonNegative(parameters, "page") ?? 0
        let size = min(1000, max(1, try Self.nonNegative(parameters, "size") ?? 20))
        guard page <= Int(Int32.max) / size else { throw PeerError(.badRequest, code: 26, "page is too large") }
        let subject = parameters.string("subject")
        let listed = try await blocking { () throws -> (faces: [(face: StoredFace, subjectName: String)], total: Int) in
            var subjectID: Int64?
            if let subject {
                guard let found = try Self.subjects(named: subject, in: directory).first else { return ([], 0) }
                subjectID = found.id
            }
            return try identityCall { () throws(IdentityError) in try directory.faces(ofSubject: subjectID, limit: size, offset: page * size) }
        }
        let examples = listed.faces.map { CompreFaceJSON.Example(imageID: String($0.face.id), subject: $0.subjectName) }
        return try answer(CompreFaceJSON.ExamplePage(faces: examples, pageNumber: page, pageSize: size,
                                                     totalPages: (listed.total + size - 1) / size, totalElements: listed.total), request, context)
    }

    /// Deletes every example of `subject` with the subject itself, or, without `subject`, every
    /// subject of the collection (CompreFace's own meaning); answers the examples deleted.
    func deleteExamplesOfSubject(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let subject = PeerParameters(request).string("subject")
        let deleted = try await blocking { () throws -> Int in
            let subjects = try subject.map { try Self.subjects(named: $0, in: directory) } ?? Self.allSubjects(of: directory)
            return try Self.delete(subjects, in: directory).faces
        }
        return try answer(CompreFaceJSON.Deleted(deleted: deleted), request, context)
    }

    func deleteExample(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let imageID = try context.parameters.require("image_id")
        let deleted = try await blocking {
            guard let faceID = Int64(imageID), let deleted = try Self.deleteFace(faceID, in: directory) else {
                throw PeerError(.notFound, code: 44, "Image \(imageID) not found")
            }
            return deleted
        }
        return try answer(deleted, request, context)
    }

    /// `POST /faces/delete` with a JSON list of image ids: those found are deleted and listed.
    func deleteExamples(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let body = try await bodies.collect(request, from: context.caller, limit: 1024 * 1024, what: "a list of image ids")
        guard let list = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [Any] else {
            throw PeerError(.badRequest, code: 26, #"send a JSON list of image ids, such as ["12", "13"]"#)
        }
        let ids = list.compactMap { ($0 as? String).flatMap { Int64($0) } ?? ($0 as? NSNumber)?.int64Value }
        let deleted = try await blocking { try ids.compactMap { try Self.deleteFace($0, in: directory) } }
        return try answer(deleted, request, context)
    }

    /// NETRA stores no images: there is nothing to download.
    func downloadImage(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        throw PeerError(.notFound, code: 11, "NETRA stores no images, only sealed face embeddings; there is no image to download")
    }

    // MARK: Helpers

    /// The subjects of the request's collection.
    private func directory(_ request: Request, _ context: NetraRequestContext) async throws -> SubjectDirectory {
        let store = try state.ready().store
        let collection = try await context.collection(named: PeerParameters(request).string("collection"), in: store)
        return SubjectDirectory(store: store, collectionID: collection.id)
    }

    /// The `subject` of a JSON body (the SDK's rename adds `api_endpoint`, which is ignored).
    private func subjectField(of request: Request, _ context: NetraRequestContext) async throws -> String {
        let body = try await bodies.collect(request, from: context.caller, limit: 64 * 1024, what: "a subject's JSON body")
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw PeerError(.badRequest, code: 26, #"send a JSON object such as {"subject": "Ada"}"#)
        }
        guard let name = object["subject"] as? String, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw PeerError(.badRequest, code: 5, "Field subject cannot be empty")
        }
        return name
    }

    private static func pathSubject(_ context: NetraRequestContext) throws -> String {
        let raw = try context.parameters.require("subject")
        return raw.removingPercentEncoding ?? raw
    }

    /// Names need not be unique in NETRA; CompreFace's name means all subjects with it.
    private static func subjects(named name: String, in directory: SubjectDirectory) throws -> [Subject] {
        try identityCall { () throws(IdentityError) in try directory.subjects(named: name) }
    }

    private static func allSubjects(of directory: SubjectDirectory) throws -> [Subject] {
        try identityCall { () throws(IdentityError) in try directory.all() }
    }

    /// Deletes subjects with their faces, in one transaction; returns how many of each.
    private static func delete(_ subjects: [Subject], in directory: SubjectDirectory) throws -> (subjects: Int, faces: Int) {
        let deleted = try identityCall { () throws(IdentityError) in try directory.delete(subjects) }
        return (deleted, subjects.reduce(0) { $0 + $1.faceCount })
    }

    /// Deletes one face of the collection; `nil` when it has none with that id.
    private static func deleteFace(_ faceID: Int64, in directory: SubjectDirectory) throws -> CompreFaceJSON.Example? {
        do {
            let deleted = try directory.deleteFace(id: faceID)
            return CompreFaceJSON.Example(imageID: String(faceID), subject: deleted.subject.name)
        } catch .notFound {
            return nil
        } catch {
            throw APIError(identityError: error)
        }
    }

    private static func subjectNotFound(_ name: String) -> PeerError {
        PeerError(.notFound, code: 42, "Subject \(name) not found")
    }

    private static func nonNegative(_ parameters: PeerParameters, _ name: String) throws -> Int? {
        guard let value = try? parameters.integer(name), value >= 0 else {
            if parameters.string(name) == nil { return nil }
            throw PeerError(.badRequest, code: 26, "\(name) should be a whole number, 0 or more")
        }
        return value
    }

    /// An enrollment refusal in CompreFace's terms.
    private static func peerError(_ rejection: EnrollmentError) -> Error {
        switch rejection {
        case .noFace: PeerError(.badRequest, code: 28, "No face is found in the given image")
        case .multipleFaces: PeerError(.badRequest, code: 31, "More than one face in the source image")
        case let .store(error): APIError(storeError: error)
        case let .vision(error): error
        default: PeerError(.badRequest, code: 26, rejection.description)
        }
    }
}
