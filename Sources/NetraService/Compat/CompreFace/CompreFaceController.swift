import Foundation
import Hummingbird
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraStore
import NetraVision

/// The CompreFace REST API (`/api/v1/recognition`, `/detection`, `/verification`), as
/// compreface-sdk, Double Take and Viseron call it (peer-apis.md §1, docs/compatibility.md):
/// CompreFace's paths, parameters, answers and error codes over NETRA's use cases, in the
/// caller's collection. `image_id` is NETRA's face id.
struct CompreFaceController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    let bodies: BodyReader

    /// The route groups, each behind the scope its routes need.
    struct Groups {
        let recognize: RouterGroup<NetraRequestContext>
        let manage: RouterGroup<NetraRequestContext>
        let detection: RouterGroup<NetraRequestContext>
        let verification: RouterGroup<NetraRequestContext>
        /// CompreFace's key-in-the-path image URLs, which it serves without checking a key header.
        let staticImages: RouterGroup<NetraRequestContext>
    }

    func addRoutes(to groups: Groups) {
        groups.recognize.post("recognize", use: recognize)
        groups.recognize.post("faces/:image_id/verify", use: verifyExample)
        groups.detection.post("detect", use: detect)
        groups.verification.post("verify", use: verify)
        addManagementRoutes(to: groups.manage)
        groups.staticImages.get(":api_key/images/:image_id", use: downloadImage)
    }

    var scale: PeerScale { .compreFace(threshold: configuration.threshold) }

    // MARK: Questions about images

    func recognize(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let parameters = PeerParameters(request)
        let options = try CompreFaceOptions(parameters, exposeEmbeddings: configuration.compat.exposeEmbeddings)
        let collection = try await context.collection(named: parameters.string("collection"), in: loaded.store)
        let bytes = try await imageFile("file", of: request, context)
        let identifier = Identifier(finder: configuration.finder(loaded), store: loaded.store, collectionID: collection.id)
        let predictions = options.predictionCount == -1 ? configuration.identifyMaxTopK : min(options.predictionCount, configuration.identifyMaxTopK)
        // Strict: never a subject beyond NETRA's threshold, whatever the client does with the scores.
        let strict = collection.strictUnknown ?? configuration.compat.strictUnknown
        let maxDistance = strict ? scale.thresholdDistance : .infinity
        let (analysis, decoder) = (analysis(loaded), configuration.imageDecoder)
        let (analyzed, matches) = try await workers.run { () throws -> (PeerAnalysis, [[Identifier.NamedCandidate]]) in
            let analyzed = try analysis.analyze(try decoder.decode(bytes, field: "file"), options: options.analysis)
            let candidates = try identityCall { () throws(IdentityError) in
                try identifier.candidates(for: analyzed.faces, topK: predictions, maxDistance: maxDistance)
            }
            return (analyzed, candidates.map(\.candidates))
        }
        try? await blocking {
            try identityCall { () throws(IdentityError) in
                try identifier.audit(faceCount: analyzed.faces.count, identified: matches.compactMap(\.first?.candidate.subjectID))
            }
        }
        let faces = zip(analyzed.faces, matches).map { face, candidates in
            var json = options.json(face, analyzed)
            json.subjects = candidates.map {
                CompreFaceJSON.SubjectMatch(subject: $0.name, similarity: PeerScale.rounded(scale.score(distance: $0.candidate.distance)))
            }
            return json
        }
        return try answer(CompreFaceJSON.Result(result: faces, pluginsVersions: options.versions), request, context)
    }

    func detect(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let options = try CompreFaceOptions(PeerParameters(request), exposeEmbeddings: configuration.compat.exposeEmbeddings)
        let bytes = try await imageFile("file", of: request, context)
        let (analysis, decoder) = (analysis(loaded), configuration.imageDecoder)
        let analyzed = try await workers.run { try analysis.analyze(try decoder.decode(bytes, field: "file"), options: options.analysis) }
        return try answer(CompreFaceJSON.Result(result: analyzed.faces.map { options.json($0, analyzed) }, pluginsVersions: options.versions),
                          request, context)
    }

    /// Each face of the image against one stored example (`image_id`).
    func verifyExample(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let parameters = PeerParameters(request)
        let options = try CompreFaceOptions(parameters, exposeEmbeddings: configuration.compat.exposeEmbeddings)
        let collection = try await context.collection(named: parameters.string("collection"), in: loaded.store)
        let imageID = try context.parameters.require("image_id")
        let directory = SubjectDirectory(store: loaded.store, collectionID: collection.id)
        let example = try await blocking { try Self.example(imageID, in: directory) }
        let bytes = try await imageFile("file", of: request, context)
        let (analysis, decoder) = (analysis(loaded), configuration.imageDecoder)
        let analyzed = try await workers.run { try analysis.analyze(try decoder.decode(bytes, field: "file"), options: options.analysis) }
        let faces = analyzed.faces.map { face in
            var json = options.json(face, analyzed)
            json.similarity = PeerScale.rounded(scale.score(distance: face.descriptor.distance(to: example)))
            return json
        }
        try? await audit(loaded.store, matched: faces.contains { ($0.similarity ?? 0) >= scale.scoreAtThreshold })
        return try answer(CompreFaceJSON.Result(result: faces, pluginsVersions: options.versions), request, context)
    }

    /// The verification service: the one face of `source_image` against every face of `target_image`.
    func verify(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let options = try CompreFaceOptions(PeerParameters(request), exposeEmbeddings: configuration.compat.exposeEmbeddings)
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes,
                                              imageFields: ["source_image", "target_image"])
        let source = try Self.file("source_image", of: form), target = try Self.file("target_image", of: form)
        let (analysis, decoder) = (analysis(loaded), configuration.imageDecoder)
        let (sourceImage, targetImage) = try await workers.run({ () throws -> PeerAnalysis in
            let sourceImage = try analysis.analyze(try decoder.decode(source, field: "source_image"), options: options.analysis)
            guard sourceImage.faces.count == 1 else {
                throw PeerError(.badRequest, code: 31, "More than one face in the source image")
            }
            return sourceImage
        }, alongside: { try analysis.analyze(try decoder.decode(target, field: "target_image"), options: options.analysis) })
        let sourceFace = sourceImage.faces[0]
        let matches = targetImage.faces.map { face in
            var json = options.json(face, targetImage)
            json.similarity = PeerScale.rounded(scale.score(distance: face.descriptor.distance(to: sourceFace.descriptor)))
            return json
        }.sorted { ($0.similarity ?? 0) > ($1.similarity ?? 0) }
        try? await audit(loaded.store, matched: (matches.first?.similarity ?? 0) >= scale.scoreAtThreshold)
        let item = CompreFaceJSON.Verification.Item(sourceImageFace: options.json(sourceFace, sourceImage), faceMatches: matches,
                                                    pluginsVersions: options.versions)
        return try answer(CompreFaceJSON.Verification(result: [item]), request, context)
    }

    // MARK: Helpers



    func analysis(_ loaded: ServiceState.Loaded) -> PeerAnalysis.Analyzer {
        PeerAnalysis.Analyzer(finder: configuration.finder(loaded))
    }

    /// The image of a form field (multipart `file`, or base64 in a JSON `{"file": ...}`).
    func imageFile(_ field: String, of request: Request, _ context: NetraRequestContext) async throws -> [UInt8] {
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes, imageFields: [field])
        return try Self.file(field, of: form)
    }

    static func file(_ field: String, of form: RequestForm) throws -> [UInt8] {
        guard form.files[field] != nil else { throw PeerError(.badRequest, code: 34, "Required part \(field) is missing") }
        return try form.image(field)
    }

    /// The stored example `imageID` of the collection, or CompreFace's 404 code 44.
    static func example(_ imageID: String, in directory: SubjectDirectory) throws -> FaceDescriptor {
        guard let faceID = Int64(imageID) else { throw PeerError(.notFound, code: 44, "Image \(imageID) not found") }
        do {
            return try directory.descriptor(ofFace: faceID)
        } catch .notFound {
            throw PeerError(.notFound, code: 44, "Image \(imageID) not found")
        } catch {
            throw APIError(identityError: error)
        }
    }

    func answer(_ value: some Encodable, status: HTTPResponse.Status = .ok, _ request: Request, _ context: NetraRequestContext) throws -> Response {
        try JSONResponse.make(value, status: status, noStore: true, for: request, context)
    }

    private func audit(_ store: any IdentityStore, matched: Bool) async throws {
        try await blocking { try store.recordEvent(action: "verify", result: matched ? "match" : "no match", detail: "compreface") }
    }
}

