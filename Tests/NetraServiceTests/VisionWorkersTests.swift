import Dispatch
import Foundation
import NetraService
import NetraTestSupport
import Testing

/// The worker pool's two-halves jobs (`run(_:alongside:)`): both halves at once when a second
/// slot is free, one after the other otherwise, never more bodies running than workers.
@Suite("Vision workers: jobs of two halves", .tags(.unit))
struct VisionWorkersTests {
    /// Counts the bodies running now and the most seen at once.
    final class Occupancy: @unchecked Sendable {
        private let lock = NSLock()
        private var running = 0
        private var peak = 0

        /// Runs `body` counted as one running body.
        func during<T>(_ body: () throws -> T) rethrows -> T {
            lock.withLock {
                running += 1
                peak = max(peak, running)
            }
            defer { lock.withLock { running -= 1 } }
            return try body()
        }

        var most: Int { lock.withLock { peak } }
    }

    struct Failure: Error, Equatable {
        let side: Int
    }

    /// A semaphore both halves of a job signal and wait on: they meet only if they run at once.
    static func meet(_ mine: DispatchSemaphore, _ other: DispatchSemaphore) -> Bool {
        mine.signal()
        return other.wait(timeout: .now() + 5) == .success
    }

    @Test("with two slots free, the halves run at the same time and give their results in order", .offCooperativePool)
    func parallelWhenFree() async throws {
        let workers = VisionWorkers(workers: 2, queueDepth: 0)
        let (a, b) = (DispatchSemaphore(value: 0), DispatchSemaphore(value: 0))
        let (first, second) = try await workers.run({ (1, Self.meet(a, b)) }, alongside: { ("two", Self.meet(b, a)) })
        #expect(first == (1, true) && second == ("two", true))
        #expect(workers.load == 0)
    }

    @Test("with one worker, the halves run one after the other on its slot", .offCooperativePool)
    func sequentialOnOneWorker() async throws {
        let workers = VisionWorkers(workers: 1, queueDepth: 0)
        let occupancy = Occupancy()
        let (first, second) = try await workers.run({ occupancy.during { usleep(20_000); return 1 } },
                                                    alongside: { occupancy.during { usleep(20_000); return 2 } })
        #expect(first == 1 && second == 2)
        #expect(occupancy.most == 1)
    }

    @Test("the first half's error wins; one after the other, the second half then does not run", .offCooperativePool)
    func errors() async throws {
        let parallel = VisionWorkers(workers: 2, queueDepth: 0), sequential = VisionWorkers(workers: 1, queueDepth: 0)
        for workers in [parallel, sequential] {
            await #expect(throws: Failure(side: 1)) {
                try await workers.run({ () throws -> Int in throw Failure(side: 1) }, alongside: { () throws -> Int in throw Failure(side: 2) })
            }
            await #expect(throws: Failure(side: 2)) {
                try await workers.run({ 1 }, alongside: { () throws -> Int in throw Failure(side: 2) })
            }
        }
        let ranSecond = Occupancy()
        await #expect(throws: Failure(side: 1)) {
            try await sequential.run({ () throws -> Int in throw Failure(side: 1) }, alongside: { ranSecond.during { 2 } })
        }
        #expect(ranSecond.most == 0)
    }

    @Test("a two-halves job on a busy pool runs on its one slot instead of waiting for a second, and waits in the queue when none is free", .offCooperativePool)
    func busyPool() async throws {
        let workers = VisionWorkers(workers: 2, queueDepth: 2)
        let release = DispatchSemaphore(value: 0), holding = DispatchSemaphore(value: 0)
        // Admission alone does not mean the blocker holds its slot: wait until its body runs.
        async let blocker: Void = workers.run {
            holding.signal()
            release.wait()
        }
        await onOwnThread { holding.wait() }
        let occupancy = Occupancy()
        let halves = try await workers.run({ occupancy.during { usleep(10_000); return 1 } },
                                           alongside: { occupancy.during { usleep(10_000); return 2 } })
        #expect(halves == (1, 2))
        #expect(occupancy.most == 1, "one slot was free: the halves shared it")

        async let secondBlocker: Void = workers.run { release.wait() }
        while workers.load < 2 { try await Task.sleep(for: .milliseconds(2)) }
        async let queued = workers.run({ 1 }, alongside: { 2 })
        while workers.load < 3 { try await Task.sleep(for: .milliseconds(2)) }
        #expect(workers.load == 3, "the queued job counts once")
        release.signal()
        release.signal()
        let queuedHalves = try await queued
        #expect(queuedHalves == (1, 2))
        try await blocker
        try await secondBlocker
        #expect(workers.load == 0)
    }

    @Test("never more than `workers` bodies at once while two-halves and single jobs mix", .offCooperativePool, arguments: [1, 2, 3])
    func neverMoreThanWorkers(count: Int) async throws {
        let workers = VisionWorkers(workers: count, queueDepth: 64)
        let occupancy = Occupancy()
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for job in 0..<40 {
                group.addTask {
                    if job % 3 == 0 {
                        return try await workers.run { occupancy.during { usleep(2_000); return 1 } }
                    }
                    let (a, b) = try await workers.run({ occupancy.during { usleep(2_000); return 1 } },
                                                       alongside: { occupancy.during { usleep(3_000); return 1 } })
                    return a + b
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(results == 14 + 26 * 2)
        #expect(occupancy.most <= count)
        #expect(workers.load == 0)
    }
}
