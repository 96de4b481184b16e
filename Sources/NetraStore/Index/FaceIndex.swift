import CBLAS
import Dispatch
import Foundation
import NetraDescriptor

/// A subject found by a 1:N search: its best-matching face.
public struct IndexCandidate: Sendable, Equatable {
    public let subjectID: Int64
    public let faceID: Int64
    /// Euclidean distance, the same measure `verify` uses.
    public let distance: Float

    public var similarity: Float { FaceDescriptor.similarity(forDistance: distance) }

    public init(subjectID: Int64, faceID: Int64, distance: Float) {
        self.subjectID = subjectID
        self.faceID = faceID
        self.distance = distance
    }
}

/// All enrolled embeddings of one model version in memory, for exact 1:N search.
///
/// Rows live in one contiguous Float32 matrix with each row's squared norm beside it, so a
/// search is one pass of dot products: `d² = |q|² + |x|² - 2 q·x`. Ranking by that Euclidean
/// distance makes one threshold mean the same in 1:N and 1:1. Adds append; removals move the
/// last row into the hole; both are O(1) amortised and seen by the next search. Searches run
/// concurrently with each other and are serialised against changes by a reader-writer lock.
public final class FaceIndex: @unchecked Sendable {
    public static let dimension = 128

    private var matrix: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var squaredNorms: [Float] = []
    private var faceIDs: [Int64] = []
    private var subjectIDs: [Int64] = []
    private var rowOfFace: [Int64: Int] = [:]
    private var lock = pthread_rwlock_t()

    public init(capacity: Int = 1024) {
        self.capacity = max(16, capacity)
        matrix = .allocate(capacity: self.capacity * Self.dimension)
        pthread_rwlock_init(&lock, nil)
    }

    deinit {
        matrix.deallocate()
        pthread_rwlock_destroy(&lock)
    }

    public var count: Int { reading { faceIDs.count } }

    /// Adds (or replaces) one face.
    public func add(faceID: Int64, subjectID: Int64, descriptor: [Float]) {
        precondition(descriptor.count == Self.dimension, "descriptors have 128 values")
        writing {
            if let row = rowOfFace[faceID] { removeRow(row) }
            if faceIDs.count == capacity { grow() }
            let row = faceIDs.count
            descriptor.withUnsafeBufferPointer { (matrix + row * Self.dimension).update(from: $0.baseAddress!, count: Self.dimension) }
            squaredNorms.append(descriptor.reduce(0) { $0 + $1 * $1 })
            faceIDs.append(faceID)
            subjectIDs.append(subjectID)
            rowOfFace[faceID] = row
        }
    }

    /// Adds `count` faces at once (start-up): `descriptors` holds their 128 values each, row after row.
    public func add(faceIDs newFaces: [Int64], subjectIDs newSubjects: [Int64], descriptors: UnsafePointer<Float>) {
        precondition(newFaces.count == newSubjects.count, "one subject per face")
        writing {
            while capacity < faceIDs.count + newFaces.count { grow() }
            rowOfFace.reserveCapacity(faceIDs.count + newFaces.count)
            for (offset, faceID) in newFaces.enumerated() {
                if let row = rowOfFace[faceID] { removeRow(row) }
                let row = faceIDs.count
                let source = descriptors + offset * Self.dimension
                (matrix + row * Self.dimension).update(from: source, count: Self.dimension)
                var norm: Float = 0
                for index in 0..<Self.dimension { norm += source[index] * source[index] }
                squaredNorms.append(norm)
                faceIDs.append(faceID)
                subjectIDs.append(newSubjects[offset])
                rowOfFace[faceID] = row
            }
        }
    }

    /// Removes one face; returns whether it was there.
    @discardableResult
    public func remove(faceID: Int64) -> Bool {
        writing {
            guard let row = rowOfFace[faceID] else { return false }
            removeRow(row)
            return true
        }
    }

    /// Removes every face of a subject.
    public func remove(subjectID: Int64) {
        remove(subjectIDs: [subjectID])
    }

