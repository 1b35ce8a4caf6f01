import Foundation
import Logging
import ServiceLifecycle

extension DialWorker {
    /// One claimed job's path: gate, dial, classify, record. Never throws; every path ends in a recorded outcome.
    func process(_ call: ClaimedCall, recorder: OutcomeRecorder) async {
        leases.insert(call.jobID)
        metrics.dialStarted()
        defer {
            leases.remove(call.jobID)
            metrics.dialEnded()
        }
        // Per-job metadata is built only when a line is actually logged (it is not free, and this is the hot path).
        let jobMetadata: @Sendable () -> Logger.Metadata = {
            var metadata: Logger.Metadata = ["job.id": "\(call.jobID)", "tenant": "\(call.tenantID)", "attempt": "\(call.attempt)"]
            if let campaign = call.campaignID { metadata["campaign"] = "\(campaign)" }
            return metadata
        }

        if logger.logLevel <= .debug {
            var metadata = jobMetadata()
            metadata["to"] = "\(PhoneNumber.mask(call.destination))"
            metadata["state"] = "active"
            logger.debug("claimed", metadata: metadata)
        }
        let job = JobRef(jobID: call.jobID, attempt: call.attempt, maxAttempts: call.maxAttempts)
        var random = SystemRandomNumberGenerator()
        var now = call.claimedAt.addingTimeInterval(configuration.gateClockOffset.seconds)
        var decision = configuration.gate.decide(call, at: now)
        var paced: Duration = .zero
        if case .allow = decision.verdict, let subaccount = call.subaccountSID {
            paced = await pace(subaccount)
            if paced > .seconds(2) {
                // A long wait for a slot: decide again at the instant of dialing (hours may have closed meanwhile).
                now = now.addingTimeInterval(paced.seconds)
                decision = configuration.gate.decide(call, at: now)
            }
        }
        // A pause that came after the claim (while the job waited for its slot) hands the job back instead of dialing.
        let stopping = Task.isShuttingDownGracefully || Task.isCancelled || paused.covers(tenant: call.tenantID, campaign: call.campaignID)
        var step = transition.next(job, gate: decision, at: now, paced: paced, stopping: stopping, dial: nil, using: &random)
        if case .dial = step {
            let policy = await policies.policy(tenant: call.tenantID, campaign: call.campaignID)
            let result = await dial(call, policy: policy)
            step = transition.next(job, gate: decision, at: now, paced: paced, stopping: stopping, dial: result, policy: policy, using: &random)
        }
        // With Twilio's answer in hand the transition always records; were it ever to ask for a second dial, the job
        // goes in doubt (reconciled with Twilio) rather than dialed twice.
        let outcome: JobOutcome
        switch step {
        case .record(let recorded): outcome = recorded
        case .dial:
            logger.error("a dial answer did not settle the job; reconciling it", metadata: jobMetadata())
            let failure = DialFailure(kind: .serverError, error: OpenPhnError(.upstreamUnavailable, "The dial's outcome was not settled."),
                                      possiblyDialed: true)
            outcome = .inDoubt(job, reconcileIn: configuration.reconcileDelay, failure: failure, detail: [:])
        }
        let applied = await recorder.record(outcome)
        accounting.count(outcome, applied: applied)
        if applied { activity.count(outcome, of: call) }
        note(outcome, applied: applied, destination: call.destination, jobMetadata: jobMetadata)
    }

    /// Sends Create Call and measures it; a 429 slows the whole subaccount, for every worker.
    private func dial(_ call: ClaimedCall, policy: CampaignPolicy) async -> DialOutcome {
        let clock = ContinuousClock()
        let sent = clock.now
        let result = await twilio.createCall(subaccountSID: call.subaccountSID ?? "", to: call.destination, from: call.callerE164,
                                             jobID: call.jobID, attempt: call.attempt, policy: policy, logger: logger)
        switch result {
        case .dialed: metrics.twilioRequest(clock.now - sent, httpStatus: 201)
        case .failed(let failure):
            metrics.twilioRequest(clock.now - sent, httpStatus: failure.httpStatus)
            if failure.kind == .rateLimited { activity.count(.throttled, tenant: call.tenantID, campaign: call.campaignID) }
            if failure.kind == .rateLimited, let subaccount = call.subaccountSID {
                // One 429 slows the whole subaccount, for every worker, instead of each job finding out on its own.
                try? await store.pauseSubaccount(subaccount, for: failure.retryAfter ?? configuration.retryPolicy.backoff.base)
            }
        }
        return result
    }

    /// Writes the outcome's one log line (built only when that level is enabled).
    private func note(_ outcome: JobOutcome, applied: Bool, destination: String, jobMetadata: () -> Logger.Metadata) {
        let level: Logger.Level = !applied || outcome.state == .failed ? .warning : [.retrying, .inDoubt].contains(outcome.state) ? .notice : .info
        guard logger.logLevel <= level else { return }
        var metadata = jobMetadata()
        metadata["to"] = "\(PhoneNumber.mask(destination))"
        metadata["outcome"] = "\(outcome.outcome.rawValue)"
        metadata["state"] = "\(outcome.state.rawValue)"
        if let error = outcome.error { metadata["error.code"] = "\(error.error.rawValue)" }
        if let status = outcome.httpStatus { metadata["http_status"] = "\(status)" }
        if let code = outcome.twilioCode { metadata["twilio_code"] = "\(code)" }
        if let sid = outcome.callSID { metadata["call.sid"] = "\(sid)" }
        if let delay = outcome.delay { metadata["run_in"] = "\((delay.seconds * 1000).rounded() / 1000)s" }
        if outcome.kind == .gate, let rule = outcome.detail?["rule"]?.stringValue { metadata["rule"] = "\(rule)" }
        if outcome.possiblyDialed { metadata["possibly_dialed"] = "true" }
        let message: Logger.Message =
            switch (applied, outcome.state) {
            case (false, _): "outcome not applied: the lease was lost before it was recorded"
            case (_, .awaitingOutcome): "dialed"
            case (_, .failed): "failed"
            case (_, .retrying): "retry scheduled"
            case (_, .deferred): "deferred by gate"
            case (_, .inDoubt): "in doubt: reconcile before any re-dial"
            default: "released"
            }
        logger.log(level: level, message, metadata: metadata)
    }

    /// Waits for a dial slot of the subaccount (shared by all workers through `twilio_pacing`); returns how long it waited.
    /// Gives up after `maxPacingWait`.
    private func pace(_ subaccount: String) async -> Duration {
        let clock = ContinuousClock()
        let start = clock.now
        while true {
            let waited = clock.now - start
            if waited >= configuration.maxPacingWait || Task.isCancelled { return waited }
            switch await pacer.slot(subaccount) {
            case .slot(let delay):
                if delay > .zero {
                    stats.update { $0.pacingWaits += 1 }
                    metrics.pacingWaited(nil)
                    try? await Task.sleep(for: delay)
                }
                let waited = clock.now - start
                if waited > .zero { metrics.pacingWaited(waited) }
                return waited
            case .saturated(let wait):
                stats.update { $0.pacingWaits += 1 }
                metrics.pacingWaited(nil)
                try? await Task.sleep(for: max(.milliseconds(20), min(wait, .seconds(5))) + .milliseconds(Int64.random(in: 0...20)))
            case .again:
                continue
            }
        }
    }
}
