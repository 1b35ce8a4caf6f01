import Foundation
import Logging
import ServiceLifecycle

/// Reads the queue's depth from the database on an interval (not per scrape: a fleet of scrapers must not turn into
/// a fleet of queries) and publishes it as the `dialer_queue_*` gauges; also refreshes `dialer_ready`, so the gauge is
/// right even where nothing probes `/readyz`.
public struct QueueGaugeRefresher: Service {
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

    public func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let depth = try await withTimeout(.seconds(10), what: "queue depth query") { [store] in try await store.queueDepth() }
                metrics.queueDepth(depth)
                if failing { logger.info("queue depth readable again") }
                failing = false
            } catch {
                if !failing { logger.warning("reading the queue depth failed", metadata: ["error": "\(String(reflecting: error))"]) }
                failing = true
            }
            _ = await readiness?.check()
            try? await gracefulShutdown(within: interval)
        }
    }
}

/// Automatic retention: every `interval`, deletes finished jobs (and their attempts) older than `retention`, in small
/// batches, one process of the fleet at a time (an advisory lock). Off when `retention` is zero.
public struct RetentionService: Service {
    let store: JobStore
    let metrics: DialerMetrics
    let retention: Duration
    let interval: Duration
    let batchSize: Int
    let logger: Logger

    public init(store: JobStore, metrics: DialerMetrics, retention: Duration, interval: Duration, batchSize: Int = 1_000, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.retention = retention
        self.interval = interval
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        guard retention > .zero else { return }
        // Start a little after the worker, jittered, so a fleet restarted together does not prune at the same instant.
        try? await gracefulShutdown(within: .seconds(interval.seconds * Double.random(in: 0.05...0.25)))
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                if let pruned = try await store.pruneExclusively(olderThan: retention, batchSize: batchSize) {
                    metrics.retentionRan()
                    metrics.pruned(table: "call_jobs", pruned.jobs)
                    metrics.pruned(table: "call_attempts", pruned.attempts)
                    if pruned.jobs > 0 {
                        logger.info("retention: pruned finished jobs", metadata: [
                            "jobs": "\(pruned.jobs)", "attempts": "\(pruned.attempts)", "batches": "\(pruned.batches)",
                            "older_than_days": "\(retention.seconds / 86_400)",
                        ])
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("retention: pruning failed; trying again next interval", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await gracefulShutdown(within: interval)
        }
    }
}

/// Sleeps for `duration`, returning early (with an error) when the service group shuts down.
func gracefulShutdown(within duration: Duration) async throws {
    try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
