import Foundation
import NetraTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP connection to a live test server, for what an HTTP client library will not do:
/// half-sent request lines, slow bodies, a `Content-Length` the body never reaches. Reads
/// wait on a Dispatch thread, never on Swift concurrency's few threads, which the server needs.
final class RawConnection: @unchecked Sendable {
    private let socket: Int32

    /// Connects to `port` on loopback (IPv4, else IPv6).
    init(port: Int) throws {
        for family in [AF_INET, AF_INET6] {
            let descriptor = Glibc.socket(family, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { continue }
            if Self.connect(descriptor, family: family, port: port) {
                socket = descriptor
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                return
            }
            close(descriptor)
        }
        throw POSIXError(.ECONNREFUSED)
    }

    deinit { close(socket) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Stops sending (the server sees the end of the stream) but keeps reading.
    func finishSending() { shutdown(socket, Int32(SHUT_WR)) }

    /// Everything the server sends until it closes the connection or `seconds` pass; `closed`
    /// tells which.
    func readUntilClosed(seconds: Double) async -> (text: String, closed: Bool) {
        await Self.offPool { self.blockingReadUntilClosed(seconds: seconds) }
    }

    /// The first response's status code and JSON error code, read until `seconds` pass.
    func readResponse(seconds: Double) async -> (status: Int?, errorCode: String?) {
        await Self.offPool { self.blockingReadResponse(seconds: seconds) }
    }

    private static func offPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await onOwnThread(body)
    }

    private func blockingReadUntilClosed(seconds: Double) -> (text: String, closed: Bool) {
        let deadline = Date().addingTimeInterval(seconds)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { break }
            let count = recv(socket, &buffer, buffer.count, 0)
            if count <= 0 { return (String(decoding: received, as: UTF8.self), true) }
            received += buffer[0..<count]
        }
        return (String(decoding: received, as: UTF8.self), false)
    }

    private func blockingReadResponse(seconds: Double) -> (status: Int?, errorCode: String?) {
        let deadline = Date().addingTimeInterval(seconds)
        var received = ""
        while Date() < deadline {
            let (text, closed) = blockingReadUntilClosed(seconds: min(0.5, max(0.05, deadline.timeIntervalSinceNow)))
            received += text
            if let parsed = Self.parse(received) { return parsed }
            if closed { break }
        }
        return Self.parse(received) ?? (nil, nil)
    }

    private static func parse(_ response: String) -> (status: Int?, errorCode: String?)? {
        guard let headEnd = response.range(of: "\r\n\r\n") else { return nil }
        let status = response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
        let body = response[headEnd.upperBound...]
        let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        guard let object else { return body.isEmpty ? (status, nil) : nil }
        return (status, (object["error"] as? [String: Any])?["code"] as? String)
    }

    private static func connect(_ descriptor: Int32, family: Int32, port: Int) -> Bool {
        if family == AF_INET {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_port = in_port_t(UInt16(port).bigEndian)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
    }
}
