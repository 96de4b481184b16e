import Hummingbird
import NIOCore

/// Reads request bodies within bounds, so slow or oversized uploads cannot pile up in memory:
/// a declared `Content-Length` over the limit is refused before a byte is read, at most
/// `maxConcurrent` bodies are received at once and a quarter of them from one caller (beyond
/// that 503 with `Retry-After`, so one client trickling bytes cannot hold every slot), and a
/// body must arrive within `timeout`.
final class BodyReader: Sendable {
    let timeout: Duration
    private let receiving: Admission
    private let perCaller: Int
    private let byCaller = Mutex([String: Int]())

    init(maxConcurrent: Int, timeout: Duration) {
        receiving = Admission(capacity: maxConcurrent)
        perCaller = max(1, maxConcurrent / 4)
        self.timeout = timeout
    }

    /// The whole body of `request` from `caller`, at most `limit` bytes; `what` names it in the
    /// 413 message.
    func collect(_ request: Request, from caller: String, limit: Int, what: String = "the request body") async throws -> ByteBuffer {
        let tooLarge = APIError(.contentTooLarge, "body_too_large", "\(what) is larger than \(limit) bytes")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        let callerAdmitted = byCaller.withLock { counts -> Bool in
            guard counts[caller, default: 0] < perCaller else { return false }
            counts[caller, default: 0] += 1
            return true
        }
        defer {
            if callerAdmitted {
                byCaller.withLock { counts in
                    counts[caller, default: 1] -= 1
                    if counts[caller] == 0 { counts[caller] = nil }
                }
            }
        }
        guard callerAdmitted, receiving.enter() else {
            throw APIError(.serviceUnavailable, "too_many_uploads", "too many uploads are being received; retry shortly",
                           headers: [.retryAfter: "1"])
        }
        defer { receiving.leave() }
        do {
            return try await withDeadline(timeout) { try await request.body.collect(upTo: limit) }
        } catch is NIOTooManyBytesError {
            throw tooLarge
        } catch is DeadlineExceeded {
            throw APIError(.requestTimeout, "body_timeout", "\(what) did not arrive within \(timeout.components.seconds) s")
        } catch {
            throw APIError.badRequest("incomplete_body", "\(what) ended before its declared length")
        }
    }
}

private struct DeadlineExceeded: Error {}

/// `body`'s result, or `DeadlineExceeded` once `timeout` has passed (`body` is cancelled).
private func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw DeadlineExceeded() }
        return first
    }
}
