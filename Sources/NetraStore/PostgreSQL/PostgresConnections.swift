import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A few connections to one PostgreSQL database, used synchronously by `PostgresStore`.
///
/// The store's protocols are synchronous (as GRDB is for SQLite), so each call borrows a
/// connection, runs its statements through postgres-nio's future API and waits for them on
/// the calling thread; the connections' I/O runs on one NIO event-loop thread of their own.
/// At most `capacity` connections are open; a caller waits for a free one. A connection the
/// server or the network closed is dropped and replaced by a new one on the next borrow, so
/// the store recovers by itself when PostgreSQL comes back.
final class PostgresConnections: @unchecked Sendable {
    let location: PostgresLocation
    /// How each connection is made (the change feed makes its own listening one alike).
    let configuration: PostgresConnection.Configuration
    private let group: MultiThreadedEventLoopGroup
    private let logger: Logger
    private let capacity: Int
    private let condition = NSCondition()
    private var idle: [PostgresConnection] = []
    private var borrowed = 0
    private var nextID = 0
    private var closed = false
    /// When the last attempt to connect failed (`nil` once one succeeds): within
    /// `reconnectInterval` of it, callers are answered unreachable at once instead of each
    /// waiting for a connection that cannot be made (a frozen server takes `connectTimeout`).
    private var lastConnectFailure: Date?