/// CompreFace's query options (peer-apis.md §1.1), checked as CompreFace checks them.
struct CompreFaceOptions: Sendable {
    var analysis = PeerAnalysis.Options()
    /// Subjects per face; -1 for all (NETRA gives at most `app.identify_max_top_k`).
    var predictionCount = 1
    var landmarks = false
    var embedding = false
    /// `status=true`: execution times and plugin versions.
    var status = false

    init(_ parameters: PeerParameters, exposeEmbeddings: Bool) throws {
        if let limit = try peerCall({ try parameters.integer("limit") }) {
            guard limit >= 0 else { throw PeerError(.badRequest, code: 26, "Limit should be equal or greater than 0; ") }
            analysis.limit = limit
        }
        if let threshold = try peerCall({ try parameters.number("det_prob_threshold") }) {
            guard (0...1).contains(threshold) else { throw PeerError(.badRequest, code: 26, "det_prob_threshold should be between 0 and 1") }
            analysis.minimumProbability = threshold
        }
        if let count = try peerCall({ try parameters.integer("prediction_count") }) {
            // CompreFace answers this one with HTTP 404 and code 400 (its exception handler's quirk).
            guard count >= 1 || count == -1 else {
                throw PeerError(.notFound, code: 400, "Prediction count should be any positive number or -1")
            }
            predictionCount = count
        }
        let plugins = parameters.list("face_plugins")
        landmarks = plugins.contains("landmarks")
        embedding = plugins.contains("calculator") && exposeEmbeddings
        status = try peerCall { try parameters.bool("status", default: false) }
        analysis.detectFaces = try peerCall { try parameters.bool("detect_faces", default: true) }
    }

    /// `plugins_versions`, present with `status=true` only.
    var versions: [String: String]? { status ? CompreFaceJSON.pluginsVersions : nil }

    /// One analysed face with the plugins asked for.
    func json(_ face: AnalyzedFace, _ analyzed: PeerAnalysis) -> CompreFaceJSON.Face {
        CompreFaceJSON.Face(box: CompreFaceJSON.Box(face.detection, in: analyzed.image),
                            landmarks: landmarks ? face.landmarks.map { [$0.x, $0.y] } : nil,
                            embedding: embedding ? face.descriptor.values : nil,
                            executionTime: status ? analyzed.executionTime : nil)
    }
}

/// A parameter refusal in CompreFace's terms (code 26, a validation constraint).
private func peerCall<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as APIError {
        throw PeerError(.badRequest, code: 26, error.message)
    }
}
