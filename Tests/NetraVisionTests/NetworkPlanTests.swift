import Foundation
import NetraTestSupport
@testable import NetraVision
import Testing

@Suite("Network plan buffer sharing", .tags(.model))
struct NetworkPlanTests {
    /// Every slot that is live at a step (written at or before it and read at or after it)
    /// has a buffer of its own, large enough for it.
    static func expectNoLiveSlotsShare(steps: [NetworkPlan.Step], sizes: [Int], output: Int,
                                       bufferOfSlot: [Int], bufferSizes: [Int]) {
        var written = [Int](repeating: Int.max, count: sizes.count), lastRead = [Int](repeating: -1, count: sizes.count)
        written[0] = -1
        lastRead[output] = Int.max
        for (number, step) in steps.enumerated() {
            let (reads, writes) = Self.slots(step)
            for slot in reads { lastRead[slot] = max(lastRead[slot], number) }
            written[writes] = min(written[writes], number)
        }
        for slot in sizes.indices { #expect(bufferSizes[bufferOfSlot[slot]] >= sizes[slot]) }
        for number in steps.indices {
            let live = sizes.indices.filter { written[$0] <= number && lastRead[$0] >= number }
            #expect(Set(live.map { bufferOfSlot[$0] }).count == live.count, "step \(number): live slots share a buffer")
        }
    }

    static func slots(_ step: NetworkPlan.Step) -> (reads: [Int], writes: Int) {
        switch step {
        case let .maxPool(_, _, input, output), let .averagePool(_, _, input, output), let .globalAverage(input, output):
            return ([input], output)
        case let .convolution(_, input, output), let .quantizedConvolution(_, input, output), let .singleFilterConvolution(_, input, output),
             let .fullyConnected(_, _, _, input, output):
            return ([input], output)
        case let .addZeroExtended(a, b, output, _): return ([a, b], output)
        case let .relu(slot): return ([slot], slot)
        }
    }

    @Test("a residual chain: the shortcut input stays alive until its add, dead slots' buffers are reused", .offCooperativePool)
    func residualChain() {
        let steps: [NetworkPlan.Step] = [
            .maxPool(kernel: 1, stride: 1, input: 0, output: 1),
            .maxPool(kernel: 1, stride: 1, input: 1, output: 2),
            .addZeroExtended(2, 0, output: 3, relu: false),
            .relu(3),
            .maxPool(kernel: 1, stride: 1, input: 3, output: 4),
        ]
        let sizes = [10, 10, 10, 10, 10]
        let (bufferOfSlot, bufferSizes) = NetworkPlan.assignBuffers(steps: steps, sizes: sizes, output: 4)
        #expect(bufferSizes.count == 3)
        #expect(bufferOfSlot[3] == bufferOfSlot[1], "slot 1 is dead once slot 2 is computed")
        Self.expectNoLiveSlotsShare(steps: steps, sizes: sizes, output: 4, bufferOfSlot: bufferOfSlot, bufferSizes: bufferSizes)
    }

    @Test("the detector's and embedder's plans share buffers safely and need far less memory", .offCooperativePool)
    func realNetworks() throws {
        let detector = try ModelFileReader.network(at: SharedData.models.appendingPathComponent(ModelCatalog.detector.fileName),
                                                   layout: MMODArchitecture.layers)
        let embedder = try ModelFileReader.network(at: SharedData.models.appendingPathComponent(ModelCatalog.embedder.fileName),
                                                   layout: ResNetArchitecture.layers)
        for (name, network, input) in [("detector", detector, TensorShape(batch: 1, height: 700, width: 640, channels: 3)),
                                       ("embedder", embedder, TensorShape(batch: 1, height: 150, width: 150, channels: 3))] {
            let plan = try NetworkPlan(layers: network.layers, input: input, threads: 1)
            let sizes = plan.shapes.map(\.elementCount)
            Self.expectNoLiveSlotsShare(steps: plan.steps, sizes: sizes, output: plan.outputSlot,
                                        bufferOfSlot: plan.bufferOfSlot, bufferSizes: plan.bufferSizes)
            let shared = plan.bufferSizes.reduce(0, +), separate = sizes.reduce(0, +)
            print("\(name): \(plan.bufferSizes.count) buffers for \(sizes.count) slots, \(4 * shared / 1_000_000) MB instead of \(4 * separate / 1_000_000) MB; oneDNN scratchpad \(plan.scratchpadByteCount / 1_000_000) MB")
            #expect(shared < separate)
        }
    }

    @Test("idle workspaces are kept only within the byte budget", .offCooperativePool)
    func memoryBudget() {
        let budget = MemoryBudget(bytes: 100)
        #expect(budget.reserve(60))
        #expect(!budget.reserve(50))
        budget.release(60)
        #expect(budget.reserve(100) && budget.reservedBytes == 100)
    }
}