    /// Connects once now, so that a wrong address, password or database fails at start with
    /// one clear error (`StoreError.unreachable`) instead of at the first request.
    init(location: PostgresLocation, password: String?, capacity: Int = 4, connectTimeout: TimeAmount = .seconds(5)) throws(StoreError) {
        self.location = location
        self.capacity = max(1, capacity)
        var logger = Logger(label: "netra.postgres")
        logger.logLevel = .critical
        self.logger = logger
        var configuration = PostgresConnection.Configuration(host: location.host, port: location.port, username: location.username,
                                                             password: password, database: location.database,
                                                             tls: try Self.tls(location.tls))
        configuration.options.connectTimeout = connectTimeout
        self.configuration = configuration
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            idle.append(try connect())
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    deinit { close() }

    private static func tls(_ mode: PostgresLocation.TLSMode) throws(StoreError) -> PostgresConnection.Configuration.TLS {
        guard mode != .disable else { return .disable }
        do {
            let context = try NIOSSLContext(configuration: .makeClientConfiguration())
            return mode == .require ? .require(context) : .prefer(context)
        } catch {
            throw .invalidLocation("TLS for data.url could not be set up: \(error)")
        }
    }

    private func connect() throws(StoreError) -> PostgresConnection {
        let id = condition.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        do {
            let connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
            condition.withLock { lastConnectFailure = nil }
            return connection
        } catch {
            condition.withLock { lastConnectFailure = Date() }
            throw PostgresFailure.connecting(error, to: location)
        }
    }

    /// How long after a failed connection attempt the next one is made.
    static let reconnectInterval: TimeInterval = 1

    /// Whether the last attempt to connect failed (PostgreSQL down or unreachable from here).
    var isDown: Bool { condition.withLock { lastConnectFailure != nil } }

    /// Runs `body` on a borrowed connection (opened now when none is idle and fewer than
    /// `capacity` are open).
    func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        let connection = try borrow()
        defer { giveBack(connection) }
        do {
            return try body(connection)
        } catch {
            throw PostgresFailure.storeError(error)
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    /// An error during COMMIT is reported as a failure: the change is not acknowledged.
    func transaction<T>(_ body: (PostgresSQL) throws -> T) throws(StoreError) -> T {
        try withConnection { connection in
            let sql = PostgresSQL(connection: connection, logger: logger)
            try sql.execute("BEGIN")
            do {
                let result = try body(sql)
                try sql.execute("COMMIT")
                return result
            } catch StoreError.unreachable(let reason) {
                // Lost, or closed for not answering: the server rolls back what it had.
                Self.discard(connection)
                throw StoreError.unreachable(reason)
            } catch {
                if !connection.isClosed, (try? sql.execute("ROLLBACK")) == nil { Self.discard(connection) }
                throw error
            }
        }
    }

    /// Runs `body`'s reads in one read-only transaction (one consistent snapshot).
    func read<T>(_ body: (PostgresSQL) throws -> T) throws(StoreError) -> T {
        try transaction { sql in
            try sql.execute("SET TRANSACTION READ ONLY, ISOLATION LEVEL REPEATABLE READ")
            return try body(sql)
        }
    }

    /// A connection whose session state is unknown (a failed ROLLBACK or unlock): closed now,
    /// so that it is never handed out again; the pool opens a new one in its place.
    static func discard(_ connection: PostgresConnection) {
        try? (connection.close() as EventLoopFuture<Void>).wait()
    }

    /// How long a caller waits for a free connection before the store answers busy.
    static let borrowTimeout: TimeInterval = 10

    private func borrow() throws(StoreError) -> PostgresConnection {
        condition.lock()
        let deadline = Date().addingTimeInterval(Self.borrowTimeout)
        while idle.isEmpty && borrowed >= capacity && !closed {
            guard condition.wait(until: deadline) else {
                condition.unlock()
                throw .busy
            }
        }
        if closed {
            condition.unlock()
            throw .unreachable("the store was closed")
        }
        borrowed += 1
        while let connection = idle.popLast() {
            if !connection.isClosed {
                condition.unlock()
                return connection
            }
            let _: EventLoopFuture<Void> = connection.close()
        }
        if let failed = lastConnectFailure, Date().timeIntervalSince(failed) < Self.reconnectInterval {
            borrowed -= 1
            condition.signal()
            condition.unlock()
            throw .unreachable("PostgreSQL cannot be reached now")
        }
        condition.unlock()
        do {
            return try connect()
        } catch {
            condition.withLock {
                borrowed -= 1
                condition.signal()
            }
            // Answered to clients: the cause without the server's address or user.
            throw .unreachable("PostgreSQL cannot be reached now")
        }
    }

    private func giveBack(_ connection: PostgresConnection) {
        condition.withLock {
            borrowed -= 1
            if connection.isClosed || closed {
                let _: EventLoopFuture<Void> = connection.close()
            } else {
                idle.append(connection)
            }
            condition.signal()
        }
    }

    /// Closes every idle connection and stops the event loop; borrowed ones close when given back.
    func close() {
        let toClose = condition.withLock { () -> [PostgresConnection]? in
            guard !closed else { return nil }
            closed = true
            defer { idle.removeAll() }
            condition.broadcast()
            return idle
        }
        guard let toClose else { return }
        for connection in toClose { try? (connection.close() as EventLoopFuture<Void>).wait() }
        group.shutdownGracefully { _ in }
    }
}

/// The statements of one borrowed connection (inside `PostgresConnections.transaction`).
/// Values are bound with `PostgresQuery`'s interpolation (`"... WHERE id = \(id)"`), never
/// spliced into the SQL text.
///
/// A statement the server does not answer within `timeout` (a frozen server, a network that
/// drops packets without closing the connection) closes the connection and fails with
/// `StoreError.unreachable`, so no caller waits longer than that.
struct PostgresSQL {
    let connection: PostgresConnection
    let logger: Logger
    var timeout: TimeInterval = Self.statementTimeout

    /// How long one statement may take (waits for locks included).
    static let statementTimeout: TimeInterval = 15
    /// How long a streamed result (`forEachRow`: the index load) may take in all.
    static let streamTimeout: TimeInterval = 600

    /// Runs a statement; returns how many rows it changed.
    @discardableResult
    func execute(_ query: PostgresQuery) throws -> Int {
        try answer(connection.query(query, logger: logger), within: timeout).metadata.rows ?? 0
    }

    /// Every row the query returns, for access by column name.
    func rows(_ query: PostgresQuery) throws -> [PostgresRandomAccessRow] {
        try answer(connection.query(query, logger: logger), within: timeout).map { $0.makeRandomAccess() }
    }

    /// Calls `body` with each row's `decode`d value, in order, on the calling thread (large
    /// results: the index load).
    ///
    /// The connection's event loop reads and `decode`s the rows and hands the values over in
    /// batches, so that reading the socket and `body`'s work (decrypting) run at once, on two
    /// cores. `decode` should copy what it needs out of the row: values that still share the
    /// row's buffers would have both threads contend for their reference counts. When `body`
    /// falls behind by `RowHandoff.capacity` rows, the event loop waits for it.
    func forEachRow<Value: Sendable>(_ query: PostgresQuery, decode: @escaping @Sendable (PostgresRow) throws -> Value,
                                     _ body: (Value) throws -> Void) throws {
        let handoff = RowHandoff<Value>()
        let future = connection.query(query, logger: logger) { row in handoff.push(try decode(row)) }
        future.whenComplete { _ in handoff.finish() }
        let deadline = Date().addingTimeInterval(max(timeout, Self.streamTimeout))
        do {
            while let batch = try handoff.next(before: deadline) {
                for value in batch { try body(value) }
            }
        } catch let error as StoreError {
            handoff.abandon()
            let _: EventLoopFuture<Void> = connection.close()
            throw error
        } catch {
            handoff.abandon()
            _ = try? answer(future, within: timeout)
            throw error
        }
        _ = try answer(future, within: timeout)
    }

    /// The future's value once it completes, or, after `seconds`, the connection closed and
    /// `StoreError.unreachable`.
    private func answer<T>(_ future: EventLoopFuture<T>, within seconds: TimeInterval) throws -> T {
        let completed = DispatchSemaphore(value: 0)
        future.whenComplete { _ in completed.signal() }
        guard completed.wait(timeout: .now() + seconds) == .success else {
            let _: EventLoopFuture<Void> = connection.close()
            throw StoreError.unreachable("PostgreSQL did not answer within \(Int(seconds)) s")
        }
        return try future.wait()
    }

    /// The first column of the first row, or `nil` when there is no row (or it is NULL).
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type = T.self) throws -> T? where T._DecodableType == T {
        guard let row = try rows(query).first else { return nil }
        return try row[0].decode(T?.self)
    }
}

/// postgres-nio's errors as `StoreError`s that name the cause and never the SQL, the
/// password or a value.
enum PostgresFailure {
    /// SQLSTATE codes NETRA tells apart.
    static let invalidPassword = "28P01", invalidAuthorization = "28000", unknownDatabase = "3D000"
    static let uniqueViolation = "23505", foreignKeyViolation = "23503", serializationFailure = "40001", deadlock = "40P01"
    static let diskFull = "53100", readOnlyTransaction = "25006", adminShutdown = "57P01", cannotConnectNow = "57P03"
    static let lockNotAvailable = "55P03", queryCanceled = "57014", tooManyConnections = "53300"

