import Foundation
import Hummingbird
import NetraIdentity
import NetraImaging
import NetraStore
import NetraVision

/// Subjects and their faces: create, list, read, update, delete, enroll.
struct SubjectController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    let bodies: BodyReader
    let liveness: LivenessChallenges

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.post("subjects", use: create)
        group.get("subjects", use: list)
        group.get("subjects/:id", use: show)
        group.patch("subjects/:id", use: update)
        group.delete("subjects/:id", use: delete)
        group.post("subjects/:id/faces", use: addFace)
        group.delete("subjects/:id/faces/:face_id", use: deleteFace)
        group.post("enroll", use: enroll)
    }

    /// The JSON body of create and update: `{"name": ..., "metadata": {...}}`. Only
    /// `application/json` is read: a browser may send `text/plain` across origins unasked.
    private func subjectFields(_ request: Request, _ context: NetraRequestContext) async throws
        -> (name: String?, metadata: String?, collection: String?) {
        let mediaType = RequestForm.mediaType(of: request)
        guard mediaType == "application/json" else {
            throw APIError(.unsupportedMediaType, "unsupported_content_type",
                           "send the subject as application/json, not '\(request.headers[.contentType] ?? "")'")
        }
        let body = try await bodies.collect(request, from: context.caller, limit: 64 * 1024, what: "a subject's JSON body")
        guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] else {
            throw APIError.badRequest("invalid_json", #"send a JSON object such as {"name": "Ada", "metadata": {}}"#)
        }
        var name: String?
        if let value = object["name"] {
            guard let text = value as? String else { throw APIError.badRequest("invalid_field", "'name' must be a string") }
            name = text
        }
        var metadata: String?
        if let value = object["metadata"] {
            guard value is [String: Any], let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys]) else {
                throw APIError.badRequest("invalid_field", "'metadata' must be a JSON object")
            }
            metadata = String(decoding: data, as: UTF8.self)
        }
        if let value = object["collection"], !(value is String) {
            throw APIError.badRequest("invalid_field", "'collection' must be a collection's name")
        }
        return (name, metadata, object["collection"] as? String)
    }

    /// The subjects of the request's collection (`named`, a JSON body's `collection`, else the
    /// `collection` query parameter, or its key's).
    private func directory(_ request: Request, _ context: NetraRequestContext, named: String? = nil) async throws -> SubjectDirectory {
        let store = try state.ready().store
        let collection = try await context.collection(named: named ?? request.uri.queryParameters.get("collection"), in: store)
        return SubjectDirectory(store: store, collectionID: collection.id)
    }

    func create(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let fields = try await subjectFields(request, context)
        let directory = try await directory(request, context, named: fields.collection)
        guard let name = fields.name else { throw APIError.badRequest("missing_field", "'name' is required") }
        let subject = try await directoryCall { () throws(IdentityError) in try directory.create(name: name, metadata: fields.metadata ?? "{}") }
        return try JSONResponse.make(SubjectJSON(subject), status: .created, for: request, context)
    }

    struct SubjectPage: Encodable {
        let subjects: [SubjectJSON]
        let total: Int
        let limit: Int
        let offset: Int
    }

    func list(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let query = request.uri.queryParameters
        let limit = try request.integerQuery("limit", in: 1...1000) ?? 100
        let offset = try request.integerQuery("offset", in: 0...Int(Int32.max)) ?? 0
        let name = query.get("name")
        let (subjects, total) = try await directoryCall { () throws(IdentityError) in
            try directory.list(nameContaining: name, limit: limit, offset: offset)
        }
        return try JSONResponse.make(SubjectPage(subjects: subjects.map { SubjectJSON($0) }, total: total, limit: limit, offset: offset),
                                     for: request, context)
    }

    func show(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let id = try context.parameters.require("id", as: Int64.self)
        let (subject, faces) = try await directoryCall { () throws(IdentityError) in try directory.subjectWithFaces(id: id) }
        return try JSONResponse.make(SubjectJSON(subject, faces: faces), for: request, context)
    }

    func update(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let id = try context.parameters.require("id", as: Int64.self)
        let fields = try await subjectFields(request, context)
        let directory = try await directory(request, context, named: fields.collection)
        let subject = try await directoryCall { () throws(IdentityError) in
            try directory.update(id: id, with: SubjectChange(name: fields.name, metadata: fields.metadata))
        }
        return try JSONResponse.make(SubjectJSON(subject), for: request, context)
    }

    struct Deleted: Encodable {
        let status = "success"
        let deleted: String
        let id: Int64
    }

    func delete(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let id = try context.parameters.require("id", as: Int64.self)
        try await directoryCall { () throws(IdentityError) in try directory.delete(id: id) }
        return try JSONResponse.make(Deleted(deleted: "subject", id: id), for: request, context)
    }

    func deleteFace(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let directory = try await directory(request, context)
        let subjectID = try context.parameters.require("id", as: Int64.self)
        let faceID = try context.parameters.require("face_id", as: Int64.self)
        try await directoryCall { () throws(IdentityError) in try directory.deleteFace(id: faceID, ofSubject: subjectID) }
        return try JSONResponse.make(Deleted(deleted: "face", id: faceID), for: request, context)
    }

    struct Similar: Encodable {
        let subjectId: Int64
        let similarityScore: Float

        enum CodingKeys: String, CodingKey {
            case subjectId = "subject_id", similarityScore = "similarity_score"
        }
    }

    struct EnrollResponse: Encodable {
        let status = "success"
        let subject: SubjectJSON
        let face: StoredFaceJSON
        let bbox: [Int]
        let similarSubjects: [Similar]

        enum CodingKeys: String, CodingKey {
            case status, subject, face, bbox
            case similarSubjects = "similar_subjects"
        }
    }

    func addFace(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let id = try context.parameters.require("id", as: Int64.self)
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes, imageFields: ["image"])
        return try await enroll(form, subject: .id(id), request, context)
    }

    func enroll(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes, imageFields: ["image"])
        if let id = form.string("subject_id"), !id.isEmpty {
            guard let subjectID = Int64(id) else { throw APIError.badRequest("invalid_field", "'subject_id' must be a number") }
            return try await enroll(form, subject: .id(subjectID), request, context)
        }
        guard let name = form.string("name"), !name.isEmpty else {
            throw APIError.badRequest("missing_field", "give 'name' (creates the subject when needed) or 'subject_id'")
        }
        return try await enroll(form, subject: .named(name), request, context)
    }

    private func enroll(_ form: RequestForm, subject choice: SubjectChoice, _ request: Request,
                        _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let collection = try await context.collection(named: form.string("collection") ?? request.uri.queryParameters.get("collection"),
                                                      in: loaded.store)
        let bytes = try form.image("image")
        let force = try form.bool("force"), largest = try form.bool("largest")
        let decoder = configuration.imageDecoder
        let enroller = Enroller(finder: configuration.finder(loaded), store: loaded.store, policy: configuration.enrollment,
                                collectionID: collection.id,
                                liveness: try context.livenessRequirement(form, required: configuration.liveness.requiredForEnroll,
                                                                          challenges: liveness))
        let result = try await workers.run { () throws -> EnrollResponse in
            let image = try decoder.decode(bytes, field: "image")
            let enrolled = try identityCall { () throws(IdentityError) in
                try enroller.enroll(image, subject: choice, force: force, largestFace: largest)
            }
            return EnrollResponse(subject: SubjectJSON(enrolled.subject), face: StoredFaceJSON(enrolled.enrollment.face),
                                  bbox: ImageBox(enrolled.enrollment.detection.rect, in: image).corners,
                                  similarSubjects: enrolled.enrollment.similarSubjects.map {
                                      Similar(subjectId: $0.subjectID, similarityScore: $0.similarity)
                                  })
        }
        return try JSONResponse.make(result, status: .created, for: request, context)
    }

    /// Runs a use case off the event loop, answering its refusals in HTTP's terms.
    private func directoryCall<T: Sendable>(_ body: @escaping @Sendable () throws(IdentityError) -> T) async throws -> T {
        try await blocking { try identityCall(body) }
    }
}
