import Foundation
import Hummingbird
import NetraImaging
import NetraStore
import NetraVision

/// verify, similarity, identify and detect: questions about faces in images.
struct RecognitionController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let workers: VisionWorkers
    var analysis: ImageAnalysis { ImageAnalysis(decoder: ImageDecoder(limits: configuration.decodingLimits)) }

    var handlers: [String: @Sendable (Request, NetraRequestContext) async throws -> Response] {
        [
            "POST /api/v1/verify": { try await verify($0, $1, similarityOnly: false) },
            "POST /api/v1/similarity": { try await verify($0, $1, similarityOnly: true) },
            "POST /api/v1/identify": identify,
            "POST /api/v1/detect": detect,
        ]
    }

    struct VerifyResponse: Encodable {
        let similarityScore: Float
        let isMatch: Bool
        let thresholdUsed: Float
        let distance: Float
        let faces: [String: [Int]]
        let timingsMs: [String: Double]
        let status = "success"
    }

    struct SimilarityResponse: Encodable {
        let similarityScore: Float
        let distance: Float
        let status = "success"
    }

    func verify(_ request: Request, _ context: NetraRequestContext, similarityOnly: Bool) async throws -> Response {
        let loaded = try state.ready()
        let form = try await RequestForm.read(request, limit: configuration.maxBodyBytes, imageFields: ["image1", "image2"])
        let threshold = try form.float("threshold", in: 0...1) ?? configuration.threshold
        let first = try form.image("image1"), second = try form.image("image2")
        let (analysis, options) = (analysis, configuration.detection)
        let start = ContinuousClock.now
        let result = try await workers.run { () throws -> (FaceComparison, [String: [Int]], [String: Double]) in
            var timings: [String: Double] = [:]
            var faces: [String: [Int]] = [:]
            var descriptors: [FaceDescriptor] = []
            for (field, bytes) in [("image1", first), ("image2", second)] {
                let decodeStart = ContinuousClock.now
                let image = try analysis.decode(bytes, field: field)
                timings["decode_\(field)"] = milliseconds(since: decodeStart)
                let analyseStart = ContinuousClock.now
                let face = try analysis.largestFace(image, field: field, analyzer: loaded.analyzer, options: options)
                timings["analyze_\(field)"] = milliseconds(since: analyseStart)
                faces[field] = FaceJSON.boundingBox(face.detection.rect, in: image)
                descriptors.append(face.descriptor)
            }
            return (FaceComparison(descriptors[0], descriptors[1], threshold: threshold), faces, timings)
        }
        var (comparison, faces, timings) = result
        timings["total"] = milliseconds(since: start)
        let store = loaded.store
        let actor = context.caller, matched = comparison.isMatch
        try? await blocking {
            try store.recordEvent(action: similarityOnly ? "similarity" : "verify", result: matched ? "match" : "no match", detail: actor)
        }
        if similarityOnly {
            return try JSONResponse.make(SimilarityResponse(similarityScore: comparison.similarity, distance: comparison.distance), noStore: true)
        }
        return try JSONResponse.make(VerifyResponse(similarityScore: comparison.similarity, isMatch: comparison.isMatch,
                                                    thresholdUsed: comparison.threshold, distance: comparison.distance,
                                                    faces: faces, timingsMs: timings), noStore: true)
    }

    struct IdentifyResponse: Encodable {
        let faceCount: Int
        let faces: [IdentifiedFaceJSON]
        let thresholdUsed: Float
        let status = "success"
    }

    func identify(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let form = try await RequestForm.read(request, limit: configuration.maxBodyBytes, imageFields: ["image"])
        let topK = try form.integer("top_k", in: 1...100) ?? configuration.identifyTopK
        let threshold = try form.float("threshold", in: 0...1) ?? configuration.threshold
        let bytes = try form.image("image")
        let (analysis, options) = (analysis, configuration.detection)
        let store = loaded.store
        let faces = try await workers.run { () throws -> [IdentifiedFaceJSON] in
            let image = try analysis.decode(bytes, field: "image")
            let analyzed = try analysis.allFaces(image, analyzer: loaded.analyzer, options: options)
            return try analyzed.enumerated().map { index, face in
                let hits = ServiceMetrics.searchDuration.measure {
                    store.index.search(face.descriptor.values, topK: topK, maxDistance: FaceDescriptor.distance(forSimilarity: threshold))
                }
                let candidates = try hits.map { hit throws(StoreError) in try CandidateJSON(hit, store: store) }
                return IdentifiedFaceJSON(id: index, detection: face.detection, in: image, candidates: candidates)
            }
        }
        let identified = faces.compactMap(\.candidates.first?.subjectId)
        let actor = context.caller
        try? await blocking {
            try store.recordEvent(action: "identify", subjectID: identified.first,
                                  result: "\(faces.count) faces, \(identified.count) identified", detail: actor)
        }
        return try JSONResponse.make(IdentifyResponse(faceCount: faces.count, faces: faces, thresholdUsed: threshold), noStore: true)
    }

    struct DetectResponse: Encodable {
        let faceCount: Int
        let faces: [FaceJSON]
        let width: Int
        let height: Int
        let status = "success"
    }

    func detect(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let loaded = try state.ready()
        let form = try await RequestForm.read(request, limit: configuration.maxBodyBytes, imageFields: ["image"])
        let upsample = try form.integer("upsample", in: 0...2) ?? configuration.detection.upsample
        let minFace = try form.integer("min_face", in: 1...10_000)
        let bytes = try form.image("image")
        let analysis = analysis
        let response = try await workers.run { () throws -> DetectResponse in
            let image = try analysis.decode(bytes, field: "image")
            let detections = try ServiceMetrics.detectDuration.measure {
                try loaded.analyzer.detectFaces(in: image, options: DetectionOptions(upsample: upsample, minFaceSize: minFace,
                                                                                     maxPixels: configuration.detection.maxPixels))
            }
            let faces = detections.enumerated().map { index, detection in
                FaceJSON(id: index, detection: detection, landmarks: loaded.analyzer.align(detection, in: image).landmarks, in: image)
            }
            return DetectResponse(faceCount: faces.count, faces: faces, width: image.width, height: image.height)
        }
        return try JSONResponse.make(response, noStore: true)
    }
}
