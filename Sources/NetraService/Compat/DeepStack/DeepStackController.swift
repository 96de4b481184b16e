import Foundation
import Hummingbird
import NetraDescriptor
import NetraIdentity
import NetraImaging
import NetraStore
import NetraVision

/// The DeepStack / CodeProject.AI face API (`/v1/vision/face`), as Home Assistant's
/// deepstack-python, Double Take, Agent DVR and Blue Iris call it (docs/compatibility.md).
///
/// Every route is a `POST` whose form `DeepStackFormMiddleware` has already read (multipart
/// or urlencoded, files under any field names) into `NetraRequestContext.peerForm`; its
/// parameters may also come in the query string. Answers have DeepStack's shapes with
/// `"duration": 0` and a `Content-Length` (never chunked: Blue Iris fails on chunked answers);
/// refusals are `PeerError`s in DeepStack's words, rendered by `PeerErrorMiddleware`.
struct DeepStackController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    /// NETRA's distances in DeepStack's `confidence` and `similarity`.
    var scale: PeerScale { .deepStack(threshold: configuration.threshold) }

    /// DeepStack's `min_confidence` defaults (`server/server.go`).
    static let detectMinConfidence = 0.55
    static let recognizeMinConfidence = 0.67

    /// Detect, recognize and match need the `recognize` scope; register, list and delete `manage`.
    /// Each path answers with and without a trailing slash (the router ignores empty path components).
    func addRoutes(recognize: RouterGroup<NetraRequestContext>, manage: RouterGroup<NetraRequestContext>) {
        recognize.post("", use: detect)
        recognize.post("recognize", use: self.recognize)
        recognize.post("match", use: match)
        manage.post("register", use: register)
        manage.post("list", use: list)
        manage.post("delete", use: delete)
    }

    // MARK: Answers

    /// A face in an image: where it is and how sure the answer is. detect gives the detection
    /// probability and no `userid`; recognize gives the match confidence and always a `userid`
    /// (`unknown` when no one is named: Double Take lower-cases it, so it must be a string).
    struct Prediction: Encodable, Sendable {
        let confidence: Double
        var userid: String?
        let xMin: Int
        let yMin: Int
        let xMax: Int
        let yMax: Int

        enum CodingKeys: String, CodingKey {
            case confidence, userid
            case xMin = "x_min", yMin = "y_min", xMax = "x_max", yMax = "y_max"
        }

        init(confidence: Double, userid: String? = nil, box: ImageBox) {
            self.confidence = confidence
            self.userid = userid
            (xMin, yMin, xMax, yMax) = (box.left, box.top, box.right, box.bottom)
        }
    }

    /// Every successful answer: `{"success": true, ..., "duration": 0}` with the one field its
    /// route gives (predictions for detect and recognize, a message for register, faces for
    /// list, a similarity for match, none for delete); the others are left out, as DeepStack does.
    struct Answer: Encodable {
        let success = true
        var predictions: [Prediction]?
        var message: String?
        var faces: [String]?
        var similarity: Double?
        let duration = 0

        enum CodingKeys: String, CodingKey {
            case success, predictions, message, faces, similarity, duration
        }
    }

    // MARK: Routes

    /// `POST /v1/vision/face`: every face whose detection probability reaches `min_confidence`
    /// (default 0.55); none is an empty list, not an error.
    func detect(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let input = Input(request, context)
        let image = try input.image()
        let minConfidence = try input.minConfidence(default: Self.detectMinConfidence)
        let (decoder, finder) = (configuration.imageDecoder, configuration.finder(loaded))
        let predictions = try await workers.run { () throws -> [Prediction] in
            let decoded = try decoder.decode(image.bytes, field: image.field)
            let detections = try identityCall { () throws(IdentityError) in try finder.detections(in: decoded) }
            return detections.compactMap { detection in
                let probability = PeerScale.detectionProbability(confidence: detection.confidence)
                return probability >= minConfidence ? Prediction(confidence: probability, box: ImageBox(detection.rect, in: decoded)) : nil
            }
        }
        return try answer(Answer(predictions: predictions), request, context)
    }

    /// `POST /v1/vision/face/recognize`: one prediction per face, named after the nearest subject
    /// of the caller's collection within `maxDistance(minConfidence:)` (subjects given one-to-one
    /// across the faces), else `unknown` with confidence 0.
    func recognize(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let input = Input(request, context)
        let image = try input.image()
        let minConfidence = try input.minConfidence(default: Self.recognizeMinConfidence)
        let collection = try await input.collection(in: loaded.store)
        let identifier = Identifier(finder: configuration.finder(loaded), store: loaded.store, collectionID: collection.id)
        let strict = collection.strictUnknown ?? configuration.compat.strictUnknown
        let (decoder, scale, maxDistance) = (configuration.imageDecoder, scale, maxDistance(minConfidence: minConfidence, strict: strict))
        let (predictions, identified) = try await workers.run { () throws -> ([Prediction], [Int64]) in
            let decoded = try decoder.decode(image.bytes, field: image.field)
            let faces = try identityCall { () throws(IdentityError) in
                try identifier.candidates(for: try identifier.finder.faces(in: decoded), topK: 1, maxDistance: maxDistance)
            }
            let predictions = faces.map { face, candidates in
                let box = ImageBox(face.detection.rect, in: decoded)
                guard let best = candidates.first else { return Prediction(confidence: 0, userid: "unknown", box: box) }
                return Prediction(confidence: scale.score(distance: best.candidate.distance), userid: best.name, box: box)
            }
            return (predictions, faces.compactMap { $0.candidates.first?.candidate.subjectID })
        }
        try? await blocking { try identifier.audit(faceCount: predictions.count, identified: identified) }
        return try answer(Answer(predictions: predictions), request, context)
    }

    /// `POST /v1/vision/face/register`: every uploaded image (by field name) becomes one more face
    /// of the subject named `userid`, created on first use, under NETRA's enrollment rules (the
    /// largest face of an image). DeepStack replaced a userid's face with the mean of the
    /// request's images; NETRA appends, so one-image-per-request training (Double Take) keeps
    /// every image. Succeeds when at least one image was enrolled.
    func register(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let input = Input(request, context)
        let userid = try input.userid()
        // Recognize answers `unknown` for no one: a person of that name would look like no match.
        guard userid.lowercased() != "unknown" else { throw PeerError(.badRequest, "userid 'unknown' is reserved for faces no one matches") }
        let images = input.images
        guard !images.isEmpty else { throw PeerError(.badRequest, "No valid image file found") }
        let collection = try await input.collection(in: loaded.store)
        let directory = SubjectDirectory(store: loaded.store, collectionID: collection.id)
        let enroller = Enroller(finder: configuration.finder(loaded), store: loaded.store, policy: configuration.enrollment, collectionID: collection.id)
        let decoder = configuration.imageDecoder
        let registration = try await workers.run { () throws -> Registration in
            var registration = Registration()
            registration.existed = try identityCall { () throws(IdentityError) in try directory.find(.named(userid)) != nil }
            for image in images {
                let decoded: RGBImage
                do {
                    decoded = try decoder.decode(image.bytes, field: image.field)
                } catch let error as APIError {
                    registration.refusals.append(.undecodable(error))
                    continue
                }
                // The rules' refusals are noted; the models' and the store's failures end the request.
                try identityCall { () throws(IdentityError) in
                    do throws(IdentityError) {
                        _ = try enroller.enroll(decoded, subject: .named(userid), largestFace: true)
                        registration.enrolled += 1
                    } catch let .enrollmentRejected(rejection) {
                        registration.refusals.append(.rejected(rejection))
                    }
                }
            }
            return registration
        }
        guard registration.enrolled > 0 else { throw registration.failure }
        return try answer(Answer(message: registration.existed ? "face updated" : "face added"), request, context)
    }

    /// What a registration did with its images.
    private struct Registration: Sendable {
        /// Why an image was not enrolled.
        enum Refusal: Sendable {
            case undecodable(APIError)
            case rejected(EnrollmentError)
        }

        /// Whether the userid named a subject before the request.
        var existed = false
        var enrolled = 0
        var refusals: [Refusal] = []

        /// The answer when no image was enrolled: DeepStack's `no face detected` when none
        /// showed a face, else the first other refusal (a rejection as 400 with its reason, an
        /// undecodable image as NETRA's image error).
        var failure: any Error {
            let informative = refusals.first { refusal in
                if case .rejected(.noFace) = refusal { return false }
                return true
            }
            switch informative {
            case nil: return PeerError(.badRequest, "no face detected")
            case let .undecodable(error): return error
            case let .rejected(rejection): return PeerError(.badRequest, rejection.description)
            }
        }
    }

    /// `POST /v1/vision/face/list`: the names of the collection's subjects, each once.
    func list(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        let directory = SubjectDirectory(store: store, collectionID: try await Input(request, context).collection(in: store).id)
        let names = try await blocking {
            var seen = Set<String>()
            return try identityCall { () throws(IdentityError) in try directory.all() }.map(\.name).filter { seen.insert($0).inserted }
        }
        return try answer(Answer(faces: names), request, context)
    }

    /// `POST /v1/vision/face/delete`: deletes every subject of the collection named `userid`,
    /// with its faces; a userid no subject has is a success too, as in DeepStack.
    func delete(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        let input = Input(request, context)
        let userid = try input.userid()
        let directory = SubjectDirectory(store: store, collectionID: try await input.collection(in: store).id)
        try await blocking {
            try identityCall { () throws(IdentityError) in try directory.delete(try directory.subjects(named: userid)) }
        }
        return try answer(Answer(), request, context)
    }

    /// `POST /v1/vision/face/match`: the similarity of the largest faces of exactly two images
    /// (by field name), audited like NETRA's verify.
    func match(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let images = Input(request, context).images
        switch images.count {
        case 0: throw PeerError(.badRequest, "No valid image file found")
        case 1: throw PeerError(.badRequest, "expected two image files, only one found")
        case 2: break
        default: throw PeerError(.badRequest, "only two images allowed")
        }
        let (decoder, verifier) = (configuration.imageDecoder, FaceVerifier(finder: configuration.finder(loaded), threshold: configuration.threshold))
        // Each image on its own worker slot when two are free; the first image's error wins.
        let side = { @Sendable (image: (field: String, bytes: [UInt8])) throws -> FaceVerifier.Side in
            let input = FaceVerifier.Input(source: image.field, image: try decoder.decode(image.bytes, field: image.field))
            let side = try identityCall { () throws(IdentityError) -> FaceVerifier.Side? in
                do throws(IdentityError) { return try verifier.side(input, choice: .largest) } catch .noFace { return nil }
            }
            guard let side else { throw PeerError(.badRequest, "no face found") }
            return side
        }
        let (first, second) = (images[0], images[1])
        let sides = try await workers.run({ try side(first) }, alongside: { try side(second) })
        let comparison = verifier.compare(sides.0, sides.1).comparison
        let (store, matched) = (loaded.store, comparison.isMatch)
        try? await blocking { try store.recordEvent(action: "match", result: matched ? "match" : "no match") }
        return try answer(Answer(similarity: scale.score(distance: comparison.distance)), request, context)
    }

    // MARK: Helpers

    /// The farthest subject recognize may name: the client's `min_confidence` as a distance and,
    /// when `strict` (the collection's strict unknown, else `compat.strict_unknown`), never beyond
    /// NETRA's own threshold (Home Assistant sends 0.45, which would otherwise name strangers).
    func maxDistance(minConfidence: Double, strict: Bool) -> Float {
        let requested = scale.distance(score: minConfidence)
        return strict ? min(requested, scale.thresholdDistance) : requested
    }


    /// A JSON answer with a `Content-Length`, not to be cached (it is about faces).
    private func answer(_ value: some Encodable, _ request: Request, _ context: NetraRequestContext) throws -> Response {
        try JSONResponse.make(value, noStore: true, for: request, context)
    }

    /// What a request sent: its form (read by `DeepStackFormMiddleware`) and its parameters,
    /// form fields and query merged, read in DeepStack's terms.
    private struct Input {
        let form: RequestForm
        let parameters: PeerParameters
        let context: NetraRequestContext

        init(_ request: Request, _ context: NetraRequestContext) {
            form = context.peerForm ?? RequestForm()
            parameters = PeerParameters(request, fields: form.fields)
            self.context = context
        }

        /// The uploaded images in field-name order; an empty part is no image.
        var images: [(field: String, bytes: [UInt8])] {
            form.files.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { (field: $0.key, bytes: $0.value) }
        }

        /// The image detect and recognize read: the `image` field, else the first file (CodeProject
        /// takes files by index, whatever their names).
        func image() throws -> (field: String, bytes: [UInt8]) {
            let images = images
            guard let image = images.first(where: { $0.field == "image" }) ?? images.first else {
                throw PeerError(.badRequest, "No valid image file found")
            }
            return image
        }

        /// `min_confidence` in [.., 1], `defaultValue` when absent.
        func minConfidence(default defaultValue: Double) throws -> Double {
            guard let text = parameters.string("min_confidence") else { return defaultValue }
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
                throw PeerError(.badRequest, "Invalid value for min_confidence")
            }
            guard value <= 1 else { throw PeerError(.badRequest, "min_confidence cannot be greater than 1") }
            return value
        }

        /// The subject name register and delete need.
        func userid() throws -> String {
            guard let userid = parameters.string("userid") else { throw PeerError(.badRequest, "userid not specified") }
            return userid
        }

        /// The collection the request acts in: its key's, else the `collection` parameter's, else `default`.
        func collection(in store: any IdentityStore) async throws -> SubjectCollection {
            try await context.collection(named: parameters.string("collection"), in: store)
        }
    }
}
