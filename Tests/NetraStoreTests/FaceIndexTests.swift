import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

@Suite("The in-memory 1:N index", .tags(.unit))
struct FaceIndexTests {
    /// Brute force: every subject's best face by Euclidean distance, computed directly.
    static func bruteForce(_ rows: [(face: Int64, subject: Int64, vector: [Float])], query: [Float], topK: Int) -> [IndexCandidate] {
        var best: [Int64: (Int64, Float)] = [:]
        for row in rows {
            let distance = FaceDescriptor(values: row.vector).distance(to: FaceDescriptor(values: query))
            if best[row.subject].map({ distance < $0.1 }) ?? true { best[row.subject] = (row.face, distance) }
        }
        return best.map { IndexCandidate(subjectID: $0.key, faceID: $0.value.0, distance: $0.value.1) }
            .sorted { $0.distance < $1.distance }.prefix(topK).map { $0 }
    }

    @Test("top-k per subject equals brute force, single and batched, after adds and removals", .offCooperativePool)
    func matchesBruteForce() {
        var generator = VectorGenerator(state: 42)
        let index = FaceIndex(capacity: 16)
        var rows: [(face: Int64, subject: Int64, vector: [Float])] = []
        for face in 0..<3000 {
            let vector = generator.descriptor().values
            rows.append((Int64(face), Int64(face % 700), vector))
            index.add(faceID: Int64(face), subjectID: Int64(face % 700), descriptor: vector)
        }
        for face in stride(from: 0, to: 3000, by: 7) {
            #expect(index.remove(faceID: Int64(face)))
        }
        rows.removeAll { $0.face % 7 == 0 }
        index.remove(subjectID: 5)
        rows.removeAll { $0.subject == 5 }
        #expect(index.count == rows.count)

        let queries = (0..<20).map { _ in generator.descriptor().values }
        let batched = index.search(batch: queries, topK: 10)
        for (query, batch) in zip(queries, batched) {
            let expected = Self.bruteForce(rows, query: query, topK: 10)
            let single = index.search(query, topK: 10)
            #expect(single.map(\.subjectID) == expected.map(\.subjectID))
            #expect(single.map(\.faceID) == expected.map(\.faceID))
            #expect(zip(single, expected).allSatisfy { abs($0.distance - $1.distance) < 1e-4 })
            #expect(batch.map(\.subjectID) == expected.map(\.subjectID))
        }
    }

    @Test("maxDistance keeps only close subjects; removed faces are never returned", .offCooperativePool)
    func limitsAndRemoval() {
        let index = FaceIndex()
        let base = [Float](repeating: 0.05, count: 128)
        index.add(faceID: 1, subjectID: 10, descriptor: base)
        var near = base
        near[0] += 0.3
        index.add(faceID: 2, subjectID: 20, descriptor: near)
        var far = base
        far[0] += 2
        index.add(faceID: 3, subjectID: 30, descriptor: far)
        #expect(index.search(base, topK: 5, maxDistance: 0.6).map(\.subjectID) == [10, 20])
        index.remove(faceID: 1)
        #expect(index.search(base, topK: 5).map(\.faceID) == [2, 3])
        #expect(index.descriptor(faceID: 2) == near)
        #expect(index.descriptor(faceID: 1) == nil)
    }

    @Test("searches running during additions and removals see consistent results", .offCooperativePool)
    func concurrentSearches() async {
        let index = FaceIndex()
        var generator = VectorGenerator(state: 7)
        let stable = (0..<50).map { _ in generator.descriptor().values }
        for (offset, vector) in stable.enumerated() {
            index.add(faceID: Int64(offset), subjectID: Int64(offset), descriptor: vector)
        }
        let churn = (0..<2000).map { _ in generator.descriptor().values }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for (offset, vector) in churn.enumerated() {
                    let face = Int64(1000 + offset)
                    index.add(faceID: face, subjectID: 1000 + face % 37, descriptor: vector)
                    if offset % 3 == 0 { index.remove(faceID: face) }
                }
                return true
            }
            for reader in 0..<3 {
                group.addTask {
                    for round in 0..<200 {
                        let target = (reader * 200 + round) % stable.count
                        let result = index.search(stable[target], topK: 5)
                        guard result.first?.subjectID == Int64(target), result.first?.distance ?? 1 < 1e-3,
                              zip(result, result.dropFirst()).allSatisfy({ $0.distance <= $1.distance })
                        else { return false }
                    }
                    return true
                }
            }
            for await consistent in group { #expect(consistent) }
        }
    }
}
