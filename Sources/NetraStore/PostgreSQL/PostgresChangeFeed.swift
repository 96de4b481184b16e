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
/// catches up from that sequence, so nothing is skipped. `isSubscribed` is false until it
/// listens and has caught up, and again while it cannot: `netra serve` is not ready then.
final class PostgresChangeFeed: @unchecked Sendable {
    private weak var store: PostgresStore?
    private let configuration: PostgresConnection.Configuration
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let wake = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var listening: PostgresConnection?
    private var subscribed = false
    private var stopped = false
    private var appliedThrough: Int64
    /// How long the feed waits between catch-ups when no notification comes.
    static let pollInterval: TimeInterval = 1
    /// Change rows applied per catch-up step.
    static let batch = 2000

    init(store: PostgresStore, configuration: PostgresConnection.Configuration, appliedThrough: Int64) {
        self.store = store
        self.configuration = configuration
        self.appliedThrough = appliedThrough
    }

    /// Whether the feed listens and has applied every change up to its last notification.
    var isSubscribed: Bool { lock.withLock { subscribed } }

    /// The last sequence applied to the index.
    var lastApplied: Int64 { lock.withLock { appliedThrough } }

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
                let (applied, count) = try store.applyChanges(after: lastApplied, limit: Self.batch)
                lock.withLock {
                    appliedThrough = applied
                    // Caught up only when the log had no more than one batch left.
                    subscribed = count < Self.batch && (listening.map { !$0.isClosed } ?? false)
                }
                // A full batch: more may wait, go on at once.
                if count == Self.batch { continue }
            } catch {
                dropListener()
            }
            _ = wake.wait(timeout: .now() + Self.pollInterval)
        }
    }

    private func ensureListening(logger: Logger) throws {
        if let connection = lock.withLock({ listening }), !connection.isClosed { return }
        dropListener()
        let connection = try PostgresConnection.connect(on: group.next(), configuration: configuration, id: 1, logger: logger).wait()
        connection.addListener(channel: PostgresStore.changeChannel) { [weak self] _, _ in self?.wake.signal() }
        _ = try connection.query("LISTEN netra_changes", logger: logger).wait()
        lock.withLock { listening = connection }
    }

    private func dropListener() {
        let connection = lock.withLock { () -> PostgresConnection? in
            subscribed = false
            defer { listening = nil }
            return listening
        }
        if let connection { let _: EventLoopFuture<Void> = connection.close() }
    }
}
