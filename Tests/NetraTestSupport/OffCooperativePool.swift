import Foundation
import Testing

/// Runs a test on Dispatch's global threads instead of Swift's cooperative pool.
///
/// The cooperative pool has one thread per core (two here). A test that computes for many
/// seconds without suspending (a scan of a million rows, the public set through a model)
/// holds one of them all that time, and two such tests together starve every live server the
/// other suites run, whose handlers need the pool: their raw-socket deadlines then pass with
/// no answer. Heavy synchronous tests take this trait, so they compete for the cores but never
/// hold the pool.
public struct OffCooperativePool: TestTrait, TestScoping {
    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffCooperativePool {
    /// See `OffCooperativePool`.
    public static var offCooperativePool: Self { OffCooperativePool() }
}

/// A task executor whose every job runs on a thread of its own. Not on Dispatch's global pool:
/// on Linux that pool runs only as many threads as there are cores while they compute, so heavy
/// tests there would hold back the servers' and other tests' work queued behind them.
final class ThreadPerJobExecutor: TaskExecutor {
    static let shared = ThreadPerJobExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        Thread { job.runSynchronously(on: self.asUnownedTaskExecutor()) }.start()
    }
}

/// Runs `body` on a thread of its own and returns its result, for blocking waits (sockets,
/// semaphores, child processes) that must hold neither the cooperative pool nor Dispatch's.
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

/// Starts `body` on a thread of its own.
public func startThread(_ body: @escaping @Sendable () -> Void) {
    Thread { body() }.start()
}
