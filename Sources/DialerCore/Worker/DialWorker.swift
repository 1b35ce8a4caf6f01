import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The dialing worker: claims due jobs, passes each through the gate, dials through Twilio, classifies the answer and
/// records it. A `Service`: on graceful shutdown it stops claiming, lets in-flight dials finish (up to
/// `shutdownTimeout`), hands back jobs it had not started, and returns.
///
/// Wake-ups: a NOTIFY from enqueue starts new work within milliseconds; a jittered poll is the fallback for lost
/// notifications and for jobs whose `run_at` arrives. Lease recovery and reconciliation are services of their own
/// (``maintenanceServices()``), composed beside the worker.
public struct DialWorker: Service, CustomStringConvertible {
    public enum Mode: Sendable {
        /// Run until shut down.
        case service
        /// Process every job due now, then return. With `waitForScheduled`, also wait for retries and deferrals due
        /// within that window.
        case drain(waitForScheduled: Duration?)
    }

    public let store: JobStore
    public let twilio: TwilioClient
    public let configuration: WorkerConfiguration
    public let mode: Mode
    public let stats: WorkerStats
    public let metrics: DialerMetrics
    let logger: Logger
    let leases = LeaseRegistry()
    /// Paused scopes, for the jobs claimed before a pause (see ``PausedScopes``).
    let paused = PausedScopes()
    let pacer: Pacer
    /// The pure decisions of a job's path (``DialTransition``), built once from the configuration.
    let transition: DialTransition
    let accounting: OutcomeAccounting
    /// The campaign policies (ring time, time limit, machine detection at dial time; retries after the outcome).
    public let policies: PolicyBook
    /// Applies the final status of calls whose callback beat this worker's own write of the 201, and the sweeper's finds.
    let settler: OutcomeSettler
    /// What this worker did per campaign and minute, for the console (written by ``ActivityFlusher`` every few seconds).
    public let activity: ActivityTally
    let startedAt = Date()
    /// The client whose connection LISTENs: the store's pool unless a direct one is given (behind PgBouncer).
    let listenClient: PostgresClient

    public init(
        store: JobStore, twilio: TwilioClient, configuration: WorkerConfiguration, mode: Mode = .service, stats: WorkerStats = WorkerStats(),
        metrics: DialerMetrics = DialerMetrics(), policies: PolicyBook? = nil, activity: ActivityTally = ActivityTally(),
        listenClient: PostgresClient? = nil, logger: Logger
    ) {
        self.activity = activity
        self.listenClient = listenClient ?? store.client
        self.store = store
        self.metrics = metrics
        self.twilio = twilio
        self.configuration = configuration
        self.mode = mode
        self.stats = stats
        var logger = logger
        logger[metadataKey: "worker"] = "\(configuration.workerID)"
        self.logger = logger
        self.pacer = Pacer(store: store, defaultCallsPerSecond: configuration.defaultCallsPerSecond, maxAhead: configuration.pacingMaxAhead,
                           logger: logger)
        self.transition = DialTransition(configuration)
        self.accounting = OutcomeAccounting(stats: stats, metrics: metrics)
        let policies = policies ?? PolicyBook(store: store, logger: logger)
        self.policies = policies
        self.settler = OutcomeSettler(store: store, policies: policies, transition: SettleTransition(callHours: configuration.gate.callHours),
                                      metrics: metrics, actor: configuration.workerID, activity: activity,
                                      logger: logger)
    }

    /// Short, and free of secrets: service-lifecycle logs every service's description at start (a default description
    /// would print the Twilio client and its credentials).
    public var description: String {
        "DialWorker(worker: \(configuration.workerID), concurrency: \(configuration.concurrency), twilio: \(twilio))"
    }

    /// The maintenance every worker fleet needs beside its dial workers, as services of their own: lease recovery and
    /// reconciliation of in-doubt jobs, and the sweeper of calls whose final callback never came. List them before the
    /// worker in a `ServiceGroup`, so they stop after it.
    public func maintenanceServices() -> [any Service] { [leaseRecovery, reconciler, sweeper] }

    /// The sweeper of calls past their outcome deadline, through this worker's Twilio client.
    public var sweeper: OutcomeSweeper {
        OutcomeSweeper(store: store, twilio: twilio, settler: settler, configuration: configuration, metrics: metrics, logger: logger)
    }

    /// Lease recovery for this worker's database, counted in its stats and metrics.
    public var leaseRecovery: LeaseRecoveryService {
        LeaseRecoveryService(store: store, interval: configuration.recoveryInterval, accounting: accounting, logger: logger)
    }

