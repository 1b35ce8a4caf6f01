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
        var detail = decision.audit
        detail["rule"] = .string(decision.rule)
        let outcome: JobOutcome
        switch decision.verdict {
        case .block:
            outcome = JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .failed, error: decision.error, kind: .gate, outcome: "block",
                                 detail: .object(detail))
        case .deferred(let until):
            var random = SystemRandomNumberGenerator()
            let delay = configuration.gate.delay(until: until, now: now, using: &random)
            detail["next_allowed_at"] = .string(DialGate.iso(until))
            outcome = JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .deferred, delay: delay, refundAttempt: true, error: decision.error,
                                 kind: .gate, outcome: "defer", detail: .object(detail))
        case .allow:
            if Task.isShuttingDownGracefully || Task.isCancelled {
                // Stopping before this job was dialed: hand it back untouched for another worker.
                outcome = JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .queued, refundAttempt: true, kind: .release, outcome: "released")
            } else if paced >= configuration.maxPacingWait {
                // The subaccount is saturated: hand the job back so this worker's slots serve other tenants meanwhile.
                outcome = JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .queued, delay: configuration.pacingMaxAhead, refundAttempt: true,
                                     kind: .pace, outcome: "paced", detail: .object(["waited_seconds": .number(paced.seconds)]))
            } else {
                outcome = await dial(call, gate: detail)
            }
        }
        let applied = await recorder.record(outcome)
        note(outcome, applied: applied, destination: call.destination, jobMetadata: jobMetadata)
    }

    private func dial(_ call: ClaimedCall, gate: [String: JSONValue]) async -> JobOutcome {
        let clock = ContinuousClock()
        let sent = clock.now
        let result = await twilio.createCall(subaccountSID: call.subaccountSID ?? "", to: call.destination, from: call.callerE164,
                                             jobID: call.jobID, attempt: call.attempt, logger: logger)
        switch result {
        case .dialed: metrics.twilioRequest(clock.now - sent, httpStatus: 201)
        case .failed(let failure): metrics.twilioRequest(clock.now - sent, httpStatus: failure.httpStatus)
        }
        switch result {
        case .dialed(let sid, let queueTime):
            var detail = gate.merging(["gate": "allow"]) { $1 }
            if let queueTime { detail["queue_time_ms"] = .number(Double(queueTime)) }
            return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .dialed, callSID: sid, kind: .dial, outcome: "dialed",
                              httpStatus: 201, detail: .object(detail))
        case .failed(let failure):
            if failure.kind == .rateLimited, let subaccount = call.subaccountSID {
                // One 429 slows the whole subaccount, for every worker, instead of each job finding out on its own.
                try? await store.pauseSubaccount(subaccount, for: failure.retryAfter ?? configuration.retryPolicy.backoff.base)
            }
            if failure.possiblyDialed {
                // The call may exist: no re-dial before Twilio is asked (after a delay long enough for the request to land).
                var detail = gate.merging(["gate": "allow", "failure": .string(failure.kind.rawValue)]) { $1 }
                detail["reconcile_in_seconds"] = .number(configuration.reconcileDelay.seconds)
                return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .inDoubt, delay: configuration.reconcileDelay, error: failure.error,
                                  kind: .dial, outcome: "in_doubt", httpStatus: failure.httpStatus, twilioCode: failure.twilioCode,
                                  possiblyDialed: true, detail: .object(detail))
            }
            var random = SystemRandomNumberGenerator()
            let decision = configuration.retryPolicy.decide(failure, attempt: call.attempt, maxAttempts: call.maxAttempts, using: &random)
            var detail = gate.merging(["gate": "allow", "failure": .string(failure.kind.rawValue)]) { $1 }
            switch decision {
            case .retry(let delay):
                detail["retry_in_seconds"] = .number((delay.seconds * 1000).rounded() / 1000)
                return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .retrying, delay: delay, error: failure.error, kind: .dial,
                                  outcome: "retryable", httpStatus: failure.httpStatus, twilioCode: failure.twilioCode,
                                  possiblyDialed: failure.possiblyDialed, detail: .object(detail))
            case .fail(let error):
                return JobOutcome(jobID: call.jobID, attempt: call.attempt, state: .failed, error: error, kind: .dial,
                                  outcome: failure.isRetryable ? "retryable" : "terminal", httpStatus: failure.httpStatus,
                                  twilioCode: failure.twilioCode, possiblyDialed: failure.possiblyDialed, detail: .object(detail))
            }
        }
    }

    /// Counts the outcome and writes its one log line (built only when that level is enabled).
    private func note(_ outcome: JobOutcome, applied: Bool, destination: String, jobMetadata: () -> Logger.Metadata) {
        count(outcome, applied: applied)
        let level: Logger.Level = !applied || outcome.state == .failed ? .warning : [.retrying, .inDoubt].contains(outcome.state) ? .notice : .info
        guard logger.logLevel <= level else { return }
        var metadata = jobMetadata()
        metadata["to"] = "\(PhoneNumber.mask(destination))"
        metadata["outcome"] = "\(outcome.outcome)"
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
            case (_, .dialed): "dialed"
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

    private func count(_ outcome: JobOutcome, applied: Bool) {
        measure(outcome, applied: applied, path: "dial")
        stats.update { counts in
            guard applied else {
                counts.fenced += 1
                return
            }
            switch outcome.state {
            case .dialed: counts.dialed += 1
            case .retrying:
                counts.retried += 1
                counts.retriedByKind[outcome.detail?["failure"]?.stringValue ?? "unknown", default: 0] += 1
            case .failed:
                counts.failed += 1
                counts.failedByCode[outcome.error?.error.rawValue ?? "unknown", default: 0] += 1
            case .deferred: counts.deferred += 1
            case .queued: counts.released += 1
            case .inDoubt: counts.inDoubt += 1
            default: break
            }
        }
    }

    /// Counts an applied (or fenced) outcome in the metrics.
    func measure(_ outcome: JobOutcome, applied: Bool, path: String) {
        guard applied else {
            metrics.outcomeFenced()
            return
        }
        switch outcome.state {
        case .dialed: metrics.dialed(path: path)
        case .retrying:
            metrics.retried(class: outcome.kind == .reconcile ? "reconcile_not_found" : outcome.detail?["failure"]?.stringValue ?? "unknown")
        case .failed: metrics.failed(error: outcome.error?.error.rawValue ?? "unknown")
        case .deferred: metrics.deferred(reason: outcome.error?.error.rawValue ?? "unknown")
        case .queued: metrics.released(reason: outcome.kind == .pace ? "pacing" : "shutdown")
        case .inDoubt: if outcome.kind != .reconcile { metrics.wentInDoubt() }
        default: break
        }
    }
}
