import Foundation
@testable import NetraStore
import NetraTestSupport
import Testing

/// `PostgresSQL.forEachRow`: rows decoded on the connection's event loop, used on the calling
/// thread, in order, with a bounded number waiting in between (`RowHandoff`).
@Suite("Streaming a large result from PostgreSQL", .tags(.endToEnd))
struct PostgresRowStreamTests {
    /// More rows than `RowHandoff.capacity`, so that the event loop must wait for a slow reader.
    static let count = RowHandoff<Int64>.capacity * 3 + 17

    @Test("a result larger than the handoff arrives whole and in order while the reader is slow, and the connection serves on", .offCooperativePool)
    func wholeAndInOrder() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(temporary.postgres)
        let connections = try PostgresConnections(location: location, password: password, capacity: 1)
        var received: [Int64] = []
        try connections.read { sql in
            try sql.forEachRow("SELECT generate_series(1, \(Self.count))::BIGINT", decode: { try $0.decode(Int64.self) }) { value in
                if received.isEmpty { usleep(300_000) }
                received.append(value)
            }
        }
        #expect(received == Array(1...Int64(Self.count)))
        #expect(try connections.read { sql in try sql.value("SELECT 41 + 1", as: Int32.self) } == 42)
    }

    @Test("a reader that fails stops the stream (a store error, as every failure of a read), and the connection serves on", .offCooperativePool)
    func readerFails() throws {
        struct Stop: Error {}
        let temporary = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(temporary.postgres)
        let connections = try PostgresConnections(location: location, password: password, capacity: 1)
        var received = 0
        #expect(throws: StoreError.self) {
            try connections.read { sql in
                try sql.forEachRow("SELECT generate_series(1, \(Self.count))::BIGINT", decode: { try $0.decode(Int64.self) }) { _ in
                    received += 1
                    if received == 10 { throw Stop() }
                }
            }
        }
        #expect(received == 10)
        #expect(try connections.read { sql in try sql.value("SELECT 41 + 1", as: Int32.self) } == 42)
    }

    @Test("a row that cannot be decoded fails the stream with a store error, not a crash", .offCooperativePool)
    func decodingFails() throws {
        let temporary = try TemporaryStore(backend: .postgres)
        let (location, password) = try #require(temporary.postgres)
        let connections = try PostgresConnections(location: location, password: password, capacity: 1)
        #expect(throws: StoreError.self) {
            try connections.read { sql in
                try sql.forEachRow("SELECT 'not a number'::TEXT", decode: { try $0.decode(Int64.self) }) { _ in }
            }
        }
        #expect(try connections.read { sql in try sql.value("SELECT 41 + 1", as: Int32.self) } == 42)
    }
}
