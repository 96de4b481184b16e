import Foundation
@testable import NetraStore
import NetraTestSupport
import Testing

@Suite("The float16 and bfloat16 scans return exactly the float32 scan's answer", .tags(.unit))
struct CompactScanTests {
    /// Seeded values in [-0.15, 0.15), the range of real descriptor values.
    struct SeededValues {
        var state: UInt64

        mutating func next() -> Float {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.3
        }

        mutating func vector(scale: Float = 1) -> [Float] { (0..<128).map { _ in next() * scale } }
    }

    /// The 16-bit scans under test.
    static let compactPrecisions: [ScanPrecision] = [.float16, .bfloat16]

    /// The compact answer (the index's own precision) equals the float32 answer: same subjects,
    /// faces, order and distances.
    @discardableResult
    static func expectSame(_ index: FaceIndex, _ query: [Float], topK: Int, maxDistance: Float = .infinity, threads: Int = 1,
                           sourceLocation: SourceLocation = #_sourceLocation) -> [IndexCandidate] {
        let exact = index.search(query, topK: topK, maxDistance: maxDistance, threads: threads, precision: .float32)
        let compact = index.search(query, topK: topK, maxDistance: maxDistance, threads: threads)
        #expect(compact == exact, sourceLocation: sourceLocation)
        return exact
    }

    /// The stored value of `value` in `precision`, and the value the scan reads back.
    static func roundTrip(_ value: Float, _ precision: ScanPrecision) -> (bits: UInt16, decoded: Float) {
        if precision == .float16 {
            let bits = CompactRows.encodeHalf(value)
            return (bits, SimilarityScan.decodedHalf(bits))
        }
        let bits = CompactRows.encodeBFloat16(value)
        return (bits, SimilarityScan.decodedBFloat16(bits))
    }