    /// Reconciliation of in-doubt jobs through this worker's Twilio client, counted in its stats and metrics.
    public var reconciler: ReconcileService {
        ReconcileService(store: store, twilio: twilio, configuration: configuration, accounting: accounting, settler: settler, logger: logger)
    }

    /// This worker as the console's Workers page shows it.
    var heartbeat: ProcessHeartbeat {
        var beat = ProcessHeartbeat(id: configuration.workerID, role: .worker, startedAt: startedAt)
        let counts = stats.snapshot
        beat.inFlight = leases.count
        beat.concurrency = configuration.concurrency
        beat.dialed = counts.dialed
        beat.failed = counts.failed
        beat.settled = counts.settled
        if stats.isStopping { beat.state = .stopping }
        return beat
    }

    enum Event: Sendable {
        case wake
        case finished
        case claimed([ClaimedCall], limit: Int)
        case claimFailed(any Error)
        case stop
    }

    public func run() async throws {
        // A final callback that beats this worker's write of the 201 is settled by `dialer serve` once the write lands
        // (CallbackWriter), or by the sweeper at the job's deadline.
        let recorder = OutcomeRecorder(store: store, worker: configuration.workerID, logger: logger)
        let flusher = ActivityFlusher(store: store, tally: activity, logger: logger) { self.heartbeat }
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        logger.info("worker started", metadata: [
            "concurrency": "\(configuration.concurrency)", "claim_batch": "\(configuration.claimBatch)", "lease": "\(configuration.lease)",
        ])
        await withTaskGroup(of: Void.self) { group in
            // The recorder outlives everything else: every dial waits for its outcome to be written before it counts as done.
            group.addTask { await recorder.run() }
            let flushing = Task { await flusher.runUntilCancelled() }
            await withTaskGroup(of: Void.self) { wakeups in
                if configuration.listens { wakeups.addTask { await self.listen(sink) } }
                wakeups.addTask { await self.poll(sink) }
                wakeups.addTask { await LeaseHeartbeat(store: self.store, configuration: self.configuration, logger: self.logger).run(self.leases) }
                await withGracefulShutdownHandler {
                    await self.dispatchWithDeadline(events: events, sink: sink, recorder: recorder)
                } onGracefulShutdown: {
                    sink.yield(.stop)
                }
                sink.finish()
                wakeups.cancelAll()
            }
            await recorder.finish()
            // The last write of the activity comes after the last outcome's (state stopped: the Workers page says so).
            flushing.cancel()
            await flushing.value
            await flusher.flush(stopping: true)
        }
        logger.info("worker stopped", metadata: ["dialed": "\(stats.snapshot.dialed)", "failed": "\(stats.snapshot.failed)"])
    }

