import Foundation
import NetraStore

/// Runs vision work off the event loop, at most `workers` jobs at once with at most
/// `queueDepth` more waiting; beyond that a request is refused at once with 503 and
/// `Retry-After` instead of queueing without bound.
///
/// The jobs run on `workers` threads of their own, not on Dispatch's global pool: on Linux that
/// pool runs no more threads than there are cores while they compute, so vision work there
/// would hold back every store call and timer queued behind it (and be held back by them).
///
/// A job of two independent halves (`run(_:alongside:)`, the two images of a verification)
/// runs them on two threads at once when a second one is idle, so it takes one image's time.
public final class VisionWorkers: Sendable {
    private let threads: WorkerThreads
    private let admission: Admission

    public init(workers: Int, queueDepth: Int) {
        threads = WorkerThreads(count: max(1, workers), name: "netra-vision")
        admission = Admission(capacity: max(1, workers) + max(0, queueDepth))
    }

    deinit {
        threads.stop()
    }

    /// Jobs running or waiting now.
    public var load: Int { admission.count }

    /// Runs `body` on a worker thread once one is free.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await admitted(body)
    }

    /// Runs the two independent halves of one job and returns both results, in order.
    ///
    /// The job is admitted and queued like `run`'s and counts as one. Once it runs, it hands
    /// `second` to another worker thread only if one is idle at this very moment with no job
    /// waiting for it, and runs `first` meanwhile; otherwise it runs the halves one after the
    /// other on its own thread. It never waits for a second thread, so verifications under load
    /// can neither deadlock nor hold a thread idle, and no more than `workers` bodies ever run.
    ///
    /// When `first` throws, that is the job's error, whatever `second` did (one after the
    /// other, `second` is then not run); otherwise `second`'s error, if any.
    public func run<A: Sendable, B: Sendable>(_ first: @escaping @Sendable () throws -> A,
                                              alongside second: @escaping @Sendable () throws -> B) async throws -> (A, B) {
        try await admitted { [threads] () throws -> (A, B) in
            let actor = AuditActor.current
            let secondResult = Mutex<Result<B, any Error>?>(nil)
            let secondDone = DispatchSemaphore(value: 0)
            let handedOver = threads.startIfIdle {
                let result = AuditActor.$current.withValue(actor) { Result { try second() } }
                secondResult.withLock { $0 = result }
                secondDone.signal()
            }
            guard handedOver else {
                let firstResult = try first()
                return (firstResult, try second())
            }
            let firstResult = Result { try first() }
            secondDone.wait()
            return (try firstResult.get(), try secondResult.withLock { $0! }.get())
        }
    }

    /// Admits `job`, queues it for a worker thread and runs it there, with the caller's audit actor.
    private func admitted<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        guard admission.enter() else {
            throw APIError(.serviceUnavailable, "overloaded", "all vision workers are busy; retry shortly",
                           headers: [.retryAfter: "1"])
        }
        defer { admission.leave() }
        let actor = AuditActor.current
        return try await withCheckedThrowingContinuation { continuation in
            threads.start {
                AuditActor.$current.withValue(actor) { continuation.resume(with: Result { try job() }) }
            }
        }
    }
}

/// A fixed set of threads taking jobs from one first-in, first-out queue.
final class WorkerThreads: @unchecked Sendable {
    typealias Job = @Sendable () -> Void

    /// Guards every property below and wakes idle threads.
    private let condition = NSCondition()
    private var waiting: [Job] = []
    private var idle = 0
    private var stopping = false

    /// Starts `count` threads and returns once every one of them waits for work, so that a
    /// job of two halves started right after finds its second thread idle.
    init(count: Int, name: String) {
        let started = DispatchGroup()
        for number in 1...count {
            started.enter()
            let thread = Thread { [self] in work(announcingTo: started) }
            thread.name = "\(name)-\(number)"
            thread.start()
        }
        started.wait()
    }

    /// Queues `job` behind the jobs already waiting.
    func start(_ job: @escaping Job) {
        condition.withLock {
            waiting.append(job)
            condition.signal()
        }
    }

    /// Queues `job` only if a thread is idle and no job is waiting, so that it starts at once;
    /// returns whether it did.
    func startIfIdle(_ job: @escaping Job) -> Bool {
        condition.withLock {
            guard idle > 0, waiting.isEmpty else { return false }
            waiting.append(job)
            condition.signal()
            return true
        }
    }

    /// Lets the threads end once the queue is empty.
    func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    private func work(announcingTo started: DispatchGroup) {
        var started: DispatchGroup? = started
        while let job = next(announcingTo: &started) { job() }
    }

    /// The next job, once there is one; `nil` once stopped. The first time the thread waits, it
    /// says so to `started`.
    private func next(announcingTo started: inout DispatchGroup?) -> Job? {
        condition.withLock {
            while waiting.isEmpty {
                if stopping { return nil }
                idle += 1
                started?.leave()
                started = nil
                condition.wait()
                idle -= 1
            }
            return waiting.removeFirst()
        }
    }
}

/// A count of admitted jobs that refuses more than `capacity` at once, so callers can answer
/// 503 at once instead of queueing without bound.
final class Admission: Sendable {
    let capacity: Int
    private let admitted = Mutex(0)

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    var count: Int { admitted.withLock { $0 } }

    /// Admits one more job, or returns false when `capacity` are in.
    func enter() -> Bool {
        admitted.withLock { count in
            guard count < capacity else { return false }
            count += 1
            return true
        }
    }

    func leave() { admitted.withLock { $0 -= 1 } }
}

/// A value guarded by a lock.
final class Mutex<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