    /// Removes every face of these subjects in one pass.
    public func remove(subjectIDs removed: Set<Int64>) {
        writing {
            var row = 0
            while row < subjectIDs.count {
                if removed.contains(subjectIDs[row]) { removeRow(row) } else { row += 1 }
            }
        }
    }

    /// Whether the face is held here.
    public func contains(faceID: Int64) -> Bool {
        reading { rowOfFace[faceID] != nil }
    }

    /// The stored descriptor of a face.
    public func descriptor(faceID: Int64) -> [Float]? {
        reading {
            guard let row = rowOfFace[faceID] else { return nil }
            return Array(UnsafeBufferPointer(start: matrix + row * Self.dimension, count: Self.dimension))
        }
    }

    /// The face ids held for a subject.
    public func faceIDs(ofSubject subjectID: Int64) -> [Int64] {
        reading { zip(faceIDs, subjectIDs).filter { $0.1 == subjectID }.map(\.0) }
    }

    /// The `topK` subjects whose best face is nearest to `query`, nearest first, optionally
    /// only those within `maxDistance`. Exact: every row is compared. `threads` > 1 splits the
    /// rows between threads (for a single query on an idle machine; keep 1 under load).
    public func search(_ query: [Float], topK: Int, maxDistance: Float = .infinity, threads: Int = 1) -> [IndexCandidate] {
        precondition(query.count == Self.dimension, "queries have 128 values")
        return reading {
            let rows = faceIDs.count
            let parts = max(1, min(threads, rows / 65_536))
            let queryNorm = query.reduce(0) { $0 + $1 * $1 }
            let partials = UnsafeMutablePointer<SubjectTopK>.allocate(capacity: parts)
            partials.initialize(repeating: SubjectTopK(k: topK, limit: maxDistance * maxDistance), count: parts)
            defer { partials.deinitialize(count: parts).deallocate() }
            query.withUnsafeBufferPointer { q in
                squaredNorms.withUnsafeBufferPointer { norms in
                    // Each part writes only its own slot of `partials`; the buffers are read-only here.
                    nonisolated(unsafe) let (queryPointer, normsPointer, results) = (q.baseAddress!, norms.baseAddress!, partials)
                    let scanPart: @Sendable (Int) -> Void = { part in
                        let range = (rows * part / parts)..<(rows * (part + 1) / parts)
                        self.scan(range, query: queryPointer, queryNorm: queryNorm, norms: normsPointer, into: &results[part])
                    }
                    if parts == 1 { scanPart(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: scanPart) }
                }
            }
            return SubjectTopK.merged(Array(UnsafeBufferPointer(start: partials, count: parts)), k: topK)
        }
    }