    /// Runs the dispatch loop; once a stop is requested, in-flight dials get `shutdownTimeout` before they are cancelled.
    private func dispatchWithDeadline(events: AsyncStream<Event>, sink: AsyncStream<Event>.Continuation, recorder: OutcomeRecorder) async {
        let (stopped, stoppedSink) = AsyncStream.makeStream(of: Void.self)
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.dispatch(events: events, sink: sink, recorder: recorder, onStop: { stoppedSink.yield() })
                return true
            }
            group.addTask {
                for await _ in stopped {
                    try? await Task.sleep(for: self.configuration.shutdownTimeout)
                    return false
                }
                return false
            }
            if await group.next() == false {
                // Only the timer returns false: in-flight dials are cut off and recorded as possibly dialed.
                logger.warning("shutdown timeout reached; cancelling in-flight dials", metadata: ["timeout": "\(configuration.shutdownTimeout)"])
            }
            stoppedSink.finish()
            group.cancelAll()
            await group.waitForAll()
        }
    }

    /// The claim loop. At most one claim is in flight at a time, and it runs beside the dials (not in front of them), so
    /// finished dials keep being counted while the next batch is fetched: slots are refilled in batches without the
    /// loop ever waiting on the database. A claim asks for the free slots once enough are free (or nothing is running).
    private func dispatch(events: AsyncStream<Event>, sink: AsyncStream<Event>.Continuation, recorder: OutcomeRecorder, onStop: @Sendable () -> Void) async {
        var iterator = events.makeAsyncIterator()
        var inFlight = 0
        var claiming = 0
        var mayHaveDue = true
        var stopping = false
        var claimFailures = 0
        await withDiscardingTaskGroup { dials in
            while !(stopping && claiming == 0) {
                let free = configuration.concurrency - inFlight - claiming
                if !stopping, claiming == 0, mayHaveDue, free > 0, free >= configuration.claimThreshold || inFlight == 0 {
                    let limit = min(free, configuration.claimBatch)
                    claiming = limit
                    dials.addTask {
                        do {
                            let (store, configuration) = (self.store, self.configuration)
                            let calls = try await withTimeout(.seconds(20), what: "claim") {
                                try await store.claim(limit: limit, worker: configuration.workerID, lease: configuration.lease,
                                                      tenant: configuration.tenantScope, campaign: configuration.campaignScope)
                            }
                            sink.yield(.claimed(calls, limit: limit))
                        } catch {
                            sink.yield(.claimFailed(error))
                        }
                    }
                }
                if inFlight == 0, claiming == 0, !mayHaveDue, case .drain(let wait) = mode {
                    // Nothing due and nothing in flight: the drain is over, unless a retry or deferral falls due within
                    // the wait window, in which case the poll wakes the loop for it.
                    guard let wait,
                        (try? await withTimeout(.seconds(20), what: "waiting jobs", { [store, configuration] in
                            try await store.hasWaitingJobs(dueWithin: wait, tenant: configuration.tenantScope, campaign: configuration.campaignScope)
                        })) == true
                    else { break }
                }
                guard let event = await iterator.next() else { break }
                switch event {
                case .wake: mayHaveDue = true
                case .finished: inFlight -= 1
                case .claimed(let calls, let limit):
                    claiming = 0
                    if claimFailures > 0 { logger.info("claims work again", metadata: ["failures": "\(claimFailures)"]) }
                    claimFailures = 0
                    mayHaveDue = calls.count == limit
                    if !calls.isEmpty {
                        stats.update { $0.claimed += calls.count }
                        metrics.jobsClaimed(calls.count)
                    }
                    for call in calls {
                        inFlight += 1
                        dials.addTask {
                            await self.process(call, recorder: recorder)
                            sink.yield(.finished)
                        }
                    }
                case .claimFailed(let error):
                    // Database unreachable or restarting: try again at the next wake-up (the poll comes within a second or
                    // so); mayHaveDue stays true so a drain never exits with due jobs left behind.
                    claiming = 0
                    claimFailures += 1
                    metrics.claimFailed()
                    if claimFailures == 1 || claimFailures % 30 == 0 {
                        logger.error("claim failed; retrying", metadata: ["failures": "\(claimFailures)", "error": "\(String(reflecting: error))"])
                    }
                    mayHaveDue = true
                    if claimFailures > 1 { try? await Task.sleep(for: .milliseconds(min(1000, 50 * claimFailures))) }
                case .stop:
                    stopping = true
                    stats.markStopping()
                    onStop()
                    logger.info("stopping: no new claims; waiting for in-flight dials", metadata: ["in_flight": "\(inFlight)"])
                }
            }
        }
    }

    /// LISTEN on the ready channel; reconnects with backoff when the connection drops (database restart).
    private func listen(_ sink: AsyncStream<Event>.Continuation) async {
        var failures = 0
        while !Task.isCancelled {
            do {
                try await listenClient.withConnection { connection in
                    try await connection.listen(on: JobStore.readyChannel) { notifications in
                        failures = 0
                        await refreshPauses()  // any pause or resume while not listening
                        sink.yield(.wake)  // anything enqueued while not listening
                        for try await notification in notifications {
                            if notification.payload == JobStore.pausesChanged { await refreshPauses() }
                            sink.yield(.wake)
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning("LISTEN connection lost; polling until it is back", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .milliseconds(min(10_000, 100 << min(failures, 7))))
        }
    }

    /// Reads the paused scopes again (a small table); on failure the last set stands and the claim still skips them.
    private func refreshPauses() async {
        do {
            paused.replace(with: try await store.pauses())
        } catch {
            logger.warning("reading the paused scopes failed; the claim still skips them", metadata: ["error": "\(String(reflecting: error))"])
        }
    }

    /// The fallback poll, jittered so a fleet of workers does not query in lockstep.
    private func poll(_ sink: AsyncStream<Event>.Continuation) async {
        while !Task.isCancelled {
            do { try await sleep(for: configuration.pollInterval) } catch { return }
            // Without LISTEN no notification says a pause began: the paused scopes are read again at every poll.
            if !configuration.listens { await refreshPauses() }
            sink.yield(.wake)
        }
    }
}
