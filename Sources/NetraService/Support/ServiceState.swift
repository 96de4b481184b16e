import Foundation
import NetraIdentity
import NetraStore
import NetraVision
import NIOPosix

/// What the service has loaded: the models and the store arrive after the server starts
/// listening (loading a large store takes seconds), so `/health` answers at once and
/// `/ready` turns 200 when everything is in place.
public final class ServiceState: Sendable {
    public struct Loaded: Sendable {
        public let analyzer: any FaceAnalyzing
        public let store: any IdentityStore

        public init(analyzer: any FaceAnalyzing, store: any IdentityStore) {
            self.analyzer = analyzer
            self.store = store
        }
    }

    private let state = Mutex<Result<Loaded, Error>?>(nil)

    public init() {}

    /// A state that is ready from the start (tests, tools).
    public convenience init(_ loaded: Loaded) {
        self.init()
        finishLoading(.success(loaded))
    }

    public func finishLoading(_ result: Result<Loaded, Error>) {
        state.withLock { $0 = result }
    }

    public var isReady: Bool { state.withLock { (try? $0?.get()) != nil } }

    /// Whether loading ended in an error: the service cannot recover without a restart.
    public var loadFailed: Bool {
        state.withLock {
            if case .failure? = $0 { true } else { false }
        }
    }

    /// The loaded models and store, or 503 while loading (or after loading failed).
    func ready() throws -> Loaded {
        switch state.withLock({ $0 }) {
        case let .success(loaded)?: return loaded
        case .failure?:
            throw APIError(.serviceUnavailable, "not_ready", "NETRA failed to load its models or store; see the server log",
                           headers: [.retryAfter: "30"])
        case nil: throw APIError(.serviceUnavailable, "not_ready", "NETRA is still loading", headers: [.retryAfter: "2"])
        }
    }
}

/// Runs a blocking call (SQLite, PostgreSQL's synchronous API, file I/O) off the event loop.
func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    let actor = AuditActor.current
    return try await blockingCalls.runIfActive {
        try AuditActor.$current.withValue(actor) { try body() }
    }
}

/// The threads of `blocking`: apart from Dispatch's global pool, which on Linux runs only as many
/// threads as there are cores while they compute, and apart from the vision workers, so a store
/// call never waits for a face to be computed. Sixteen, so that calls waiting on PostgreSQL's
/// network or SQLite's lock do not hold back the others.
private let blockingCalls: NIOThreadPool = {
    let pool = NIOThreadPool(numberOfThreads: 16)
    pool.start()
    return pool
}()