    /// Offers the rows of `range` to `best`, a block of distances at a time.
    private func scan(_ range: Range<Int>, query: UnsafePointer<Float>, queryNorm: Float, norms: UnsafePointer<Float>,
                      into best: inout SubjectTopK) {
        let block = 4096
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { distances in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                let rows = start..<min(range.upperBound, start + block)
                SimilarityScan.squaredDistances(query: query, queryNorm: queryNorm, matrix: matrix, norms: norms,
                                                rows: rows, into: distances.baseAddress!)
                for offset in 0..<rows.count where distances[offset] < best.bound {
                    best.offer(subjectID: subjectIDs[start + offset], faceID: faceIDs[start + offset],
                               squaredDistance: distances[offset])
                }
            }
        }
    }

    /// `search` for many queries at once: dot products as one `sgemm` per block of rows.
    public func search(batch queries: [[Float]], topK: Int, maxDistance: Float = .infinity) -> [[IndexCandidate]] {
        guard !queries.isEmpty else { return [] }
        return reading {
            let rows = faceIDs.count
            var best = queries.map { _ in SubjectTopK(k: topK, limit: maxDistance * maxDistance) }
            let packed = queries.flatMap { $0 }
            let queryNorms = queries.map { $0.reduce(0) { $0 + $1 * $1 } }
            let block = 8192
            var dots = [Float](repeating: 0, count: queries.count * block)
            packed.withUnsafeBufferPointer { q in
                squaredNorms.withUnsafeBufferPointer { norms in
                    dots.withUnsafeMutableBufferPointer { dots in
                        for start in stride(from: 0, to: rows, by: block) {
                            let length = min(block, rows - start)
                            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(queries.count), Int32(length),
                                        Int32(Self.dimension), 1, q.baseAddress, Int32(Self.dimension),
                                        matrix + start * Self.dimension, Int32(Self.dimension), 0, dots.baseAddress, Int32(block))
                            for query in queries.indices {
                                let queryDots = dots.baseAddress! + query * block
                                let queryNorm = queryNorms[query]
                                var bound = best[query].bound
                                for offset in 0..<length {
                                    let squared = queryNorm + norms[start + offset] - 2 * queryDots[offset]
                                    if squared < bound {
                                        best[query].offer(subjectID: subjectIDs[start + offset], faceID: faceIDs[start + offset],
                                                          squaredDistance: squared)
                                        bound = best[query].bound
                                    }
                                }
                            }
                        }
                    }
                }
            }
            return best.map(\.sorted)
        }
    }

    /// One sequential read of the whole matrix (a sum), the memory-bandwidth floor any exact
    /// scan is measured against in `netra bench index`.
    public func sequentialPass() -> Float {
        reading {
            var total = SIMD16<Float>()
            let raw = UnsafeRawPointer(matrix)
            for offset in stride(from: 0, to: faceIDs.count * Self.dimension * 4, by: 64) {
                total += raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            }
            return total.sum()
        }
    }

    // MARK: Storage

    private func removeRow(_ row: Int) {
        let last = faceIDs.count - 1
        rowOfFace[faceIDs[row]] = nil
        if row != last {
            (matrix + row * Self.dimension).update(from: matrix + last * Self.dimension, count: Self.dimension)
            squaredNorms[row] = squaredNorms[last]
            faceIDs[row] = faceIDs[last]
            subjectIDs[row] = subjectIDs[last]
            rowOfFace[faceIDs[row]] = row
        }
        squaredNorms.removeLast()
        faceIDs.removeLast()
        subjectIDs.removeLast()
    }

    private func grow() {
        let larger = UnsafeMutablePointer<Float>.allocate(capacity: capacity * 2 * Self.dimension)
        larger.update(from: matrix, count: faceIDs.count * Self.dimension)
        matrix.deallocate()
        matrix = larger
        capacity *= 2
    }

    private func reading<T>(_ body: () -> T) -> T {
        pthread_rwlock_rdlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return body()
    }

    private func writing<T>(_ body: () -> T) -> T {
        pthread_rwlock_wrlock(&lock)
        defer { pthread_rwlock_unlock(&lock) }
        return body()
    }
}

/// The best `k` subjects seen so far, each with its nearest face (exact per-subject top-k).
struct SubjectTopK {
    let k: Int
    /// Squared distances at or beyond this never enter.
    private(set) var bound: Float
    private(set) var entries: [(subjectID: Int64, faceID: Int64, squaredDistance: Float)] = []

    init(k: Int, limit: Float) {
        self.k = max(1, k)
        bound = limit
    }

    /// Offers a row that may be among the best (callers skip rows at or beyond `bound`).
    mutating func offer(subjectID: Int64, faceID: Int64, squaredDistance: Float) {
        guard squaredDistance < bound else { return }
        if let index = entries.firstIndex(where: { $0.subjectID == subjectID }) {
            if squaredDistance < entries[index].squaredDistance { entries[index] = (subjectID, faceID, squaredDistance) }
        } else if entries.count < k {
            entries.append((subjectID, faceID, squaredDistance))
        } else if let worst = entries.indices.max(by: { entries[$0].squaredDistance < entries[$1].squaredDistance }) {
            entries[worst] = (subjectID, faceID, squaredDistance)
        }
        if entries.count == k {
            bound = min(bound, entries.map(\.squaredDistance).max() ?? bound)
        }
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
        entries.sorted { $0.squaredDistance < $1.squaredDistance }.map {
            IndexCandidate(subjectID: $0.subjectID, faceID: $0.faceID, distance: max(0, $0.squaredDistance).squareRoot())
        }
    }
}
