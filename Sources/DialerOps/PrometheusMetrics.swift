import CoreMetrics
import DialerCore
import Metrics
import Prometheus

/// The process's metrics backend: one Prometheus registry behind swift-metrics, with histogram buckets sized for what
/// the worker measures (Twilio round trips of milliseconds to seconds; pacing waits up to the 30 s hand-back) and the
/// `# HELP` text of every metric from ``DialerMetrics/catalog`` (swift-prometheus's own factory passes none).
public enum PrometheusMetrics {
    /// A factory over `registry`, for `MetricsSystem.bootstrap` (the process) or a `DialerMetrics` (tests).
    public static func factory(_ registry: PrometheusCollectorRegistry) -> DescribedMetricsFactory {
        DescribedMetricsFactory(registry: registry, help: DialerMetrics.catalog, durationBuckets: [
            "dialer_twilio_request_duration_seconds": [
                .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(20),
            ],
            "dialer_pacing_wait_seconds": [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2),
                .seconds(5), .seconds(10), .seconds(30),
            ],
        ])
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

/// A swift-metrics factory over a Prometheus registry that gives each metric family its `# HELP` text.
public struct DescribedMetricsFactory: CoreMetrics.MetricsFactory {
    public let registry: PrometheusCollectorRegistry
    /// Help text by metric name; a name missing here is exported without `# HELP` (and a test catches it).
    let help: [String: String]
    let durationBuckets: [String: [Duration]]
    static let defaultDurationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    static let defaultValueBuckets: [Double] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    public init(registry: PrometheusCollectorRegistry, help: [String: String], durationBuckets: [String: [Duration]] = [:]) {
        self.registry = registry
        self.help = help
        self.durationBuckets = durationBuckets
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: help[label] ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.defaultValueBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions,
                                       buckets: durationBuckets[label] ?? Self.defaultDurationBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        if let counter = handler as? Prometheus.Counter { registry.unregisterCounter(counter) }
    }

    public func destroyRecorder(_ handler: any RecorderHandler) {
        switch handler {
        case let gauge as Prometheus.Gauge: registry.unregisterGauge(gauge)
        case let histogram as ValueHistogram: registry.unregisterValueHistogram(histogram)
        default: break
        }
    }

    public func destroyMeter(_ handler: any MeterHandler) {
        if let gauge = handler as? Prometheus.Gauge { registry.unregisterGauge(gauge) }
    }

    public func destroyTimer(_ handler: any TimerHandler) {
        if let histogram = handler as? DurationHistogram { registry.unregisterDurationHistogram(histogram) }
    }
}
