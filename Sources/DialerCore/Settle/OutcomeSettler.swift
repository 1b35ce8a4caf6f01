import Logging

/// Applies calls' final statuses to their jobs: reads the facts of the jobs whose call ended (one statement, unless the
/// callbacks write returned them already), lets the campaign policy decide each (``SettleTransition``, pure), and
/// writes every decision in one fenced statement. The one place settlements are counted and logged, whoever calls it:
/// `dialer serve` after storing final callbacks, the worker after reconciling a call, and the sweeper after a lookup.
public struct OutcomeSettler: Sendable {
    let store: JobStore
    let policies: PolicyBook
    let transition: SettleTransition
    let metrics: DialerMetrics
    let logger: Logger
    /// Who settles, for the attempt rows (`serve`, a worker id).
    let actor: String
    /// Where settled outcomes and failures are counted for the console (nil: not counted).
    let activity: ActivityTally?

    public init(store: JobStore, policies: PolicyBook, transition: SettleTransition = SettleTransition(), metrics: DialerMetrics,
                actor: String, activity: ActivityTally? = nil, logger: Logger)
    {
        self.activity = activity
        self.store = store
        self.policies = policies
        self.transition = transition
        self.metrics = metrics
        self.actor = actor
        self.logger = logger
    }

    /// Settles those of `jobIDs` that wait for an outcome whose final status is stored; the others are left alone.
    /// - Returns: the settlements that moved a job.
    @discardableResult
    public func settle(jobIDs: [Int64]) async throws -> [Settlement] {
        try await settle(try await store.settledCalls(jobIDs))
    }

    /// Settles calls whose facts were read already (``JobStore/record(_:source:)`` returns them with the callbacks it
    /// stored); each is applied only if its job still waits for that very call.
    /// - Returns: the settlements that moved a job.
    @discardableResult
    public func settle(_ calls: [SettledCall]) async throws -> [Settlement] {
        guard !calls.isEmpty else { return [] }
        var settlements: [Settlement] = []
        settlements.reserveCapacity(calls.count)
        for call in calls {
            let policy = await policies.policy(tenant: call.tenantID, campaign: call.campaignID)
            settlements.append(transition.settle(call, policy: policy))
        }
        let moved = try await store.apply(settlements, actor: actor)
        let applied = settlements.filter { moved.contains($0.jobID) }
        let byJob = activity == nil ? [:] : Dictionary(calls.map { ($0.jobID, $0) }, uniquingKeysWith: { first, _ in first })
        for settlement in applied {
            metrics.settled(settlement)
            if let error = settlement.error { metrics.failed(error: error.error.rawValue) }
            if let activity, let call = byJob[settlement.jobID] {
                activity.countOutcome(settlement.result, tenant: call.tenantID, campaign: call.campaignID)
                if let error = settlement.error {
                    activity.countFailure(error, jobID: call.jobID, tenant: call.tenantID, campaign: call.campaignID)
                }
            }
        }
        if logger.logLevel <= .info {
            for settlement in applied {
                var metadata: Logger.Metadata = [
                    "job.id": "\(settlement.jobID)", "call.sid": "\(settlement.callSID)", "result": "\(settlement.result.name)",
                    "state": "\(settlement.state.rawValue)", "decision": "\(settlement.detail["decision"]?.stringValue ?? "-")",
                ]
                if let at = settlement.runAt { metadata["next_dial_at"] = "\(DialGate.iso(at))" }
                if let error = settlement.error { metadata["error.code"] = "\(error.error.rawValue)" }
                logger.info("call outcome applied", metadata: metadata)
            }
        }
        return applied
    }
}