    @Test("the stored halves are Float16's own values over its normal range, and decode exactly", .offCooperativePool)
    func encoding() {
        for bits in UInt16.min...UInt16.max {
            let half = Float16(bitPattern: bits)
            guard half.isNormal else { continue }
            #expect(SimilarityScan.decodedHalf(bits) == Float(half))
            #expect(CompactRows.encodeHalf(Float(half)) == bits)
        }
        var values = SeededValues(state: 3)
        for _ in 0..<100_000 {
            let value = values.next() * Float(1 << Int(values.next() * 100 + 15))
            let expected = Float16(value)
            if expected.isNormal { #expect(CompactRows.encodeHalf(value) == expected.bitPattern) }
        }
        #expect(CompactRows.encodeHalf(0x1p-15) == 0)
        #expect(CompactRows.encodeHalf(-0x1p-20) == 0x8000)
        #expect(CompactRows.encodeHalf(70_000) == 0x7BFF)
        #expect(CompactRows.encodeHalf(-.infinity) == 0xFBFF)
        #expect(SimilarityScan.decodedHalf(0x8000) == 0)
    }

    @Test("the stored bfloat16s are each float32 rounded to nearest (ties to even) in 8 bits, and decode exactly", .offCooperativePool)
    func bfloat16Encoding() {
        for bits in UInt16.min...UInt16.max {
            let value = Float(bitPattern: UInt32(bits) << 16)
            guard !value.isNaN else {
                #expect(CompactRows.encodeBFloat16(value) == bits | 0x0040, "NaN stays (quiet) NaN")
                continue
            }
            #expect(SimilarityScan.decodedBFloat16(bits) == value)
            #expect(CompactRows.encodeBFloat16(value) == bits)
        }
        // Against rounding done by hand in Double: the nearer of the two neighbours, the even one on a tie.
        var values = SeededValues(state: 4)
        for number in 0..<200_000 {
            let random = values.next() * Float(1 << Int(values.next() * 100 + 15)) * 0x1p-20
            let value = number % 4 == 0 ? Float(bitPattern: random.bitPattern & 0xFFFF_8000 | 0x8000) : random
            let down = value.bitPattern & 0xFFFF_0000, up = down + 0x1_0000
            let below = abs(Double(value) - Double(Float(bitPattern: down)))
            let above = abs(Double(Float(bitPattern: up)) - Double(value))
            let nearest = below < above || below == above && down >> 16 & 1 == 0 ? down : up
            let stored = CompactRows.encodeBFloat16(value)
            #expect(stored == UInt16(nearest >> 16))
            let decoded = SimilarityScan.decodedBFloat16(stored)
            #expect(abs(decoded - value) <= 0x1p-8 * abs(value), "relative error at most 2⁻⁸")
        }
        #expect(CompactRows.encodeBFloat16(1 + 0x1p-8) == 0x3F80, "a tie goes to even (down)")
        #expect(CompactRows.encodeBFloat16(1 + 3 * 0x1p-8) == 0x3F82, "a tie goes to even (up)")
        #expect(CompactRows.encodeBFloat16(-.greatestFiniteMagnitude) == 0xFF80, "beyond the largest bfloat16: infinity")
        #expect(CompactRows.encodeBFloat16(.leastNonzeroMagnitude) == 0)
        #expect(CompactRows.encodeBFloat16(-0x1p-130) == 0x8008, "a subnormal float32 keeps its top bits")
        #expect(CompactRows.encodeBFloat16(-.nan) & 0x7FC0 == 0x7FC0)
        #expect(SimilarityScan.decodedBFloat16(0x8000) == 0)
    }

    @Test("every row's compact distance is within the slack of its float32 distance, and the slack is small", .offCooperativePool,
          arguments: compactPrecisions)
    func kernelWithinBound(precision: ScanPrecision) throws {
        var values = SeededValues(state: 11)
        let count = 3000
        var rows: [Float] = []
        for row in 0..<count { rows += values.vector(scale: row % 10 == 0 ? 4 : 1) }
        rows[5 * 128] = 1e-6
        rows[5 * 128 + 1] = 0x1p-15
        let halves = CompactRows(capacity: count, precision: precision)
        var norms = [Float](repeating: 0, count: count)
        rows.withUnsafeBufferPointer { rows in
            for row in 0..<count {
                halves.set(row: row, from: rows.baseAddress! + row * 128)
                norms[row] = (0..<128).reduce(0) { $0 + rows[row * 128 + $1] * rows[row * 128 + $1] }
            }
        }
        for round in 0..<6 {
            let query = values.vector(scale: round == 5 ? 3 : 1)
            let queryNorm = query.reduce(0) { $0 + $1 * $1 }
            let slack = try #require(halves.slack(queryNorm: queryNorm))
            // float16: e <= 2⁻¹¹ |x|; bfloat16: e <= 2⁻⁸ |x|, 8 times as much.
            #expect(slack < (precision == .float16 ? 0.02 : 0.16), "a useful bound")
            let prepared = try #require(halves.prepared(query))
            var exact = [Float](repeating: 0, count: count), approximate = exact
            SimilarityScan.squaredDistances(query: query, queryNorm: queryNorm, matrix: rows, norms: norms, rows: 0..<count, into: &exact)
            if precision == .float16 {
                SimilarityScan.approximateSquaredDistances(preparedQuery: prepared, queryNorm: queryNorm, halves: halves.base, norms: norms,
                                                           rows: 0..<count, into: &approximate)
            } else {
                SimilarityScan.approximateSquaredDistances(preparedQuery: prepared, queryNorm: queryNorm, bfloat16s: halves.base,
                                                           norms: norms, rows: 0..<count, into: &approximate)
            }
            var worst: Float = 0
            for row in 0..<count {
                worst = max(worst, abs(exact[row] - approximate[row]))
                // The kernel computes the dot product with the stored values, in float32.
                var dot: Double = 0
                var squaredError: Double = 0, squaredLength: Double = 0
                for index in 0..<128 {
                    let stored = halves.base[row * 128 + index], value = rows[row * 128 + index]
                    let decoded = precision == .float16 ? SimilarityScan.decodedHalf(stored) : SimilarityScan.decodedBFloat16(stored)
                    dot += Double(query[index]) * Double(decoded)
                    squaredError += (Double(value) - Double(decoded)) * (Double(value) - Double(decoded))
                    squaredLength += Double(value) * Double(value)
                }
                if precision == .bfloat16 { #expect(squaredError <= 0x1p-16 * squaredLength, "e <= 2⁻⁸ |x|") }
                let direct = Double(queryNorm) + Double(norms[row]) - 2 * dot
                #expect(abs(Double(approximate[row]) - direct) < 1e-4)
            }
            #expect(worst <= slack)
            #expect(worst > slack / 1000, "the bound is not vacuous: the compact copy does move the distances")
        }
        #expect(halves.prepared([Float](repeating: 0x1p15, count: 128)) == nil)
        #expect(halves.slack(queryNorm: .nan) == nil)
        #expect(halves.slack(queryNorm: 0x1p110) == nil, "no bound near float32's range")
    }

    @Test("on a million random rows with planted ties and near-ties, single and split between threads", .offCooperativePool,
          arguments: compactPrecisions)
    func millionRows(precision: ScanPrecision) throws {
        let count = 1_000_000
        var values = SeededValues(state: 2026)
        let matrix = UnsafeMutablePointer<Float>.allocate(capacity: count * 128)
        defer { matrix.deallocate() }
        for index in 0..<(count * 128) { matrix[index] = values.next() }
        var subjects = (0..<count).map { Int64($0 / 3) }
        // Around each anchor: exact duplicates (ties broken by subject id, and by face id within
        // one subject) and copies moved by less than the 16-bit copy can tell apart, at scattered rows.
        let anchors = (0..<4).map { _ in values.vector() }
        var planted = Set<Int64>()
        for (number, anchor) in anchors.enumerated() {
            for copy in 0..<24 {
                let row = (number * 24 + copy) * 40_009 % count
                for index in 0..<128 {
                    let jitter = copy < 8 ? 0 : values.next() * 1.5e-4
                    matrix[row * 128 + index] = anchor[index] + 0.02 + jitter
                }
                subjects[row] = copy % 8 == 1 ? 5_000_000 + Int64(number) : 6_000_000 + Int64(number * 24 + copy)
                planted.insert(Int64(row))
            }
        }
        let index = FaceIndex(capacity: count, precision: precision)
        index.add(faceIDs: (0..<count).map(Int64.init), subjectIDs: subjects, descriptors: matrix)
        // The rounding part of the bound alone (the planted rows' norms are near 1).
        let resolution = try #require(CompactRows(capacity: 1, precision: precision).slack(queryNorm: 1))

        for anchor in anchors {
            let exact = Self.expectSame(index, anchor, topK: 10)
            #expect(exact.count == 10)
            #expect(exact.allSatisfy { planted.contains($0.faceID) })
            let squared = exact.map { $0.distance * $0.distance }
            #expect(zip(squared, squared.dropFirst()).contains { $1 - $0 < resolution }, "the compact scan alone could not order them")
            Self.expectSame(index, anchor, topK: 10, threads: 2)
            Self.expectSame(index, anchor, topK: 3, maxDistance: exact[5].distance)
            #expect(index.search(anchor, topK: 10, threads: 2, precision: .float32) == exact)
        }
        for _ in 0..<3 {
            let query = values.vector()
            #expect(Self.expectSame(index, query, topK: 10).count == 10)
            Self.expectSame(index, query, topK: 10, threads: 2)
        }
    }

    @Test("after additions, removals, replacements and growth the 16-bit copy stays in step", .offCooperativePool, arguments: compactPrecisions)
    func followsChanges(precision: ScanPrecision) throws {
        var values = SeededValues(state: 77)
        let index = FaceIndex(capacity: 16, precision: precision)
        var held: [Int64: (subject: Int64, vector: [Float])] = [:]
        func add(_ face: Int64, _ subject: Int64, _ vector: [Float]) {
            index.add(faceID: face, subjectID: subject, descriptor: vector)
            held[face] = (subject, vector)
        }
        for face in Int64(0)..<12_000 { add(face, face % 2_500, values.vector()) }
        for face in stride(from: Int64(0), to: 12_000, by: 7) {
            #expect(index.remove(faceID: face))
            held[face] = nil
        }
        index.remove(subjectIDs: [3, 4, 5])
        held = held.filter { ![3, 4, 5].contains($0.value.subject) }
        var probes: [[Float]] = []
        for face in stride(from: Int64(1), to: 12_000, by: 501) where held[face] != nil {
            let vector = values.vector()
            add(face, held[face]!.subject, vector)
            probes.append(vector)
        }
        let bulk = (0..<5_000).map { _ in values.vector() }
        let bulkFaces = (Int64(20_000)..<25_000).map { $0 }
        bulk.flatMap { $0 }.withUnsafeBufferPointer {
            index.add(faceIDs: bulkFaces, subjectIDs: bulkFaces.map { $0 % 900 }, descriptors: $0.baseAddress!)
        }
        for (face, vector) in zip(bulkFaces, bulk) { held[face] = (face % 900, vector) }
        probes += stride(from: 0, to: 5_000, by: 997).map { bulk[$0] }
        #expect(index.count == held.count)

        // The same answer as an index built afresh, in float32, from the faces held.
        let fresh = FaceIndex(precision: .float32)
        for (face, row) in held.sorted(by: { $0.key < $1.key }) { fresh.add(faceID: face, subjectID: row.subject, descriptor: row.vector) }
        for probe in probes + (0..<4).map({ _ in values.vector() }) {
            let answer = Self.expectSame(index, probe, topK: 10)
            #expect(fresh.search(probe, topK: 10) == answer)
        }
        for probe in probes {
            #expect(index.search(probe, topK: 1).first?.distance ?? 1 < 1e-3, "a replaced or added row is found at its new place")
        }
        for face in held.keys { #expect(index.remove(faceID: face)) }
        #expect(index.count == 0)
        #expect(index.search(probes[0], topK: 5).isEmpty)
        add(1, 1, probes[0])
        #expect(Self.expectSame(index, probes[0], topK: 5).map(\.faceID) == [1])
    }

    @Test("topK 0, 1 and beyond the subjects, maxDistance at its edges, one subject with many faces", .offCooperativePool, arguments: compactPrecisions)
    func edges(precision: ScanPrecision) throws {
        var values = SeededValues(state: 5)
        let index = FaceIndex(capacity: 64, precision: precision)
        let crowd = values.vector()
        // Subject 7 has 6000 faces around one point; 40 other subjects have 30 faces each.
        for face in Int64(0)..<6_000 { index.add(faceID: face, subjectID: 7, descriptor: crowd.map { $0 + values.next() * 0.05 }) }
        for face in Int64(6_000)..<7_200 { index.add(faceID: face, subjectID: 100 + face % 40, descriptor: values.vector()) }
        index.add(faceID: 9_000, subjectID: 8, descriptor: crowd)
        index.add(faceID: 9_001, subjectID: 6, descriptor: crowd)
        index.add(faceID: 9_002, subjectID: 6, descriptor: crowd)

        let near = Self.expectSame(index, crowd, topK: 10)
        #expect(near.prefix(2).map(\.subjectID) == [6, 8], "a tie goes to the smaller subject id")
        #expect(near.first?.faceID == 9_001, "and within a subject to the smaller face id")
        #expect(near[2].subjectID == 7)
        #expect(Self.expectSame(index, crowd, topK: 0) == Self.expectSame(index, crowd, topK: 1))
        #expect(Self.expectSame(index, crowd, topK: 1).count == 1)
        let everyone = Self.expectSame(index, crowd, topK: 500)
        #expect(everyone.count == 43)
        #expect(Set(everyone.map(\.subjectID)).count == 43)
        for query in [crowd, values.vector(), values.vector()] {
            let all = Self.expectSame(index, query, topK: 60)
            let cut = all[20].distance
            let within = Self.expectSame(index, query, topK: 60, maxDistance: cut)
            #expect(within == Array(all.prefix(within.count)))
            #expect(within.count >= all.prefix { $0.distance < cut.nextDown }.count && within.allSatisfy { $0.distance <= cut })
            #expect(Self.expectSame(index, query, topK: 5, maxDistance: 0).isEmpty)
            Self.expectSame(index, query, topK: 5, maxDistance: -cut)
            Self.expectSame(index, query, topK: 5, maxDistance: .infinity)
            Self.expectSame(index, query, topK: 1, maxDistance: all[0].distance.nextUp)
        }
        // Out of the compact scan's reach, the float32 scan: a query it cannot take, a row not finite
        // or beyond float32's range once rounded.
        var loud = crowd
        loud[3] = 40_000
        #expect(Self.expectSame(index, loud, topK: 3).count == 3)
        let broken = FaceIndex(precision: precision)
        broken.add(faceID: 1, subjectID: 1, descriptor: crowd)
        broken.add(faceID: 2, subjectID: 2, descriptor: [Float](repeating: .nan, count: 128))
        #expect(Self.expectSame(broken, crowd, topK: 3).map(\.faceID) == [1])
        let huge = FaceIndex(precision: precision)
        huge.add(faceID: 1, subjectID: 1, descriptor: crowd)
        huge.add(faceID: 2, subjectID: 2, descriptor: crowd.map { $0 * 0x1p60 })
        #expect(Self.expectSame(huge, crowd, topK: 3).map(\.faceID) == [1, 2])
        // A 16-bit scan of an index without that copy is the float32 scan.
        let plain = FaceIndex(precision: .float32)
        plain.add(faceID: 1, subjectID: 1, descriptor: crowd)
        for other in Self.compactPrecisions {
            #expect(plain.search(crowd, topK: 3, precision: other) == plain.search(crowd, topK: 3, precision: .float32))
        }
        let otherPrecision: ScanPrecision = precision == .float16 ? .bfloat16 : .float16
        #expect(index.search(crowd, topK: 3, precision: otherPrecision) == Array(near.prefix(3)))
        #expect(plain.precision == .float32 && index.precision == precision)
    }
}
