import Dispatch
import Foundation
import NetraStore

/// Runs vision work off the event loop, at most `workers` jobs at once with at most
/// `queueDepth` more waiting; beyond that a request is refused at once with 503 and
/// `Retry-After` instead of queueing without bound.
///
/// A job of two independent halves (`run(_:alongside:)`, the two images of a verification)
/// runs them on two slots at once when a second slot is free, so it takes one image's time.
public final class VisionWorkers: Sendable {
    private let queue = DispatchQueue(label: "netra.vision", attributes: .concurrent)
    private let slots: DispatchSemaphore
    private let admission: Admission

    public init(workers: Int, queueDepth: Int) {
        slots = DispatchSemaphore(value: max(1, workers))
        admission = Admission(capacity: max(1, workers) + max(0, queueDepth))
    }

    /// Jobs running or waiting now.
    public var load: Int { admission.count }

    /// Runs `body` on a worker slot once one is free.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await admitted(body)
    }

    /// Runs the two independent halves of one job and returns both results, in order.
    ///
    /// The job is admitted and queued like `run`'s and counts as one. Once it holds its slot,
    /// it takes a second one only if that is free at this very moment (a slot some queued job
    /// waits for is not free) and then runs `second` on it while `first` runs on its own;
    /// otherwise it runs the halves one after the other on its one slot. It never waits for a
    /// second slot, so verifications under load can neither deadlock nor hold a slot idle,
    /// and no more than `workers` bodies ever run at once.
    ///
    /// When `first` throws, that is the job's error, whatever `second` did (one after the
    /// other, `second` is then not run); otherwise `second`'s error, if any.
    public func run<A: Sendable, B: Sendable>(_ first: @escaping @Sendable () throws -> A,
                                              alongside second: @escaping @Sendable () throws -> B) async throws -> (A, B) {
        try await admitted { [slots, queue] () throws -> (A, B) in
            guard slots.wait(timeout: .now()) == .success else {
                let firstResult = try first()
                return (firstResult, try second())
            }
            let actor = AuditActor.current
            let secondResult = Mutex<Result<B, any Error>?>(nil)
            let secondDone = DispatchSemaphore(value: 0)
            queue.async {
                let result = AuditActor.$current.withValue(actor) { Result { try second() } }
                secondResult.withLock { $0 = result }
                slots.signal()
                secondDone.signal()
            }
            let firstResult = Result { try first() }
            secondDone.wait()
            return (try firstResult.get(), try secondResult.withLock { $0! }.get())
        }
    }

    /// Admits `job`, waits for a slot off the event loop and runs it there, with the caller's audit actor.
    private func admitted<T: Sendable>(_ job: @escaping @Sendable () throws -> T) async throws -> T {
        guard admission.enter() else {
            throw APIError(.serviceUnavailable, "overloaded", "all vision workers are busy; retry shortly",
                           headers: [.retryAfter: "1"])
        }
        defer { admission.leave() }
        let actor = AuditActor.current
        return try await withCheckedThrowingContinuation { continuation in
            queue.async { [slots] in
                slots.wait()
                defer { slots.signal() }
                AuditActor.$current.withValue(actor) { continuation.resume(with: Result { try job() }) }
            }
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
