/// The best `k` subjects seen so far, each with its nearest face (exact per-subject top-k).
///
/// Ties are broken by id: of a subject's faces at the same distance, the smaller face id; of
/// subjects at the same distance, the smaller subject id. So the answer depends only on the
/// set of rows offered, never on their order or on how they were split: the parts of a search
/// split between threads, or a compact scan that re-ranks only the rows it cannot rule out,
/// give exactly the answer of one pass over every row.
struct SubjectTopK {
    struct Entry {
        let subjectID: Int64
        let faceID: Int64
        let squaredDistance: Float
    }

    let k: Int
    /// Squared distances at or beyond this never enter (`maxDistance²`).
    let limit: Float
    /// Rows farther than this cannot enter: the k-th best squared distance once `k` subjects
    /// are held, `limit` before. A row exactly at it may still enter on the ids, so callers skip
    /// only rows beyond it.
    private(set) var bound: Float
    private(set) var entries: [Entry] = []

    init(k: Int, limit: Float) {
        self.k = max(1, k)
        self.limit = limit
        bound = limit
    }

    /// Offers a row that may be among the best (callers skip rows beyond `bound`).
    mutating func offer(subjectID: Int64, faceID: Int64, squaredDistance: Float) {
        guard squaredDistance < limit, squaredDistance <= bound else { return }
        let offered = Entry(subjectID: subjectID, faceID: faceID, squaredDistance: squaredDistance)
        if let index = entries.firstIndex(where: { $0.subjectID == subjectID }) {
            let held = entries[index]
            guard squaredDistance < held.squaredDistance || (squaredDistance == held.squaredDistance && faceID < held.faceID)
            else { return }
            entries[index] = offered
        } else if entries.count < k {
            entries.append(offered)
        } else {
            let worst = worstIndex
            guard Self.precedes(offered, entries[worst]) else { return }
            entries[worst] = offered
        }
        if entries.count == k { bound = entries[worstIndex].squaredDistance }
    }

    /// The best `k` subjects of several partial results (each exact for its rows): exact overall.
    static func merged(_ parts: [SubjectTopK], k: Int) -> [IndexCandidate] {
        guard parts.count > 1 else { return parts.first?.sorted ?? [] }
        var combined = SubjectTopK(k: k, limit: .infinity)
        for part in parts {
            for entry in part.entries {
                combined.offer(subjectID: entry.subjectID, faceID: entry.faceID, squaredDistance: entry.squaredDistance)
            }
        }
        return combined.sorted
    }

    var sorted: [IndexCandidate] {
        entries.sorted(by: Self.precedes).map {
            IndexCandidate(subjectID: $0.subjectID, faceID: $0.faceID, distance: max(0, $0.squaredDistance).squareRoot())
        }
    }

    /// The order of subjects: nearer first, then the smaller subject id.
    private static func precedes(_ first: Entry, _ second: Entry) -> Bool {
        first.squaredDistance < second.squaredDistance
            || (first.squaredDistance == second.squaredDistance && first.subjectID < second.subjectID)
    }

    private var worstIndex: Int {
        var worst = 0
        for index in entries.indices.dropFirst() where Self.precedes(entries[worst], entries[index]) { worst = index }
        return worst
    }
}
