import Dispatch
import Foundation
import NetraStore

/// Runs vision work off the event loop, at most `workers` jobs at once with at most
/// `queueDepth` more waiting; beyond that a request is refused at once with 503 and
/// `Retry-After` instead of queueing without bound.
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

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
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
                AuditActor.$current.withValue(actor) { continuation.resume(with: Result { try body() }) }
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