    static func sqlState(of error: Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    static func connecting(_ error: Error, to location: PostgresLocation) -> StoreError {
        switch sqlState(of: error) {
        case invalidPassword?, invalidAuthorization?:
            return .unreachable("\(location) refused the login of \(location.username) (check NETRA_DATA_PASSWORD or data.password_file)")
        case unknownDatabase?:
            return .unreachable("\(location): the database \(location.database) does not exist")
        case cannotConnectNow?:
            return .unreachable("\(location) is starting up or shutting down")
        default:
            break
        }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .authMechanismRequiresPassword:
                return .unreachable("\(location) asks for a password and none is set (NETRA_DATA_PASSWORD or data.password_file)")
            case .sslUnsupported:
                return .unreachable("\(location) does not offer TLS, which sslmode=require needs")
            case .server:
                return .unreachable("\(location) refused the connection (SQLSTATE \(sqlState(of: error) ?? "?"))")
            default:
                break
            }
        }
        return .unreachable("\(location) cannot be reached (\(describe(error)))")
    }

    /// A failure of a statement, classified; anything not recognised is `.database` with the
    /// error's kind only.
    static func storeError(_ error: Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? SealError { return .sealing(error) }
        if let error = error as? KeyError { return .key(error) }
        switch sqlState(of: error) {
        case diskFull?: return .storageFull
        case readOnlyTransaction?: return .readOnly
        // Conflicts with another writer (a row deleted by another replica meanwhile, a lock or
        // a statement given up, the server's connections all taken): retrying shortly works.
        case serializationFailure?, deadlock?, foreignKeyViolation?, lockNotAvailable?, queryCanceled?, tooManyConnections?: return .busy
        case adminShutdown?, cannotConnectNow?: return .unreachable("PostgreSQL is shutting down or restarting")
        case let state?: return .database("PostgreSQL refused a statement (SQLSTATE \(state))")
        case nil: break
        }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
                return .unreachable("the connection to PostgreSQL was lost")
            default:
                return .database("PostgreSQL: \(psql.code)")
            }
        }
        if error is ChannelError || error is IOError { return .unreachable("the connection to PostgreSQL was lost") }
        return .database("\(type(of: error))")
    }

    private static func describe(_ error: Error) -> String {
        if let psql = error as? PSQLError { return "\(psql.code)" }
        if let io = error as? IOError { return io.description }
        return "\(error)"
    }
}

/// Rows' values on their way from a connection's event loop to the thread that uses them: batches of
/// `batchSize`, at most `capacity` rows waiting, so that a slow reader holds back the socket
/// instead of memory growing with the result.
final class RowHandoff<Value: Sendable>: @unchecked Sendable {
    static var batchSize: Int { 2048 }
    static var capacity: Int { 16 * batchSize }

    /// Guards every property below.
    private let condition = NSCondition()
    private var filling: [Value] = []
    private var ready: [[Value]] = []
    private var waitingRows = 0
    private var finished = false
    private var abandoned = false

    /// Adds one row's value (on the event loop); waits while `capacity` rows wait to be taken.
    func push(_ row: Value) {
        condition.withLock {
            guard !abandoned else { return }
            filling.append(row)
            guard filling.count == Self.batchSize else { return }
            while waitingRows >= Self.capacity, !abandoned { condition.wait() }
            ready.append(filling)
            waitingRows += filling.count
            filling = []
            filling.reserveCapacity(Self.batchSize)
            condition.broadcast()
        }
    }

    /// Marks the end of the rows, whether the query succeeded or not.
    func finish() {
        condition.withLock {
            if !filling.isEmpty { ready.append(filling) }
            filling = []
            finished = true
            condition.broadcast()
        }
    }

    /// Drops every row from now on, so the event loop never waits for a reader that stopped.
    func abandon() {
        condition.withLock {
            abandoned = true
            ready = []
            condition.broadcast()
        }
    }

    /// The next batch in order; `nil` after the last. Throws `StoreError.unreachable` when
    /// `deadline` passes first.
    func next(before deadline: Date) throws(StoreError) -> [Value]? {
        condition.lock()
        defer { condition.unlock() }
        while ready.isEmpty, !finished {
            guard condition.wait(until: deadline) else {
                throw StoreError.unreachable("PostgreSQL did not send every row within \(Int(PostgresSQL.streamTimeout)) s")
            }
        }
        guard !ready.isEmpty else { return nil }
        let batch = ready.removeFirst()
        waitingRows -= batch.count
        condition.broadcast()
        return batch
    }
}
