import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO

/// Keeps a `PostgresStore`'s index in step with changes other replicas make: it listens on
/// `netra_changes` over a connection of its own and, on each notification (and at least once a
/// second, in case one was missed), applies the change log after the last sequence applied.
///
/// After any gap (the connection lost, PostgreSQL restarted) it reconnects by itself and
/// catches up from that sequence, so nothing is skipped, then writes the audit entries of the
/// reads answered meanwhile (`ReplicaMemory`). `isSubscribed` is false until it listens and
/// has caught up, and again while it cannot: `netra serve` is not ready then.
final class PostgresChangeFeed: @unchecked Sendable {
    private weak var store: PostgresStore?
    private let configuration: PostgresConnection.Configuration
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let wake = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var listening: PostgresConnection?
    private var subscribed = false
    private var followed = false
    private var stopped = false
    private var failure: StoreError?
    /// How long the feed waits between catch-ups when no notification comes.
    static let pollInterval: TimeInterval = 1
    /// How long the probe of the listening connection may take before PostgreSQL counts as unreachable.
    static let probeTimeout: TimeInterval = 3
    /// Change rows applied per catch-up step.
    static let batch = 2000

    init(store: PostgresStore, configuration: PostgresConnection.Configuration) {
        self.store = store
        self.configuration = configuration
    }

    /// Whether the feed listens and has applied every change up to its last notification.
    var isSubscribed: Bool { lock.withLock { subscribed } }

    /// Whether the feed has been subscribed at least once: the index then reflects the store up
    /// to some point and can be answered from.
    var hasFollowed: Bool { lock.withLock { followed } }

    /// Why the last attempt to follow failed, until one succeeds.
    var lastFailure: StoreError? { lock.withLock { failure } }

    /// Starts following on a thread of its own.
    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "netra-change-feed"
        thread.start()
    }

    /// Stops following and closes the listening connection.
    func stop() {
        let connection = lock.withLock { () -> PostgresConnection? in
            stopped = true
            subscribed = false
            defer { listening = nil }
            return listening
        }
        wake.signal()
        if let connection { try? (connection.close() as EventLoopFuture<Void>).wait() }
        group.shutdownGracefully { _ in }
    }

    private func run() {
        var logger = Logger(label: "netra.postgres.feed")
        logger.logLevel = .critical
        while !lock.withLock({ stopped }) {
            // The store gone without `stop` (not closed): nothing left to follow for.
            guard let store else { return stop() }
            do {
                try ensureListening(logger: logger)
                // Reached again: the store's calls need no longer be refused at once.
                lock.withLock { failure = nil }
                let count = try store.catchUp(limit: Self.batch)
                lock.withLock {
                    // Caught up only when the log had no more than one batch left.
                    subscribed = count < Self.batch && (listening.map { !$0.isClosed } ?? false)
                    followed = followed || subscribed
                }
                // A full batch: more may wait, go on at once.
                if count == Self.batch { continue }
                try store.writePendingAudit()
            } catch {
                dropListener()
                lock.withLock { failure = PostgresFailure.storeError(error) }
            }
            _ = wake.wait(timeout: .now() + Self.pollInterval)
        }
    }

    private func ensureListening(logger: Logger) throws {
        if let connection = lock.withLock({ listening }), !connection.isClosed {
            // A server that stopped answering (frozen, or the network drops packets) keeps the
            // connection open: a quick probe finds it out, and the store stops waiting for it.
            try PostgresSQL(connection: connection, logger: logger, timeout: Self.probeTimeout).execute("SELECT 1")
            return
        }
        dropListener()
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger).wait()
        } catch {
            throw StoreError.unreachable("PostgreSQL cannot be reached now")
        }
        connection.addListener(channel: PostgresStore.changeChannel) { [weak self] _, _ in self?.wake.signal() }
        try PostgresSQL(connection: connection, logger: logger).execute("LISTEN netra_changes")
        lock.withLock { listening = connection }
    }

    private func dropListener() {
        let connection = lock.withLock { () -> PostgresConnection? in
            subscribed = false
            defer { listening = nil }
            return listening
        }
        // Waited for (a local socket close, quick even when the server is frozen): a connection
        // released before it is closed trips postgres-nio's assertion.
        if let connection { try? (connection.close() as EventLoopFuture<Void>).wait() }
    }
}
