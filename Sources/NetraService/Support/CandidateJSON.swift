import NetraStore

/// A subject found by 1:N search, as NETRA prints it in the API and on the command line.
public struct CandidateJSON: Encodable, Sendable {
    public let subjectId: Int64
    public let name: String
    public let similarityScore: Float
    public let distance: Float

    /// The candidate with its subject's name looked up in `store`.
    public init(_ candidate: IndexCandidate, store: FaceStore) throws(StoreError) {
        subjectId = candidate.subjectID
        name = try store.subject(id: candidate.subjectID)?.name ?? ""
        similarityScore = candidate.similarity
        distance = candidate.distance
    }
}
