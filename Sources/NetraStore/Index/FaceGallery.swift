import Foundation

/// The in-memory 1:N index of a whole store: one `FaceIndex` per collection, so a search reads
/// only the rows of the collection it is asked about (a search in one collection of ten costs
/// a tenth of a search over all of them) and can never return another collection's faces.
///
/// Each index knows its own faces, so a face is found by asking the indexes (a handful of
/// hash lookups) instead of keeping a second map of every face's collection beside them.
public final class FaceGallery: @unchecked Sendable {
    private var indexes: [Int64: FaceIndex] = [:]
    private let lock = NSLock()

    public init() {}

    /// Faces held, over every collection.
    public var count: Int { allIndexes.reduce(0) { $0 + $1.count } }

    /// Faces held in one collection.
    public func count(in collectionID: Int64) -> Int { index(collectionID)?.count ?? 0 }

    /// Adds (or replaces) one face of a subject of `collectionID`.
    public func add(faceID: Int64, subjectID: Int64, collectionID: Int64, descriptor: [Float]) {
        indexOrNew(collectionID).add(faceID: faceID, subjectID: subjectID, descriptor: descriptor)
    }

    /// Adds `faceIDs.count` faces of one collection at once (start-up); `descriptors` holds
    /// their 128 values each, row after row.
    public func add(faceIDs: [Int64], subjectIDs: [Int64], collectionID: Int64, descriptors: UnsafePointer<Float>) {
        indexOrNew(collectionID).add(faceIDs: faceIDs, subjectIDs: subjectIDs, descriptors: descriptors)
    }

    /// Removes one face, whatever its collection; returns whether it was there.
    @discardableResult
    public func remove(faceID: Int64) -> Bool {
        allIndexes.contains { $0.remove(faceID: faceID) }
    }

    /// Removes every face of a subject of `collectionID`.
    public func remove(subjectID: Int64, in collectionID: Int64) {
        remove(subjectIDs: [subjectID], in: collectionID)
    }

    /// Removes every face of these subjects of `collectionID`, in one pass over its index.
    public func remove(subjectIDs: Set<Int64>, in collectionID: Int64) {
        index(collectionID)?.remove(subjectIDs: subjectIDs)
    }

    /// Drops a whole collection.
    public func remove(collectionID: Int64) {
        lock.withLock { indexes[collectionID] = nil }
    }

    /// The stored descriptor of a face, whatever its collection.
    public func descriptor(faceID: Int64) -> [Float]? {
        for index in allIndexes {
            if let descriptor = index.descriptor(faceID: faceID) { return descriptor }
        }
        return nil
    }

    /// The collection a face is held in.
    public func collection(ofFace faceID: Int64) -> Int64? {
        lock.withLock { indexes.first { $0.value.contains(faceID: faceID) }?.key }
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

    private var allIndexes: [FaceIndex] { lock.withLock { Array(indexes.values) } }

    private func index(_ collectionID: Int64) -> FaceIndex? {
        lock.withLock { indexes[collectionID] }
    }

    private func indexOrNew(_ collectionID: Int64) -> FaceIndex {
        lock.withLock {
            if let existing = indexes[collectionID] { return existing }
            let created = FaceIndex()
            indexes[collectionID] = created
            return created
        }
    }
}
