import Foundation

/// The in-memory 1:N index of a whole store: one `FaceIndex` per collection, so a search reads
/// only the rows of the collection it is asked about (a search in one collection of ten costs
/// a tenth of a search over all of them) and can never return another collection's faces.
///
/// The collection of each face is remembered beside it, so a face or subject is removed
/// without its caller naming the collection.
public final class FaceGallery: @unchecked Sendable {
    private var indexes: [Int64: FaceIndex] = [:]
    private var collectionOfFace: [Int64: Int64] = [:]
    private let lock = NSLock()

    public init() {}

    /// Faces held, over every collection.
    public var count: Int { lock.withLock { collectionOfFace.count } }

    /// Faces held in one collection.
    public func count(in collectionID: Int64) -> Int { index(collectionID)?.count ?? 0 }

    /// Adds (or replaces) one face of a subject of `collectionID`.
    public func add(faceID: Int64, subjectID: Int64, collectionID: Int64, descriptor: [Float]) {
        let target = lock.withLock { () -> FaceIndex in
            if let previous = collectionOfFace[faceID], previous != collectionID { indexes[previous]?.remove(faceID: faceID) }
            collectionOfFace[faceID] = collectionID
            return indexOrNew(collectionID)
        }
        target.add(faceID: faceID, subjectID: subjectID, descriptor: descriptor)
    }

    /// Adds `faceIDs.count` faces of one collection at once (start-up); `descriptors` holds
    /// their 128 values each, row after row.
    public func add(faceIDs: [Int64], subjectIDs: [Int64], collectionID: Int64, descriptors: UnsafePointer<Float>) {
        let target = lock.withLock { () -> FaceIndex in
            for faceID in faceIDs { collectionOfFace[faceID] = collectionID }
            return indexOrNew(collectionID)
        }
        target.add(faceIDs: faceIDs, subjectIDs: subjectIDs, descriptors: descriptors)
    }

    /// Removes one face; returns whether it was there.
    @discardableResult
    public func remove(faceID: Int64) -> Bool {
        let held = lock.withLock { collectionOfFace.removeValue(forKey: faceID).flatMap { indexes[$0] } }
        return held?.remove(faceID: faceID) ?? false
    }

    /// Removes every face of a subject of `collectionID`.
    public func remove(subjectID: Int64, in collectionID: Int64) {
        guard let held = index(collectionID) else { return }
        let faces = held.faceIDs(ofSubject: subjectID)
        held.remove(subjectID: subjectID)
        lock.withLock { for faceID in faces { collectionOfFace[faceID] = nil } }
    }

    /// Drops a whole collection.
    public func remove(collectionID: Int64) {
        lock.withLock {
            indexes[collectionID] = nil
            collectionOfFace = collectionOfFace.filter { $0.value != collectionID }
        }
    }

    /// The stored descriptor of a face, whatever its collection.
    public func descriptor(faceID: Int64) -> [Float]? {
        let held = lock.withLock { collectionOfFace[faceID].flatMap { indexes[$0] } }
        return held?.descriptor(faceID: faceID)
    }

    /// The collection a face is held in.
    public func collection(ofFace faceID: Int64) -> Int64? {
        lock.withLock { collectionOfFace[faceID] }
    }

    /// The face ids held for a subject of `collectionID`.
    public func faceIDs(ofSubject subjectID: Int64, in collectionID: Int64) -> [Int64] {
        index(collectionID)?.faceIDs(ofSubject: subjectID) ?? []
    }

    /// `FaceIndex.search` over the faces of one collection only.
    public func search(_ query: [Float], in collectionID: Int64, topK: Int, maxDistance: Float = .infinity,
                       threads: Int = 1) -> [IndexCandidate] {
        index(collectionID)?.search(query, topK: topK, maxDistance: maxDistance, threads: threads) ?? []
    }

    /// `FaceIndex.search(batch:)` over the faces of one collection only.
    public func search(batch queries: [[Float]], in collectionID: Int64, topK: Int, maxDistance: Float = .infinity) -> [[IndexCandidate]] {
        index(collectionID)?.search(batch: queries, topK: topK, maxDistance: maxDistance) ?? queries.map { _ in [] }
    }

    /// The index of one collection (benchmarks read it directly).
    public func index(_ collectionID: Int64) -> FaceIndex? {
        lock.withLock { indexes[collectionID] }
    }

    private func indexOrNew(_ collectionID: Int64) -> FaceIndex {
        if let existing = indexes[collectionID] { return existing }
        let created = FaceIndex()
        indexes[collectionID] = created
        return created
    }
}
