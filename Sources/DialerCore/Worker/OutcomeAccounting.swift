/// The one place an outcome, once written (or fenced off), becomes counters and metrics: every transition the worker
/// and the reconciler apply passes through ``count(_:applied:)``, as Oban sends every engine call through one span.
struct OutcomeAccounting: Sendable {
    let stats: WorkerStats
    let metrics: DialerMetrics

    /// Counts `outcome`; `applied` is false when the write was fenced off (the lease had been lost).
    func count(_ outcome: JobOutcome, applied: Bool) {
        let reconciling = outcome.kind == .reconcile
        if reconciling { metrics.reconciled(result: outcome.outcome.rawValue) }
        guard applied else {
            metrics.outcomeFenced()
            // A reconciler's claim is not a dial claim: only dial claims count toward the worker's settled jobs.
            if !reconciling { stats.update { $0.fenced += 1 } }
            return
        }
        let code = outcome.error?.error.rawValue ?? "unknown"
        switch outcome.state {
        case .awaitingOutcome: metrics.dialed(path: reconciling ? "reconcile" : "dial")
        case .retrying: metrics.retried(class: outcome.retryClass)
        case .failed: metrics.failed(error: code)
        case .deferred: metrics.deferred(reason: code)
        case .queued: metrics.released(reason: outcome.kind == .pace ? "pacing" : "shutdown")
        case .inDoubt: if !reconciling { metrics.wentInDoubt() }
        case .paused, .active, .cancelled, .completed, .dialed: break
        }
        stats.update { counts in
            if reconciling { counts.reconciled += 1 }
            switch outcome.state {
            case .awaitingOutcome: counts.dialed += 1
            case .retrying:
                counts.retried += 1
                counts.retriedByKind[outcome.retryClass, default: 0] += 1
            case .failed:
                counts.failed += 1
                counts.failedByCode[code, default: 0] += 1
            case .deferred: counts.deferred += 1
            case .queued: counts.released += 1
            case .inDoubt: if !reconciling { counts.inDoubt += 1 }
            case .paused, .active, .cancelled, .completed, .dialed: break
            }
        }
    }
}
