import Logging
import ServiceLifecycle

/// Takes back jobs whose worker died or hung (their lease expired) into `in_doubt`, where the reconciler asks Twilio
/// about them before any re-dial. Runs in every worker process (River's job rescuer); SKIP LOCKED keeps them apart.
public struct LeaseRecoveryService: Service, CustomStringConvertible {
    let store: JobStore
    let interval: Duration
    let accounting: OutcomeAccounting
    let logger: Logger

    init(store: JobStore, interval: Duration, accounting: OutcomeAccounting, logger: Logger) {
        self.store = store
        self.interval = interval
        self.accounting = accounting
        self.logger = logger
    }

    public var description: String { "LeaseRecoveryService(every: \(interval))" }

    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                try await runOnce()
            } catch {
                if Task.isCancelled { return }
                logger.warning("lease recovery failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            do { try await sleep(for: interval) } catch { return }
        }
    }

    /// One pass: every expired lease taken back (up to 500).
    @discardableResult
    public func runOnce() async throws -> [RecoveredJob] {
        let store = self.store
        let recovered = try await withTimeout(.seconds(20), what: "lease recovery") { try await store.recoverExpiredLeases() }
        if !recovered.isEmpty {
            accounting.stats.update { $0.recovered += recovered.count }
            accounting.metrics.leasesRecovered(recovered.count)
        }
        for job in recovered {
            logger.warning("lease expired; job in doubt until reconciled", metadata: [
                "job.id": "\(job.jobID)", "attempt": "\(job.attempt)", "previous_owner": "\(job.previousOwner)", "state": "\(job.state.rawValue)",
            ])
        }
        return recovered
    }
}
