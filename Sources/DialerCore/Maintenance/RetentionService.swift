import Logging
import ServiceLifecycle

/// Automatic retention: every `interval`, deletes finished jobs (and their attempts) older than `retention`, in small
/// batches, one process of the fleet at a time (an advisory lock). Off when `retention` is zero: it then waits for the
/// group's shutdown (a service that returns early would stop `dialer run`, and retention off is what a legal hold needs).
public struct RetentionService: Service, CustomStringConvertible {
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

    public var description: String {
        retention > .zero ? "RetentionService(older_than_days: \(retention.seconds / 86_400), every: \(interval))" : "RetentionService(off)"
    }

    public func run() async throws {
        guard retention > .zero else {
            logger.info("retention is off (DIALER_RETENTION_DAYS=0): finished jobs are kept")
            try? await gracefulShutdown()
            return
        }
        // Start a little after the worker, jittered, so a fleet restarted together does not prune at the same instant.
        do { try await sleep(for: interval, scaledBy: 0.05...0.25) } catch { return }
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await runOnce()
            } catch {
                if Task.isCancelled { return }
                logger.warning("retention: pruning failed; trying again next interval", metadata: ["error": "\(String(reflecting: error))"])
            }
            do { try await sleep(for: interval, scaledBy: 1...1) } catch { return }
        }
    }

    /// One pass, if this process gets the fleet's retention lock: prunes in batches until nothing old is left.
    /// - Returns: what was pruned, or `nil` when another process holds the lock.
    @discardableResult
    public func runOnce() async throws -> PruneResult? {
        guard let pruned = try await store.pruneExclusively(olderThan: retention, batchSize: batchSize) else { return nil }
        metrics.retentionRan()
        metrics.pruned(table: "call_jobs", pruned.jobs)
        metrics.pruned(table: "call_attempts", pruned.attempts)
        if pruned.jobs > 0 {
            logger.info("retention: pruned finished jobs", metadata: [
                "jobs": "\(pruned.jobs)", "attempts": "\(pruned.attempts)", "batches": "\(pruned.batches)",
                "older_than_days": "\(retention.seconds / 86_400)",
            ])
        }
        return pruned
    }
}
