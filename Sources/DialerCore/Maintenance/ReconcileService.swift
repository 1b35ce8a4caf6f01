import Foundation
import Logging
import ServiceLifecycle

/// Asks Twilio about in-doubt jobs (an attempt that may have created a call): found, the job is dialed with that call
/// SID; not found, it is retried with backoff (or fails when its attempts are spent) once the attempt's request is
/// older than `notFoundAfter` (before that it may still arrive: it is asked again then); Twilio unreachable, it stays
/// in doubt and is asked again later. No in-doubt job is ever re-dialed before this answers "not found".
///
/// Runs in every worker process. Each pass leases its jobs like a dial (SKIP LOCKED, fenced writes), so two
/// reconcilers never ask about the same job; the leases are renewed while the lookups run.
public struct ReconcileService: Service, CustomStringConvertible {
    let store: JobStore
    let twilio: TwilioClient
    let configuration: WorkerConfiguration
    let transition: DialTransition
    let accounting: OutcomeAccounting
    /// Applies a found call's final status when it was stored while the job was in doubt (its callbacks came first).
    let settler: OutcomeSettler?
    let logger: Logger
    let leases = LeaseRegistry()
    /// Most jobs one pass leases; a full batch starts the next pass at once.
    static let batchSize = 32

    init(store: JobStore, twilio: TwilioClient, configuration: WorkerConfiguration, accounting: OutcomeAccounting, settler: OutcomeSettler? = nil,
         logger: Logger)
    {
        self.settler = settler
        self.store = store
        self.twilio = twilio
        self.configuration = configuration
        self.transition = DialTransition(configuration)
        self.accounting = accounting
        self.logger = logger
    }

    public var description: String { "ReconcileService(every: \(configuration.reconcileInterval), batch: \(Self.batchSize))" }

    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await LeaseHeartbeat(store: store, configuration: configuration, logger: logger).run(leases) }
            while !Task.isShuttingDownGracefully, !Task.isCancelled {
                do {
                    if try await runOnce().count == Self.batchSize { continue }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("reconciliation failed", metadata: ["error": "\(String(reflecting: error))"])
                }
                do { try await sleep(for: configuration.reconcileInterval) } catch { break }
            }
            group.cancelAll()
        }
    }

    /// One pass: leases the in-doubt jobs that are due (up to ``batchSize``), asks Twilio about each concurrently, and
    /// writes every answer in one fenced statement. A failed write loses nothing: the jobs stay in doubt and their
    /// leases expire, so they are asked about again.
    /// - Returns: the outcomes written.
    @discardableResult
    public func runOnce() async throws -> [JobOutcome] {
        let (store, configuration) = (self.store, self.configuration)
        let calls = try await withTimeout(.seconds(20), what: "in-doubt claim") {
            try await store.claimInDoubt(limit: Self.batchSize, worker: configuration.workerID, lease: configuration.lease)
        }
        guard !calls.isEmpty else { return [] }
        for call in calls { leases.insert(call.jobID) }
        defer { for call in calls { leases.remove(call.jobID) } }
        let outcomes = await withTaskGroup(of: JobOutcome.self) { group in
            for call in calls { group.addTask { await self.reconcile(call) } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let applied = try await withTimeout(.seconds(20), what: "recording reconciliations") {
            try await store.record(outcomes, worker: configuration.workerID)
        }
        // A call found after its final callback came (stored while the job was in doubt) is settled now, not at the deadline.
        let found = outcomes.compactMap { $0.state == .awaitingOutcome && applied.contains($0.jobID) ? $0.callSID : nil }
        if let settler, !found.isEmpty {
            do {
                let early = try await store.jobsWithFinalOutcome(callSIDs: found)
                if !early.isEmpty { try await settler.settle(jobIDs: early) }
            } catch {
                logger.warning("settling reconciled calls failed; the sweeper applies them at their deadline", metadata: [
                    "error": "\(String(reflecting: error))",
                ])
            }
        }
        let byID = Dictionary(calls.map { ($0.jobID, $0) }, uniquingKeysWith: { first, _ in first })
        for outcome in outcomes {
            let wasApplied = applied.contains(outcome.jobID)
            accounting.count(outcome, applied: wasApplied)
            guard let call = byID[outcome.jobID] else { continue }
            logger.notice(wasApplied ? "reconciled" : "reconciliation not applied: the lease was lost", metadata: [
                "job.id": "\(call.jobID)", "tenant": "\(call.tenantID)", "attempt": "\(call.attempt)", "outcome": "\(outcome.outcome.rawValue)",
                "state": "\(outcome.state.rawValue)", "to": "\(PhoneNumber.mask(call.destination))",
            ])
        }
        return outcomes
    }

    /// Asks Twilio about one in-doubt job and turns the answer into its transition.
    func reconcile(_ call: InDoubtCall) async -> JobOutcome {
        let job = JobRef(jobID: call.jobID, attempt: call.attempt, maxAttempts: call.maxAttempts)
        var random = SystemRandomNumberGenerator()
        guard let subaccount = call.subaccountSID else {
            return transition.afterLookup(job, .unreachable("no subaccount configured"), lastError: call.lastError, using: &random)
        }
        let lookup = await lookUpCall(call, subaccount: subaccount)
        let sentAgo = Duration.milliseconds(Int64(max(0, call.leasedAt.timeIntervalSince(call.attemptStartedAt)) * 1000))
        return transition.afterLookup(job, lookup, lastError: call.lastError, sentAgo: sentAgo, using: &random)
    }
}
