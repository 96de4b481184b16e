import NetraImaging
import NetraStore
import NetraVision

/// A subject found by 1:N search, as NETRA prints it in the API and on the command line.
public struct CandidateJSON: Encodable, Sendable {
    public let subjectId: Int64
    public let name: String
    public let similarityScore: Float
    public let distance: Float

    enum CodingKeys: String, CodingKey {
        case name, distance
        case subjectId = "subject_id", similarityScore = "similarity_score"
    }

    /// The candidate with its subject's name.
    public init(_ candidate: IndexCandidate, name: String) {
        subjectId = candidate.subjectID
        self.name = name
        similarityScore = candidate.similarity
        distance = candidate.distance
    }

    /// The candidate with its subject's name looked up in `store`.
    public init(_ candidate: IndexCandidate, store: any SubjectRepository) throws(StoreError) {
        subjectId = candidate.subjectID
        name = try store.subject(id: candidate.subjectID)?.name ?? ""
        similarityScore = candidate.similarity
        distance = candidate.distance
    }
}

/// One face of a 1:N identification with its best candidates, as the API and the command line print it.
public struct IdentifiedFaceJSON: Encodable, Sendable {
    public let id: Int
    public let bbox: [Int]
    public let confidence: Double
    public let candidates: [CandidateJSON]

    public init(id: Int, detection: FaceDetection, in image: RGBImage, candidates: [CandidateJSON]) {
        self.id = id
        bbox = ImageBox(detection.rect, in: image).corners
        confidence = detection.confidence
        self.candidates = candidates
    }
}
