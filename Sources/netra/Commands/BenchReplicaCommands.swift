import ArgumentParser
import Foundation
import NetraDescriptor
import NetraStore

extension BenchCommand {
    /// `netra bench propagation`: how long a face enrolled through one PostgreSQL replica takes
    /// to reach another's index by the change feed. Both replicas are stores in this process,
    /// each with its own connections and feed, as two `netra serve` would have.
    struct Propagation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change propagation between two PostgreSQL replicas in this process: A enrolls at a steady rate, B follows."
        )
        @Option(name: .long, help: BenchStore.urlHelp) var url: String
        @Option(name: .long, help: "Enrollments per second through replica A.") var rate = 20.0
        @Option(name: .long, help: "Seconds of enrolling.") var seconds = 30.0
        @Option(name: .long, help: "Seconds to wait, after the last enrollment, for B to hold every face.") var grace = 10.0

        func validate() throws {
            guard rate > 0, seconds > 0 else { throw ValidationError("--rate and --seconds must be positive") }
        }

        func run() async throws {
            try await Self.reportingFailures {
                let target = try BenchStore(url: url, db: nil, scratch: try ScratchFolder())
                let writer = try target.openReplica(), follower = try target.openReplica()
                defer { writer.close(); follower.close() }
                try waitUntilFollowing(writer)
                try waitUntilFollowing(follower)
                let subject = try writer.createSubject(name: "propagation bench")
                let watch = PropagationWatch(index: follower.index)
                let enrollTimes = try await enroll(through: writer, subjectID: subject.id, watch: watch)
                let (latencies, missing) = watch.finish(within: grace)
                print("two replicas in one process (A enrolls, B follows by LISTEN/NOTIFY), \(target.location)")
                print(String(format: "%d enrollments through A at %.0f/s over %.0f s; A's addFace p50 %.2f ms, p99 %.2f ms", enrollTimes.count,
                             rate, seconds, Timing.percentile(enrollTimes, 0.5), Timing.percentile(enrollTimes, 0.99)))
                print(String(format: "A's addFace returned -> B's index holds the face (polled every ~1 ms): p50 %.1f ms, p99 %.1f ms, max %.1f ms",
                             Timing.percentile(latencies, 0.5), Timing.percentile(latencies, 0.99), latencies.max() ?? 0))
                print("faces B did not hold \(Int(grace)) s after the last enrollment: \(missing)")
                if missing > 0 { throw ExitCode.failure }
            }
        }

        /// Enrolls `rate * seconds` synthetic faces on a fixed schedule (a late one does not
        /// make the next earlier), handing each to `watch` as its addFace returns; the addFace times.
        private func enroll(through store: PostgresStore, subjectID: Int64, watch: PropagationWatch) async throws -> [Double] {
            var generator = SyntheticVectors(seed: 3)
            let clock = ContinuousClock(), start = clock.now
            var times: [Double] = []
            for number in 0..<Int(rate * seconds) {
                try await Task.sleep(until: start + .seconds(Double(number) / rate), clock: clock)
                let descriptor = FaceDescriptor(values: generator.next())
                var face: StoredFace?
                times.append(try Timing.milliseconds {
                    face = try store.addFace(subjectID: subjectID, descriptor: descriptor, quality: BenchStore.quality)
                })
                if let face { watch.expect(face.id) }
            }
            return times
        }

        /// Waits until the replica's change feed listens and has caught up (as `/ready` does).
        private func waitUntilFollowing(_ store: PostgresStore) throws {
            store.followChanges()
            let deadline = Date().addingTimeInterval(30)
            while let reason = store.unavailabilityReason {
                guard Date() < deadline else { throw CommandFailure(message: "replica not ready after 30 s: \(reason)", exitCode: .failure) }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }
}

/// Watches a follower's index, on a thread of its own, for the faces enrolled elsewhere: every
/// millisecond or so it looks up each face not yet seen and records how long after `expect`
/// it appeared.
final class PropagationWatch: @unchecked Sendable {
    private let index: FaceGallery
    private let lock = NSLock()
    private var pending: [(faceID: Int64, since: ContinuousClock.Instant)] = []
    private var latencies: [Double] = []
    private var stopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(index: FaceGallery) {
        self.index = index
        Thread { [self] in poll() }.start()
    }

    /// Starts timing `faceID` (call it as the write returns).
    func expect(_ faceID: Int64) {
        let now = ContinuousClock.now
        lock.withLock { pending.append((faceID, now)) }
    }

    /// Waits up to `seconds` for the faces still pending, then stops; the latencies in ms and
    /// how many faces never appeared.
    func finish(within seconds: Double) -> (latencies: [Double], missing: Int) {
        let deadline = Date().addingTimeInterval(seconds)
        while lock.withLock({ !pending.isEmpty }), Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
        lock.withLock { stopped = true }
        finished.wait()
        return lock.withLock { (latencies, pending.count) }
    }

    private func poll() {
        while !lock.withLock({ stopped }) {
            let waiting = lock.withLock { pending }
            let seen = waiting.filter { index.collection(ofFace: $0.faceID) != nil }
            if !seen.isEmpty {
                let now = ContinuousClock.now
                let ids = Set(seen.map(\.faceID))
                lock.withLock {
                    latencies += seen.map { Self.milliseconds(now - $0.since) }
                    pending.removeAll { ids.contains($0.faceID) }
                }
            }
            usleep(1000)
        }
        finished.signal()
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
    }
}
