import Dispatch
import Foundation
import NetraStore

/// Runs vision work off the event loop, at most `workers` jobs at once with at most
/// `queueDepth` more waiting; beyond that a request is refused at once with 503 and
/// `Retry-After` instead of queueing without bound.
public final class VisionWorkers: Sendable {
    private let queue = DispatchQueue(label: "netra.vision", attributes: .concurrent)
    private let slots: DispatchSemaphore
    private let capacity: Int
    private let admitted = Mutex(0)

    public init(workers: Int, queueDepth: Int) {
        slots = DispatchSemaphore(value: max(1, workers))
        capacity = max(1, workers) + max(0, queueDepth)
    }

    /// Jobs running or waiting now.
    public var load: Int { admitted.withLock { $0 } }

    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let accepted = admitted.withLock { count -> Bool in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard accepted else {
            throw APIError(.serviceUnavailable, "overloaded", "all vision workers are busy; retry shortly",
                           headers: [.retryAfter: "1"])
        }
        defer { admitted.withLock { $0 -= 1 } }
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
