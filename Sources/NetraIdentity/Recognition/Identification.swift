import NetraDescriptor
import NetraImaging
import NetraStore
import NetraVision

/// 1:N identification: who are the people in an image? Only the subjects of one collection
/// are searched.
public struct Identifier: Sendable {
    public let finder: FaceFinder
    public let store: any IdentityStore
    /// The only collection searched.
    public let collectionID: Int64

    public init(finder: FaceFinder, store: any IdentityStore, collectionID: Int64) {
        self.finder = finder
        self.store = store
        self.collectionID = collectionID
    }

    /// Every face of `image` with its best candidates at or above `threshold`, at most `topK`.
    ///
    /// With `uniqueSubjects` (the default) a subject is given to at most one face of the image:
    /// face-subject pairs are taken best distance first, and a face whose best subject went to
    /// another face gets its next candidate, or none (`SubjectAssignment`). Otherwise each face
    /// is searched alone. Record the question with `audit` once it is answered.
    public func identify(_ image: RGBImage, topK: Int, threshold: Float, uniqueSubjects: Bool = true) throws(IdentityError) -> [IdentifiedFaceJSON] {
        let faces = try finder.faces(in: image)
        let candidates = try candidates(for: faces, topK: topK, maxDistance: FaceDescriptor.distance(forSimilarity: threshold),
                                        uniqueSubjects: uniqueSubjects)
        return zip(faces, candidates).enumerated().map { index, pair in
            IdentifiedFaceJSON(id: index, detection: pair.0.detection, in: image,
                               candidates: pair.1.candidates.map { CandidateJSON($0.candidate, name: $0.name) })
        }
    }

    /// A candidate with its subject's name.
    public struct NamedCandidate: Sendable {
        /// The subject, its best face and their distance.
        public let candidate: IndexCandidate
        /// The subject's name.
        public let name: String
    }

    /// The candidates of each face (the same order), nearest first, within `maxDistance`
    /// (Euclidean), at most `topK`, one-to-one across the faces when `uniqueSubjects`; for
    /// surfaces that present faces their own way (the compatible APIs).
    public func candidates(for faces: [AnalyzedFace], topK: Int, maxDistance: Float,
                           uniqueSubjects: Bool = true) throws(IdentityError) -> [(face: AnalyzedFace, candidates: [NamedCandidate])] {
        // With one subject per face, up to faces - 1 candidates of a face can go to the others.
        let searched = uniqueSubjects ? topK + max(0, faces.count - 1) : topK
        let hits = faces.map { face in
            IdentityMetrics.searchDuration.measure {
                store.index.search(face.descriptor.values, in: collectionID, topK: searched, maxDistance: maxDistance)
            }
        }
        let candidates = uniqueSubjects ? SubjectAssignment.oneToOne(hits, topK: topK) : hits
        let names = try storeCall { () throws(StoreError) in try store.subjectNames(ids: Set(candidates.joined().map(\.subjectID))) }
        // A subject deleted since the search is no longer anyone's answer.
        return zip(faces, candidates).map { face, list in
            (face, list.compactMap { candidate in names[candidate.subjectID].map { NamedCandidate(candidate: candidate, name: $0) } })
        }
    }

    /// Writes the audit entry of an identification, as the current `AuditActor` (durable, so
    /// callers run it off their vision workers).
    public func audit(_ faces: [IdentifiedFaceJSON]) throws(IdentityError) {
        try audit(faceCount: faces.count, identified: faces.compactMap(\.candidates.first?.subjectId))
    }

    /// Writes the audit entry of an identification of `faceCount` faces that named the
    /// subjects `identified`.
    public func audit(faceCount: Int, identified: [Int64]) throws(IdentityError) {
        try storeCall { () throws(StoreError) in
            try store.recordEvent(action: "identify", subjectID: identified.first,
                                  result: "\(faceCount) faces, \(identified.count) identified", detail: "collection \(collectionID)")
        }
    }
}

/// Gives each subject to at most one face of an image.
public enum SubjectAssignment {
    /// `candidates[f]` are face f's candidates, best first. Pairs are taken in order of
    /// distance (ties: lower face index, then lower subject id); a face keeps its assigned
    /// subject first, then the candidates no other face was given, at most `topK`. A face all
    /// of whose candidates went to other faces gets none.
    public static func oneToOne(_ candidates: [[IndexCandidate]], topK: Int) -> [[IndexCandidate]] {
        let pairs = candidates.enumerated().flatMap { face, list in list.map { (face: face, candidate: $0) } }
            .sorted { a, b in
                (a.candidate.distance, a.face, a.candidate.subjectID) < (b.candidate.distance, b.face, b.candidate.subjectID)
            }
        var assigned: [Int: IndexCandidate] = [:], taken = Set<Int64>()
        for pair in pairs where assigned[pair.face] == nil && !taken.contains(pair.candidate.subjectID) {
            assigned[pair.face] = pair.candidate
            taken.insert(pair.candidate.subjectID)
        }
        return candidates.indices.map { face in
            guard let mine = assigned[face] else { return [] }
            let others = candidates[face].filter { !taken.contains($0.subjectID) }
            return Array(([mine] + others).prefix(topK))
        }
    }
}
