import Logging
import ServiceLifecycle

/// Group commit for status callbacks: each request hands its callback here and waits until it is durable; one
/// statement stores everything that arrived while the previous one ran (four callbacks a call must not mean four
/// transactions a call). Only then is Twilio answered 2xx, so a callback answered 2xx is never lost, even to a SIGKILL.
/// The final ones of a batch are then applied to their jobs (``OutcomeSettler``), with the facts the same statement
/// read; if that fails, nothing is lost: the sweeper applies stored outcomes at the job's deadline.
public actor CallbackWriter: Service, CustomStringConvertible {
    private let store: JobStore
    private let settler: OutcomeSettler
    private let logger: Logger
    private var pending: [(callback: StatusCallback, done: CheckedContinuation<Result<Bool, any Error>, Never>)] = []
    private var wakeFlusher: CheckedContinuation<Void, Never>?
    private var stopping = false
    /// The flusher has returned: a callback handed in now would wait for ever (and its request with it, so the server
    /// could never finish shutting down), so it is refused at once (503: Twilio retries it, on another process).
    private var closed = false
    static let maxBatch = 1_000
    static let lingerBelow = 32
    static let linger: Duration = .milliseconds(2)
    /// When a final callback beat the worker's write of the 201 (the job is still active), its job is settled after the
    /// write lands: tried again after each of these delays, then left to the sweeper (at the job's outcome deadline).
    static let earlyRetries: [Duration] = [.milliseconds(250), .seconds(1), .seconds(5), .seconds(20)]
    private var laterTasks: [Int: Task<Void, Never>] = [:]
    private var laterCount = 0

    public init(store: JobStore, settler: OutcomeSettler, logger: Logger) {
        self.store = store
        self.settler = settler
        self.logger = logger
    }

    public nonisolated var description: String { "CallbackWriter(batch: \(Self.maxBatch))" }

    /// Stores `callback` durably; returns `false` when it had been stored already (a repeat). Throws when the database
    /// did not take it (the caller answers 503, which Twilio retries once).
    public func write(_ callback: StatusCallback) async throws -> Bool {
        if closed { throw OpenPhnError(.upstreamUnavailable, "dialer serve is shutting down; the callback was not stored.") }
        let result = await withCheckedContinuation { continuation in
            pending.append((callback, continuation))
            wakeFlusher?.resume()
            wakeFlusher = nil
        }
        return try result.get()
    }

    /// The flusher; on graceful shutdown it writes what is pending and returns (list it before the HTTP server in the
    /// group, so the server stops taking requests first).
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await flushLoop()
                close()
            } onGracefulShutdown: {
                Task { await self.stop() }
            }
        } onCancel: {
            Task { await self.stop() }
        }
    }

    private func close() {
        closed = true
        for entry in pending { entry.done.resume(returning: .failure(OpenPhnError(.upstreamUnavailable, "dialer serve stopped before storing the callback."))) }
        pending.removeAll()
    }

    private func stop() {
        stopping = true
        for task in laterTasks.values { task.cancel() }
        wakeFlusher?.resume()
        wakeFlusher = nil
    }

    private func flushLoop() async {
        while true {
            if pending.isEmpty {
                if stopping || Task.isCancelled { return }
                await withCheckedContinuation { wakeFlusher = $0 }
                continue
            }
            if pending.count < Self.lingerBelow, !stopping {
                // A few callbacks alone: wait a moment for more, so a statement carries a batch (a callback is answered
                // a millisecond later; Twilio allows 15 s).
                try? await Task.sleep(for: Self.linger)
            }
            let batch = Array(pending.prefix(Self.maxBatch))
            pending.removeFirst(batch.count)
            let callbacks = batch.map(\.callback)
            let written: JobStore.StoredCallbacks
            do {
                let store = self.store
                written = try await withTimeout(.seconds(5), what: "storing status callbacks") { try await store.record(callbacks) }
            } catch {
                for entry in batch { entry.done.resume(returning: .failure(error)) }
                continue
            }
            for (entry, new) in zip(batch, written.stored) { entry.done.resume(returning: .success(new)) }
            if !written.early.isEmpty, !stopping { settleLater(written.early) }
            let ended = written.settled
            guard !ended.isEmpty else { continue }
            do {
                try await settler.settle(ended)
            } catch {
                logger.warning("applying call outcomes failed; the sweeper applies them at their deadline", metadata: [
                    "jobs": "\(ended.count)", "error": "\(String(reflecting: error))",
                ])
            }
        }
    }

    /// Settles jobs whose final callback came before their worker wrote the 201, once that write lands. Not durable:
    /// should this process stop first, the sweeper settles them from the stored callback at their deadline.
    private func settleLater(_ jobIDs: [Int64]) {
        laterCount += 1
        let key = laterCount
        let (settler, logger) = (self.settler, self.logger)
        laterTasks[key] = Task {
            var waiting = Set(jobIDs)
            for delay in Self.earlyRetries {
                do { try await Task.sleep(for: delay) } catch { break }
                do {
                    waiting.subtract(try await settler.settle(jobIDs: Array(waiting)).map(\.jobID))
                } catch {
                    logger.warning("applying early call outcomes failed; tried again", metadata: ["jobs": "\(waiting.count)", "error": "\(String(reflecting: error))"])
                }
                if waiting.isEmpty { break }
            }
            self.finishedLater(key)
        }
    }

    private func finishedLater(_ key: Int) { laterTasks[key] = nil }
}
