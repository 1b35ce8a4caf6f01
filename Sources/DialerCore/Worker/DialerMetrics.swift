import CoreMetrics
import Foundation
import Metrics
import Synchronization

/// The worker's metrics, through swift-metrics: the `dialer` process bootstraps Prometheus and serves them at `/metrics`;
/// without a backend they cost nothing. Names follow Prometheus conventions (`_total` counters, `_seconds` durations)
/// and no label ever carries a phone number, a tenant id or a secret: labels are outcome classes and error codes only.
public final class DialerMetrics: Sendable {
    public let factory: any MetricsFactory
    private let counters = Mutex<[String: Counter]>([:])

    let claimed: Counter
    let inDoubt: Counter
    let fenced: Counter
    let leaseRecoveries: Counter
    let claimErrors: Counter
    let pacingWaits: Counter
    let pacingWait: Metrics.Timer
    let inFlight: Meter
    let ready: Gauge
    let oldestDueAge: Gauge
    let pausedScopes: Gauge
    let retentionLastRun: Gauge
    let outcomesOverdue: Gauge
    let optOutCancelled: Counter

    /// - Parameter factory: the backend; tests pass their own Prometheus registry's factory.
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        claimed = Counter(label: "dialer_jobs_claimed_total", factory: factory)
        inDoubt = Counter(label: "dialer_jobs_in_doubt_total", factory: factory)
        fenced = Counter(label: "dialer_outcomes_fenced_total", factory: factory)
        leaseRecoveries = Counter(label: "dialer_lease_recoveries_total", factory: factory)
        claimErrors = Counter(label: "dialer_claim_errors_total", factory: factory)
        pacingWaits = Counter(label: "dialer_pacing_waits_total", factory: factory)
        pacingWait = Metrics.Timer(label: "dialer_pacing_wait_seconds", preferredDisplayUnit: .seconds, factory: factory)
        inFlight = Meter(label: "dialer_dials_in_flight", factory: factory)
        ready = Gauge(label: "dialer_ready", factory: factory)
        oldestDueAge = Gauge(label: "dialer_queue_oldest_due_age_seconds", factory: factory)
        pausedScopes = Gauge(label: "dialer_queue_paused_scopes", factory: factory)
        retentionLastRun = Gauge(label: "dialer_retention_last_run_timestamp_seconds", factory: factory)
        outcomesOverdue = Gauge(label: "dialer_outcomes_overdue", factory: factory)
        optOutCancelled = Counter(label: "dialer_opt_out_cancelled_jobs_total", factory: factory)
    }

    /// A labelled counter, made once per label value (the label sets are small and bounded: codes and classes).
    func counter(_ label: String, _ dimension: String, _ value: String) -> Counter {
        let key = label + "\u{0}" + value
        return counters.withLock { cache in
            if let counter = cache[key] { return counter }
            let counter = Counter(label: label, dimensions: [(dimension, value)], factory: factory)
            cache[key] = counter
            return counter
        }
    }

    func jobsClaimed(_ count: Int) { claimed.increment(by: count) }
    func claimFailed() { claimErrors.increment() }
    func dialStarted() { inFlight.increment() }
    func dialEnded() { inFlight.decrement() }
    func leasesRecovered(_ count: Int) { leaseRecoveries.increment(by: count) }
    func outcomeFenced() { fenced.increment() }
    func wentInDoubt() { inDoubt.increment() }
    /// One wait for a dial slot; `waited` when the wait is over.
    func pacingWaited(_ waited: Duration?) {
        if let waited {
            pacingWait.recordNanoseconds(Int64(waited.seconds * 1e9))
        } else {
            pacingWaits.increment()
        }
    }

    func dialed(path: String) { counter("dialer_jobs_dialed_total", "path", path).increment() }
    func failed(error: String) { counter("dialer_jobs_failed_total", "error", error).increment() }
    func deferred(reason: String) { counter("dialer_jobs_deferred_total", "reason", reason).increment() }
    func retried(class kind: String) { counter("dialer_jobs_retried_total", "class", kind).increment() }
    func released(reason: String) { counter("dialer_jobs_released_total", "reason", reason).increment() }
    /// A status callback answered by `dialer serve`: stored, duplicate, bad_signature, malformed, error.
    public func callbackReceived(result: String) { counter("dialer_status_callbacks_total", "result", result).increment() }
    /// A call's final status applied to its job (once per call, by whichever process settled it).
    public func settled(_ settlement: Settlement) {
        counter("dialer_call_outcomes_total", "result", settlement.result.name).increment()
        counter("dialer_settlements_total", "decision", settlement.detail["decision"]?.stringValue ?? "unknown").increment()
    }
    /// An opt-out reported through `dialer serve`, by result, with the waiting jobs it cancelled.
    public func optOut(result: String, cancelled: Int = 0) {
        counter("dialer_opt_outs_total", "result", result).increment()
        if cancelled > 0 { optOutCancelled.increment(by: cancelled) }
    }
    func outcomeLookup(result: String) { counter("dialer_outcome_lookups_total", "result", result).increment() }
    func reconciled(result: String) { counter("dialer_reconciliations_total", "result", result).increment() }
    public func pruned(table: String, _ count: Int) { counter("dialer_retention_pruned_total", "table", table).increment(by: count) }

    /// Twilio request latency by response class: `2xx`, `4xx`, `429`, `5xx`, or `error` (no HTTP answer).
    func twilioRequest(_ duration: Duration, httpStatus: Int?) {
        let statusClass: String =
            switch httpStatus {
            case nil: "error"
            case 429: "429"
            case let status?: "\(status / 100)xx"
            }
        let timer = timers.withLock { cache in
            if let timer = cache[statusClass] { return timer }
            let timer = Metrics.Timer(label: "dialer_twilio_request_duration_seconds", dimensions: [("status_class", statusClass)],
                                      preferredDisplayUnit: .seconds, factory: factory)
            cache[statusClass] = timer
            return timer
        }
        timer.recordNanoseconds(Int64(duration.seconds * 1e9))
    }
    private let timers = Mutex<[String: Metrics.Timer]>([:])

    /// The queue's depth by state, as last read from the database.
    public func queueDepth(_ depth: QueueDepth) {
        for state in JobState.allCases where !state.isFinal {
            Gauge(label: "dialer_queue_jobs", dimensions: [("state", state.rawValue)], factory: factory).record(depth.byState[state] ?? 0)
        }
        oldestDueAge.record(depth.oldestDueAgeSeconds)
        outcomesOverdue.record(depth.outcomesOverdue)
        pausedScopes.record(depth.pausedScopes)
    }

    /// A retention pass finished (in this process); the gauge tells "nothing to prune" from "never ran".
    func retentionRan() { retentionLastRun.record(Date().timeIntervalSince1970) }

    public func setReady(_ isReady: Bool) { ready.record(isReady ? 1 : 0) }
}
