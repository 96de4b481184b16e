import Dispatch
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
        try await withTaskExecutorPreference(GlobalDispatchExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OffCooperativePool {
    /// See `OffCooperativePool`.
    public static var offCooperativePool: Self { OffCooperativePool() }
}

/// A task executor whose jobs run on Dispatch's global concurrent queue, which adds threads
/// when its threads block.
final class GlobalDispatchExecutor: TaskExecutor {
    static let shared = GlobalDispatchExecutor()

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        DispatchQueue.global().async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
