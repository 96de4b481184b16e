import Foundation
import Hummingbird
import NetraIdentity

/// What the service runs with, for the console's overview and for operators: the model, the
/// detector, the threshold and where it came from, the counts, the liveness settings.
struct InfoController: Sendable {
    let state: ServiceState
    let configuration: ServiceConfiguration
    let challenges: LivenessChallenges

    func addRoutes(to group: RouterGroup<NetraRequestContext>) {
        group.get("info", use: info)
    }

    struct LivenessJSON: Encodable {
        let requiredForEnroll: Bool
        let requiredForVerify: Bool
        let challengeSeconds: Int
        let turnYaw: Double

        enum CodingKeys: String, CodingKey {
            case requiredForEnroll = "required_for_enroll", requiredForVerify = "required_for_verify"
            case challengeSeconds = "challenge_seconds", turnYaw = "turn_yaw"
        }
    }

    struct InfoJSON: Encodable {
        let modelVersion: String
        let threshold: Float
        let thresholdSource: String
        let detector: String
        let subjectCount: Int
        let faceCount: Int
        let liveness: LivenessJSON

        enum CodingKeys: String, CodingKey {
            case threshold, liveness, detector
            case modelVersion = "model_version", thresholdSource = "threshold_source"
            case subjectCount = "subject_count", faceCount = "face_count"
        }
    }

    /// The counts are those of the caller's collection when its key is bound to one.
    func info(_ request: Request, _ context: NetraRequestContext) async throws -> Response {
        let store = try state.ready().store
        let bound = context.apiKey?.collectionID
        let (subjects, faces) = try await blocking {
            guard let bound else { return (try store.subjectCount(), try store.faceCount()) }
            let collection = try store.collection(id: bound, counted: true)
            return (collection?.subjectCount ?? 0, collection?.faceCount ?? 0)
        }
        let liveness = configuration.liveness
        let json = InfoJSON(modelVersion: configuration.modelVersion, threshold: configuration.threshold,
                            thresholdSource: configuration.thresholdSource, detector: configuration.detector, subjectCount: subjects, faceCount: faces,
                            liveness: LivenessJSON(requiredForEnroll: liveness.requiredForEnroll, requiredForVerify: liveness.requiredForVerify,
                                                   challengeSeconds: Int(challenges.policy.challengeLifetime),
                                                   turnYaw: challenges.policy.turnYaw))
        return try JSONResponse.make(json, noStore: true, for: request, context)
    }
}
