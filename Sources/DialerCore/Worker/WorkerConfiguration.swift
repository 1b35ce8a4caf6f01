import Foundation

/// How a worker process claims, dials, retries and stops.
public struct WorkerConfiguration: Sendable {
    /// Stored as the lease owner and in every attempt row: `host:pid:random`, unique per process.
    public var workerID: String
    /// Whether the worker LISTENs for wake-ups and pauses (`DIALER_LISTEN_DATABASE_URL=off`: polling only, the paused
    /// scopes read again at every poll).
    public var listens = true
    /// Most jobs in progress (gated, dialing or being recorded) at once in this process.
    public var concurrency: Int
    /// Most jobs one claim statement takes.
    public var claimBatch: Int
    /// A claimed job's lease, renewed by a heartbeat while the job is in this worker's hands; a worker that dies loses
    /// its jobs to recovery (and reconciliation) this long after its last heartbeat. Must exceed the Twilio request timeout.
    public var lease: Duration
    /// Fallback poll when no NOTIFY arrives (jittered +-20%).
    public var pollInterval: Duration
    /// How often this worker looks for expired leases (jittered).
    public var recoveryInterval: Duration
    /// After SIGTERM: how long in-flight dials may take before they are cut off (and recorded as possibly dialed).
    public var shutdownTimeout: Duration
    public var retryPolicy: RetryPolicy
    public var gate: DialGate
    /// How long after a possibly-dialed attempt its job is reconciled with Twilio: long enough for a request still in
    /// flight at Twilio to have created its call, so the lookup sees it.
    public var reconcileDelay: Duration = .seconds(30)
    /// How long after an in-doubt attempt's request went out Twilio's "no such call" is believed: a request held in a
    /// partitioned host's TCP buffers (or a proxy's) reaches Twilio when the link returns, and Linux retransmits a
    /// closed socket's data for about 100 s at a 200 ms RTO. Before then the job stays in doubt and is asked again.
    public var notFoundAfter: Duration = .seconds(300)
    /// How often this worker looks for in-doubt jobs due for reconciliation (jittered).
    public var reconcileInterval: Duration = .seconds(2)
    /// Calls per second for a subaccount with no `twilio_pacing` row yet (Twilio's default is 1).
    public var defaultCallsPerSecond: Double = 1
    /// A dial slot is reserved at most this far ahead; a saturated subaccount makes dials wait in turn.
    public var pacingMaxAhead: Duration = .seconds(1)
    /// A job that waited this long for a slot is handed back (attempt refunded) so other tenants' calls are not
    /// stuck behind one slow subaccount.
    public var maxPacingWait: Duration = .seconds(30)
    /// Shifts the instant the gate evaluates calling hours at, relative to the database clock. Zero in production;
    /// the CLI sets it only for demos and tests against a loopback Twilio (`DIALER_GATE_TIME`), never against Twilio.
    public var gateClockOffset: Duration = .zero
    /// Added to a call's ring time and time limit to make its outcome deadline: past it, a call with no final status
    /// callback is looked up at Twilio by the sweeper (`DIALER_OUTCOME_GRACE`).
    public var outcomeGrace: Duration = .seconds(120)
    /// How often this worker looks for calls past their outcome deadline (jittered), and how long a looked-up call that
    /// is still going waits before it is looked up again.
    public var sweepInterval: Duration = .seconds(5)
    public var sweepRecheck: Duration = .seconds(60)
    /// Claim only this tenant's jobs (`dialer drain --tenant`); `nil`: every tenant.
    public var tenantScope: String?
    /// Claim only this campaign's jobs (`dialer drain --campaign`); `nil`: every campaign.
    public var campaignScope: String?

    public init(
        workerID: String = WorkerConfiguration.defaultWorkerID(), concurrency: Int = 32, claimBatch: Int = 32, lease: Duration = .seconds(30),
        pollInterval: Duration = .seconds(1), recoveryInterval: Duration = .seconds(15), shutdownTimeout: Duration = .seconds(30),
        retryPolicy: RetryPolicy = RetryPolicy(), gate: DialGate = DialGate()
    ) {
        self.workerID = workerID
        self.concurrency = max(1, concurrency)
        self.claimBatch = max(1, claimBatch)
        self.lease = lease
        self.pollInterval = pollInterval
        self.recoveryInterval = recoveryInterval
        self.shutdownTimeout = shutdownTimeout
        self.retryPolicy = retryPolicy
        self.gate = gate
    }

    public static func defaultWorkerID() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// The longest a job may stay in this worker's hands with its lease renewed: the longest pacing wait, a dial and its
    /// record take far less. Past it the heartbeat stops renewing the job's lease, so a job stuck in this process (a hung
    /// connection) is recovered by any worker and reconciled, never held forever.
    public var maxHold: Duration { maxPacingWait + lease * 2 }

    /// Claim again only when this many slots are free (or nothing is in flight), so a busy worker claims in batches
    /// instead of one row per finished dial.
    var claimThreshold: Int { max(1, min(claimBatch, concurrency) / 8) }
}
