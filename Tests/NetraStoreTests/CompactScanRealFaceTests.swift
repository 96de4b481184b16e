import Foundation
import NetraDescriptor
@testable import NetraStore
import NetraTestSupport
import Testing

@Suite("The float16 and bfloat16 scans return exactly the float32 scan's answer on real descriptors", .tags(.model))
struct CompactScanRealFaceTests {
    @Test("the public photos' descriptors, alone and among many near copies, every photo a query", .offCooperativePool,
          arguments: CompactScanTests.compactPrecisions)
    func publicPhotos(precision: ScanPrecision) throws {
        let faces = try PublicFaceDescriptors.faces.get()
        try #require(faces.count > 50)
        let identities = Array(Set(faces.map(\.identity))).sorted()
        let subjectOf = Dictionary(uniqueKeysWithValues: identities.enumerated().map { ($1, Int64($0)) })

        let alone = FaceIndex(capacity: 16, precision: precision)
        for (offset, face) in faces.enumerated() {
            alone.add(faceID: Int64(offset), subjectID: subjectOf[face.identity]!, descriptor: face.descriptor.values)
        }
        for (offset, face) in faces.enumerated() {
            let query = face.descriptor.values
            let found = CompactScanTests.expectSame(alone, query, topK: 5)
            #expect(found.first?.faceID == Int64(offset) && found.first?.distance ?? 1 < 0.01)
            CompactScanTests.expectSame(alone, query, topK: 1)
            #expect(CompactScanTests.expectSame(alone, query, topK: 50).count == identities.count)
            CompactScanTests.expectSame(alone, query, topK: 5, maxDistance: 0.6)  // dlib's distance threshold
            // Leave the photo out: the nearest is then another photo (or another person).
            alone.remove(faceID: Int64(offset))
            CompactScanTests.expectSame(alone, query, topK: 3, maxDistance: 0.6)
            alone.add(faceID: Int64(offset), subjectID: subjectOf[face.identity]!, descriptor: query)
        }

        // Each photo with 2000 near copies (as if each person had been enrolled many times), under
        // subjects of their own: the compact scan has to rule out most of 170 000 close rows.
        var values = CompactScanTests.SeededValues(state: 19)
        let copies = 2_000
        let crowd = FaceIndex(capacity: faces.count * copies, precision: precision)
        var rows: [Float] = [], faceIDs: [Int64] = [], subjectIDs: [Int64] = []
        rows.reserveCapacity(faces.count * copies * 128)
        for (offset, face) in faces.enumerated() {
            for copy in 0..<copies {
                let spread: Float = copy == 0 ? 0 : 0.02
                rows += face.descriptor.values.map { $0 + values.next() * spread }
                faceIDs.append(Int64(offset * copies + copy))
                subjectIDs.append(copy == 0 ? subjectOf[face.identity]! : Int64(1_000 + (offset * copies + copy) / 4))
            }
        }
        rows.withUnsafeBufferPointer { crowd.add(faceIDs: faceIDs, subjectIDs: subjectIDs, descriptors: $0.baseAddress!) }
        for face in faces {
            let found = CompactScanTests.expectSame(crowd, face.descriptor.values, topK: 10)
            #expect(found.count == 10 && found.first?.distance ?? 1 < 0.01)
            CompactScanTests.expectSame(crowd, face.descriptor.values, topK: 10, maxDistance: 0.05, threads: 2)
        }
    }
}
