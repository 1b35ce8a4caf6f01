import DialerCore
import Metrics
import Prometheus

/// The process's metrics backend: one Prometheus registry behind swift-metrics, with histogram buckets sized for what
/// the worker measures (Twilio round trips of milliseconds to seconds; pacing waits up to the 30 s hand-back).
public enum PrometheusMetrics {
    /// A factory over `registry`, for `MetricsSystem.bootstrap` (the process) or a `DialerMetrics` (tests).
    public static func factory(_ registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["dialer_twilio_request_duration_seconds"] = [
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
            .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(20),
        ]
        factory.durationHistogramBuckets["dialer_pacing_wait_seconds"] = [
            .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
            .seconds(5), .seconds(10), .seconds(30),
        ]
        return factory
    }

    /// Bootstraps swift-metrics with a Prometheus registry, once per process, and returns that registry.
    public static func bootstrap() -> PrometheusCollectorRegistry {
        Bootstrap.registry
    }

    private enum Bootstrap {
        static let registry: PrometheusCollectorRegistry = {
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetrics.factory(registry))
            return registry
        }()
    }
}
