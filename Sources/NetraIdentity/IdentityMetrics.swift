import Metrics

/// The figures the use cases report through swift-metrics. The HTTP service exports them to
/// Prometheus; on the command line no metrics backend is installed and they cost nothing.
enum IdentityMetrics {
    static let detectDuration = Timer(label: "netra_detect_duration_seconds")
    static let embedDuration = Timer(label: "netra_embed_duration_seconds")
    static let searchDuration = Timer(label: "netra_search_duration_seconds")

    static func acceptedEnrollment() {
        Counter(label: "netra_enrollments_total").increment()
    }

    static func rejectedEnrollment(reason: String) {
        Counter(label: "netra_enrollments_rejected_total", dimensions: [("reason", reason)]).increment()
    }

    static func livenessChecks(passed: Bool) {
        Counter(label: "netra_liveness_checks_total", dimensions: [("result", passed ? "passed" : "failed")]).increment()
    }
}

extension Timer {
    /// Records how long `body` takes.
    func measure<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        let start = ContinuousClock.now
        defer {
            let elapsed = ContinuousClock.now - start
            recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        }
        return try body()
    }
}
