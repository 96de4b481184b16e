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
///
/// With `ScanPrecision.bfloat16` (the default: its scan was the faster of the two in
/// `netra bench index` on baseline x86-64) or `.float16` the index also holds a 16-bit copy
/// of every row in that format, kept in step (256 MB more per million faces, 768 MB in all), and
/// a single query reads that copy first, half the bytes, then re-ranks in float32 the rows it
/// cannot rule out: the answer is the float32 scan's, face for face and bit for bit.
/// `.float32` holds and reads the float32 matrix only.
public final class FaceIndex: @unchecked Sendable {
    public static let dimension = 128

    /// What a single-query search reads unless told otherwise.
    public let precision: ScanPrecision

    private var matrix: UnsafeMutablePointer<Float>
    private var capacity: Int
    private var squaredNorms: [Float] = []
    private var faceIDs: [Int64] = []
    private var subjectIDs: [Int64] = []
    private var rowOfFace: [Int64: Int] = [:]
    /// The float16 or bfloat16 copy of `matrix`, row for row; nil with `.float32`.
    private let compact: CompactRows?
    private var lock = pthread_rwlock_t()

    /// An empty index with room for `capacity` faces before it grows.
    public init(capacity: Int = 1024, precision: ScanPrecision = .bfloat16) {
        self.capacity = max(16, capacity)
        self.precision = precision
        matrix = .allocate(capacity: self.capacity * Self.dimension)
        compact = precision == .float32 ? nil : CompactRows(capacity: self.capacity, precision: precision)
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
            descriptor.withUnsafeBufferPointer { append($0.baseAddress!, faceID: faceID, subjectID: subjectID) }
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
                append(descriptors + offset * Self.dimension, faceID: faceID, subjectID: newSubjects[offset])
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
    /// only those within `maxDistance`. Exact: every row is compared, and equal distances go
    /// to the smaller subject id (a subject's face: the smaller face id). `threads` > 1 splits
    /// the rows between threads (for a single query on an idle machine; keep 1 under load).
    /// `precision` picks the scan (nil: the index's own); all give the same answer, and a
    /// 16-bit precision other than the one the index was built with scans in float32.
    public func search(_ query: [Float], topK: Int, maxDistance: Float = .infinity, threads: Int = 1,
                       precision: ScanPrecision? = nil) -> [IndexCandidate] {
        precondition(query.count == Self.dimension, "queries have 128 values")
        return reading {
            let rows = faceIDs.count
            let parts = max(1, min(threads, rows / 65_536))
            let queryNorm = query.reduce(0) { $0 + $1 * $1 }
            let compact = (precision ?? self.precision) == self.compact?.precision ? self.compact : nil
            let prepared = compact?.prepared(query)
            // With no finite bound (or a query the compact scan cannot take), the float32 scan.
            let slack = prepared == nil ? nil : compact?.slack(queryNorm: queryNorm)
            let partials = UnsafeMutablePointer<SubjectTopK>.allocate(capacity: parts)
            partials.initialize(repeating: SubjectTopK(k: topK, limit: maxDistance * maxDistance), count: parts)
            defer { partials.deinitialize(count: parts).deallocate() }
            query.withUnsafeBufferPointer { q in
                squaredNorms.withUnsafeBufferPointer { norms in
                    (prepared ?? query).withUnsafeBufferPointer { preparedQuery in
                        // Each part writes only its own slot of `partials`; the buffers are read-only here.
                        nonisolated(unsafe) let (queryPointer, normsPointer, preparedPointer, results) =
                            (q.baseAddress!, norms.baseAddress!, preparedQuery.baseAddress!, partials)
                        let scanPart: @Sendable (Int) -> Void = { part in
                            let range = (rows * part / parts)..<(rows * (part + 1) / parts)
                            if let slack,
                               self.scanCompact(range, query: queryPointer, preparedQuery: preparedPointer, slack: slack,
                                                queryNorm: queryNorm, norms: normsPointer, into: &results[part]) {
                                return
                            }
                            self.scan(range, query: queryPointer, queryNorm: queryNorm, norms: normsPointer, into: &results[part])
                        }
                        if parts == 1 { scanPart(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: scanPart) }
                    }
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
                for offset in 0..<rows.count where distances[offset] <= best.bound {
                    best.offer(subjectID: subjectIDs[start + offset], faceID: faceIDs[start + offset],
                               squaredDistance: distances[offset])
                }
            }
        }
    }

    /// `scan` through the 16-bit copy: offers to `best`, at their float32 distance, exactly the
    /// rows of `range` that could be in its answer, so `best` ends holding what `scan` would leave.
    ///
    /// Every row's float32 `d²` lies within `slack` of its compact `d̃²`. A first pass keeps, in
    /// `ceiling`, the best subjects by `d̃² + slack`: its bound is never below the k-th float32
    /// distance of the answer, so a row with `d̃² - slack` beyond it cannot be in the answer, and
    /// only the others are re-ranked. Returns false, having offered nothing, when so many rows
    /// stay in doubt that the re-rank would not pay (a `topK` or `maxDistance` that takes in much
    /// of the gallery): the caller scans them in float32.
    private func scanCompact(_ range: Range<Int>, query: UnsafePointer<Float>, preparedQuery: UnsafePointer<Float>,
                             slack: Float, queryNorm: Float, norms: UnsafePointer<Float>, into best: inout SubjectTopK) -> Bool {
        guard let compact else { return false }
        let isHalf = compact.precision == .float16
        let block = 4096, most = max(1024, range.count / 32)
        var ceiling = SubjectTopK(k: best.k, limit: best.limit)
        var doubtful: [Int] = [], lowest: [Float] = []
        let settled = withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { approximations -> Bool in
            for start in stride(from: range.lowerBound, to: range.upperBound, by: block) {
                let rows = start..<min(range.upperBound, start + block)
                if isHalf {
                    SimilarityScan.approximateSquaredDistances(preparedQuery: preparedQuery, queryNorm: queryNorm, halves: compact.base,
                                                               norms: norms, rows: rows, into: approximations.baseAddress!)
                } else {
                    SimilarityScan.approximateSquaredDistances(preparedQuery: preparedQuery, queryNorm: queryNorm, bfloat16s: compact.base,
                                                               norms: norms, rows: rows, into: approximations.baseAddress!)
                }
                for offset in 0..<rows.count where approximations[offset] - slack <= ceiling.bound {
                    let row = start + offset
                    doubtful.append(row)
                    lowest.append(approximations[offset] - slack)
                    ceiling.offer(subjectID: subjectIDs[row], faceID: faceIDs[row], squaredDistance: approximations[offset] + slack)
                }
                if doubtful.count > most { return false }
            }
            return true
        }
        guard settled else { return false }
        var exact: Float = 0
        for (row, lower) in zip(doubtful, lowest) where lower <= ceiling.bound {
            SimilarityScan.squaredDistances(query: query, queryNorm: queryNorm, matrix: matrix, norms: norms,
                                            rows: row..<(row + 1), into: &exact)
            if exact <= best.bound { best.offer(subjectID: subjectIDs[row], faceID: faceIDs[row], squaredDistance: exact) }
        }
        return true
    }

    /// `search` for many queries at once: dot products as one `sgemm` per block of rows, in
    /// float32 (a 16-bit copy would not make a compute-bound product faster).
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
                                    if squared <= bound {
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
    /// scan is measured against in `netra bench index`; the precision the index was built with
    /// reads its 16-bit copy instead (any other, the float32 matrix).
    public func sequentialPass(precision: ScanPrecision = .float32) -> Float {
        reading {
            var total = SIMD16<Float>()
            let (raw, bytes) = precision != .float32 && precision == compact?.precision
                ? (UnsafeRawPointer(compact!.base), faceIDs.count * Self.dimension * 2)
                : (UnsafeRawPointer(matrix), faceIDs.count * Self.dimension * 4)
            for offset in stride(from: 0, to: bytes, by: 64) {
                total += raw.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            }
            return total.sum()
        }
    }

    // MARK: Storage

    /// Appends one row (room for it is there).
    private func append(_ source: UnsafePointer<Float>, faceID: Int64, subjectID: Int64) {
        let row = faceIDs.count
        (matrix + row * Self.dimension).update(from: source, count: Self.dimension)
        var norm: Float = 0
        for index in 0..<Self.dimension { norm += source[index] * source[index] }
        squaredNorms.append(norm)
        compact?.set(row: row, from: source)
        faceIDs.append(faceID)
        subjectIDs.append(subjectID)
        rowOfFace[faceID] = row
    }

    private func removeRow(_ row: Int) {
        let last = faceIDs.count - 1
        rowOfFace[faceIDs[row]] = nil
        if row != last {
            (matrix + row * Self.dimension).update(from: matrix + last * Self.dimension, count: Self.dimension)
            compact?.move(from: last, to: row)
            squaredNorms[row] = squaredNorms[last]
            faceIDs[row] = faceIDs[last]
            subjectIDs[row] = subjectIDs[last]
            rowOfFace[faceIDs[row]] = row
        }
        squaredNorms.removeLast()
        faceIDs.removeLast()
        subjectIDs.removeLast()
        if faceIDs.isEmpty { compact?.reset() }
    }

    private func grow() {
        let larger = UnsafeMutablePointer<Float>.allocate(capacity: capacity * 2 * Self.dimension)
        larger.update(from: matrix, count: faceIDs.count * Self.dimension)
        matrix.deallocate()
        matrix = larger
        compact?.grow(to: capacity * 2, keeping: faceIDs.count)
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
