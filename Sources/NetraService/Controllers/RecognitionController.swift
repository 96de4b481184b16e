import Foundation
import Hummingbird
import NetraIdentity
import NetraImaging
import NetraVision

/// verify, similarity, identify and detect: questions about faces in images.
struct RecognitionController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    let bodies: BodyReader
    let liveness: LivenessChallenges

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.post("verify") { try await verify($0, $1, similarityOnly: false) }
        group.post("similarity") { try await verify($0, $1, similarityOnly: true) }
        group.post("identify", use: identify)
        group.post("detect", use: detect)
    }

    struct VerifyResponse: Encodable {
        let similarityScore: Float
        let isMatch: Bool
        let thresholdUsed: Float
        let distance: Float
        let faces: [String: [Int]]
        let timingsMs: [String: Double]
        let status = "success"

        enum CodingKeys: String, CodingKey {
            case distance, faces, status
            case similarityScore = "similarity_score", isMatch = "is_match", thresholdUsed = "threshold_used", timingsMs = "timings_ms"
        }
    }

    struct SimilarityResponse: Encodable {
        let similarityScore: Float
        let distance: Float
        let status = "success"

        enum CodingKeys: String, CodingKey {
            case distance, status
            case similarityScore = "similarity_score"
        }
    }

    func verify(_ request: Request, _ context: NetraRequestContext, similarityOnly: Bool) async throws -> Response {
        let loaded = try state.ready()
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes, imageFields: ["image1", "image2"])
        let threshold = try form.float("threshold", in: 0...1) ?? configuration.threshold
        let choice = try form.faceChoice("face") ?? .largest
        let first = try form.image("image1"), second = try form.image("image2")
        let (decoder, verifier) = (configuration.imageDecoder, FaceVerifier(finder: configuration.finder(loaded), threshold: threshold))
        // The live person is the second image (the console's webcam side).
        let requirement = try context.livenessRequirement(form, required: configuration.liveness.requiredForVerify, challenges: liveness)
        let start = ContinuousClock.now
        // Each image is decoded and its face found on its own worker slot when two are free.
        let side = { @Sendable (field: String, bytes: [UInt8]) throws -> (decodeMilliseconds: Double, side: FaceVerifier.Side) in
            let decodeStart = ContinuousClock.now
            let input = FaceVerifier.Input(source: field, image: try decoder.decode(bytes, field: field))
            let decoded = decodeStart.millisecondsElapsed
            return (decoded, try identityCall { () throws(IdentityError) in try verifier.side(input, choice: choice) })
        }
        let (one, two) = try await workers.run({ try side("image1", first) }, alongside: { try side("image2", second) })
        do throws(LivenessError) {
            try requirement?.check(two.side.face.descriptor)
        } catch {
            throw APIError(livenessError: error)
        }
        let result = verifier.compare(one.side, two.side)
        var timings = ["decode_image1": one.decodeMilliseconds, "decode_image2": two.decodeMilliseconds,
                       "analyze_image1": result.analysisMilliseconds[0], "analyze_image2": result.analysisMilliseconds[1]]
        timings["total"] = start.millisecondsElapsed
        let comparison = result.comparison
        let store = loaded.store
        let matched = comparison.isMatch
        try? await blocking {
            try store.recordEvent(action: similarityOnly ? "similarity" : "verify", result: matched ? "match" : "no match")
        }
        if similarityOnly {
            return try JSONResponse.make(SimilarityResponse(similarityScore: comparison.similarity, distance: comparison.distance), noStore: true,
                                         for: request, context)
        }
        return try JSONResponse.make(VerifyResponse(similarityScore: comparison.similarity, isMatch: comparison.isMatch,
                                                    thresholdUsed: comparison.threshold, distance: comparison.distance,
                                                    faces: ["image1": result.boxes[0].corners, "image2": result.boxes[1].corners],
                                                    timingsMs: timings), noStore: true, for: request, context)
    }

    struct IdentifyResponse: Encodable {
        let faceCount: Int
        let faces: [IdentifiedFaceJSON]
        let thresholdUsed: Float
        let status = "success"

        enum CodingKeys: String, CodingKey {
            case faces, status
            case faceCount = "face_count", thresholdUsed = "threshold_used"
        }
    }

    func identify(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes, imageFields: ["image"])
        // A caller may narrow identify, never widen it: with threshold 0 and a large top_k any
        // recognize key could list every enrolled name.
        let topK = try form.integer("top_k", in: 1...configuration.identifyMaxTopK) ?? min(configuration.identifyTopK, configuration.identifyMaxTopK)
        let threshold = try form.float("threshold", in: configuration.threshold...1) ?? configuration.threshold
        let uniqueSubjects = try form.bool("unique_subjects", default: true)
        let collection = try await context.collection(named: form.string("collection") ?? request.uri.queryParameters.get("collection"),
                                                      in: loaded.store)
        let bytes = try form.image("image")
        let (decoder, identifier) = (configuration.imageDecoder, Identifier(finder: configuration.finder(loaded), store: loaded.store, collectionID: collection.id))
        let faces = try await workers.run { () throws -> [IdentifiedFaceJSON] in
            let image = try decoder.decode(bytes, field: "image")
            return try identityCall { () throws(IdentityError) in
                try identifier.identify(image, topK: topK, threshold: threshold, uniqueSubjects: uniqueSubjects)
            }
        }
        try? await blocking { try identifier.audit(faces) }
        return try JSONResponse.make(IdentifyResponse(faceCount: faces.count, faces: faces, thresholdUsed: threshold), noStore: true,
                                     for: request, context)
    }

    struct DetectResponse: Encodable {
        let faceCount: Int
        let faces: [FaceJSON]
        let width: Int
        let height: Int
        let status = "success"

        enum CodingKeys: String, CodingKey {
            case faces, width, height, status
            case faceCount = "face_count"
        }
    }

    func detect(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let form = try await RequestForm.read(request, from: context.caller, bodies: bodies, limit: configuration.maxBodyBytes, imageFields: ["image"])
        let upsample = try form.integer("upsample", in: 0...2) ?? configuration.detection.upsample
        let minFace = try form.integer("min_face", in: 1...10_000)
        let bytes = try form.image("image")
        var finder = configuration.finder(loaded)
        finder.detection.upsample = upsample
        finder.detection.minFaceSize = minFace
        let (decoder, detector) = (configuration.imageDecoder, finder)
        let response = try await workers.run { () throws -> DetectResponse in
            let image = try decoder.decode(bytes, field: "image")
            let faces = try identityCall { () throws(IdentityError) in try detector.detect(in: image) }
            return DetectResponse(faceCount: faces.count, faces: faces, width: image.width, height: image.height)
        }
        return try JSONResponse.make(response, noStore: true, for: request, context)
    }

}
