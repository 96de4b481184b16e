import Dispatch
import Foundation
import NetraDescriptor
import NetraImaging
import NetraTestSupport
@testable import NetraVision
import Synchronization
import Testing

/// The batched-embedding equalities of `BatchedEmbeddingTests` while other work runs at the
/// same time: the int8 and f32 embedders, batched and one chip per pass, from several threads,
/// next to the detector's multithreaded OpenBLAS GEMMs. Any state shared between plans,
/// workspaces or embedders (or a library not safe to call from several threads) shows here as
/// a descriptor that differs from the one computed alone. `NETRA_STRESS_ROUNDS` runs it longer.
@Suite("Batched embedding under concurrency", .tags(.model))
struct BatchedEmbeddingConcurrencyTests {
    @Test("int8 and f32, batched and one by one, from six threads beside two detectors: the descriptors computed alone within 1e-5",
          .offCooperativePool)
    func concurrent() throws {
        let chips = Array(try BatchedEmbeddingTests.chips.get().suffix(11))
        let int8 = try BatchedEmbeddingTests.int8Embedder.get()
        let float = try BatchedEmbeddingTests.embedder.get()
        let int8Alone = try chips.map { chip throws(VisionError) in try int8.descriptor(ofChip: chip) }
        let floatAlone = try chips.map { chip throws(VisionError) in try float.descriptor(ofChip: chip) }
        let analyzer = try TestModels.analyzer()
        let image = try ImageDecoder().decode(contentsOf: FaceDataSet.multiFolder.appendingPathComponent("images/dlib_2007_007763.jpg"))
        let rounds = ProcessInfo.processInfo.environment["NETRA_STRESS_ROUNDS"].flatMap(Int.init) ?? 2
        let worst = Mutex<[String: Float]>([:])
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            if worker >= 6 {
                for _ in 0..<rounds { _ = try? analyzer.detectFaces(in: image, options: DetectionOptions(upsample: 1)) }
                return
            }
            for round in 0..<(rounds * 4) {
                let useInt8 = (worker + round) % 2 == 0, batched = (worker / 2 + round) % 2 == 0
                let key = "\(useInt8 ? "int8" : "f32") \(batched ? "batched" : "one by one")"
                do {
                    let embedder = useInt8 ? int8 : float
                    let got = batched ? try embedder.descriptors(ofChips: chips)
                        : try chips.map { chip throws(VisionError) in try embedder.descriptor(ofChip: chip) }
                    let difference = BatchedEmbeddingTests.maxDifference(useInt8 ? int8Alone : floatAlone, got)
                    worst.withLock { $0[key] = max($0[key] ?? 0, difference) }
                } catch {
                    failures.withLock { $0.append("\(key): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        let differences = worst.withLock { $0 }
        print("[batched embedding, concurrent] max abs differences \(differences.sorted { $0.key < $1.key })")
        #expect(differences.count == 4)
        for (key, difference) in differences { #expect(difference <= 1e-5, "\(key): max abs difference \(difference)") }
    }
}
