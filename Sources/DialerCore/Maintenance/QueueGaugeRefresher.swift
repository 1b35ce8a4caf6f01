import Logging
import ServiceLifecycle

/// Reads the queue's depth from the database on an interval (not per scrape: a fleet of scrapers must not turn into
/// a fleet of queries) and publishes it as the `dialer_queue_*` gauges; also refreshes `dialer_ready`, so the gauge is
/// right even where nothing probes `/readyz`.
public struct QueueGaugeRefresher: Service, CustomStringConvertible {
    let store: JobStore
    let metrics: DialerMetrics
    let readiness: Readiness?
    let interval: Duration
    let logger: Logger

    public init(store: JobStore, metrics: DialerMetrics, readiness: Readiness? = nil, interval: Duration, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.readiness = readiness
        self.interval = interval
        self.logger = logger
    }

    public var description: String { "QueueGaugeRefresher(every: \(interval))" }

    public func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            failing = await runOnce(failing: failing)
            do { try await sleep(for: interval, scaledBy: 1...1) } catch { return }
        }
    }

    /// One refresh: the gauges from one query, then readiness. Returns whether the query failed (logged once per outage).
    @discardableResult
    public func runOnce(failing: Bool = false) async -> Bool {
        var failed = false
        do {
            let depth = try await withTimeout(.seconds(10), what: "queue depth query") { [store] in try await store.queueDepth() }
            metrics.queueDepth(depth)
            if failing { logger.info("queue depth readable again") }
        } catch {
            if !failing { logger.warning("reading the queue depth failed", metadata: ["error": "\(String(reflecting: error))"]) }
            failed = true
        }
        _ = await readiness?.check()
        return failed
    }
}
