import Metrics
import Prometheus

/// NETRA's Prometheus metrics: one registry per process, fed through swift-metrics.
///
/// Request counts and latency by route and status come from Hummingbird's
/// `MetricsMiddleware` (`hb_requests`, `hb_request_errors`, `http_server_request_duration`,
/// `http_server_active_requests`); the vision, search and enrollment figures come from the
/// identity layer (`NetraIdentity`), reported through swift-metrics; the store, queue and
/// memory gauges are here.
public enum ServiceMetrics {
    /// The process-wide registry (`MetricsSystem` can be bootstrapped only once).
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static let indexSize = Gauge(label: "netra_index_size")
    static let subjects = Gauge(label: "netra_subjects")
    static let faces = Gauge(label: "netra_faces")
    static let visionQueue = Gauge(label: "netra_vision_jobs")
    /// Stored faces the index left out at load because no supplied key opens them or they fail
    /// authentication: people who will not be recognised. Anything above 0 needs an operator.
    static let unreadableFaces = Gauge(label: "netra_store_unreadable_faces")
    /// 1 while a PostgreSQL replica answers from memory (its database lost), else 0.
    static let storeDegraded = Gauge(label: "netra_store_degraded")
    /// Resident memory of the process, read when `/metrics` is scraped.
    static let residentMemory = Gauge(label: "netra_process_resident_memory_bytes")

    /// The metrics in Prometheus's text format.
    public static func render() -> String {
        _ = registry
        return registry.emitToString()
    }
}
