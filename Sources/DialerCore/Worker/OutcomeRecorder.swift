import Logging

/// Group commit for outcomes: every dial hands its outcome here and waits; one statement writes everything that
/// arrived while the previous statement ran. Under load this batches completions (the lever that makes River and
/// graphile-worker fast); when idle a lone outcome is written at once.
///
/// A failed write (database down) is retried with backoff and never dropped; the job's lease keeps it safe meanwhile.
actor OutcomeRecorder {
    private let store: JobStore
    private let worker: String
    private let logger: Logger
    private var pending: [(outcome: JobOutcome, done: CheckedContinuation<Bool, Never>)] = []
    private var wakeFlusher: CheckedContinuation<Void, Never>?
    private var finished = false
    static let maxBatch = 2_000
    /// A write that has not answered by then is given up and retried (fenced, so a late first write changes nothing).
    static let writeTimeout: Duration = .seconds(20)

    init(store: JobStore, worker: String, logger: Logger) {
        self.store = store
        self.worker = worker
        self.logger = logger
    }

    /// Writes `outcome` and returns whether it changed the job (`false`: the lease had been lost, the write was fenced off).
    func record(_ outcome: JobOutcome) async -> Bool {
        await withCheckedContinuation { continuation in
            pending.append((outcome, continuation))
            wakeFlusher?.resume()
            wakeFlusher = nil
        }
    }

    /// Stops the flusher once everything pending is written.
    func finish() {
        finished = true
        wakeFlusher?.resume()
        wakeFlusher = nil
    }

    /// The flusher loop; returns after ``finish()`` once nothing is pending.
    func run() async {
        var failures = 0
        while true {
            if pending.isEmpty {
                if finished { return }
                await withCheckedContinuation { wakeFlusher = $0 }
                continue
            }
            let batch = Array(pending.prefix(Self.maxBatch))
            do {
                let (store, worker, outcomes) = (store, worker, batch.map(\.outcome))
                let applied = try await withTimeout(Self.writeTimeout, what: "recording outcomes") {
                    try await store.record(outcomes, worker: worker)
                }
                pending.removeFirst(batch.count)
                failures = 0
                for entry in batch { entry.done.resume(returning: applied.contains(entry.outcome.jobID)) }
            } catch {
                failures += 1
                let delay = Duration.milliseconds(min(5_000, 50 << min(failures, 7)))
                logger.error("recording outcomes failed; retrying", metadata: [
                    "outcomes": "\(batch.count)", "retry_in": "\(delay)", "error": "\(String(reflecting: error))",
                ])
                if Task.isCancelled, failures > 3 {
                    // Forced stop with the database unreachable: give up; the leases expire and recovery takes the jobs back.
                    for entry in pending { entry.done.resume(returning: false) }
                    pending.removeAll()
                    return
                }
                try? await Task.sleep(for: delay)
            }
        }
    }
}
