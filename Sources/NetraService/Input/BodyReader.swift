import Hummingbird
import NIOCore

/// Reads request bodies within bounds, so slow or oversized uploads cannot pile up in memory:
/// a declared `Content-Length` over the limit is refused before a byte is read, at most
/// `maxConcurrent` bodies are received at once (beyond that 503 with `Retry-After`), and a body
/// must arrive within `timeout`.
final class BodyReader: Sendable {
    let timeout: Duration
    private let receiving: Admission

    init(maxConcurrent: Int, timeout: Duration) {
        receiving = Admission(capacity: maxConcurrent)
        self.timeout = timeout
    }

    /// The whole body of `request`, at most `limit` bytes; `what` names it in the 413 message.
    func collect(_ request: Request, limit: Int, what: String = "the request body") async throws -> ByteBuffer {
        let tooLarge = APIError(.contentTooLarge, "body_too_large", "\(what) is larger than \(limit) bytes")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit { throw tooLarge }
        guard receiving.enter() else {
            throw APIError(.serviceUnavailable, "too_many_uploads", "\(receiving.capacity) uploads are being received; retry shortly",
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
