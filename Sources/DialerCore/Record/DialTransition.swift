import Foundation

/// Which transition a leased job takes, as a pure function of the facts: the gate's verdict, how long it waited for a
/// dial slot, whether the worker is stopping, Twilio's answer (or none yet), the retry policy and a random source. No
/// database, no network, no clock: like postgres-nio's state machines it returns what to do, and the worker does the
/// I/O. Every path is unit-tested without a database (`DialTransitionTests`).
public struct DialTransition: Sendable {
    public var retryPolicy: RetryPolicy
    /// Only its deferral spread is used here (the verdict is an input).
    public var gate: DialGate
    /// How long after a possibly-dialed attempt (or an unanswered lookup) Twilio is asked about it.
    public var reconcileDelay: Duration
    /// How long a job handed back by pacing waits before it is claimed again.
    public var pacingMaxAhead: Duration
    /// A job that waited this long for a dial slot is handed back instead of dialed.
    public var maxPacingWait: Duration
    /// Added to a call's ring time and time limit: past that, a call with no final callback is looked up.
    public var outcomeGrace: Duration
    /// How long after the attempt's request Twilio's "no such call" is believed (``WorkerConfiguration/notFoundAfter``).
    public var notFoundAfter: Duration = .zero

    public init(retryPolicy: RetryPolicy, gate: DialGate, reconcileDelay: Duration, pacingMaxAhead: Duration, maxPacingWait: Duration,
                outcomeGrace: Duration = .seconds(120))
    {
        self.retryPolicy = retryPolicy
        self.gate = gate
        self.reconcileDelay = reconcileDelay
        self.pacingMaxAhead = pacingMaxAhead
        self.maxPacingWait = maxPacingWait
        self.outcomeGrace = outcomeGrace
    }

    public init(_ configuration: WorkerConfiguration) {
        self.init(retryPolicy: configuration.retryPolicy, gate: configuration.gate, reconcileDelay: configuration.reconcileDelay,
                  pacingMaxAhead: configuration.pacingMaxAhead, maxPacingWait: configuration.maxPacingWait,
                  outcomeGrace: configuration.outcomeGrace)
        self.notFoundAfter = configuration.notFoundAfter
    }

    /// What the worker does next with a claimed job.
    public enum Step: Sendable, Hashable {
        /// Send Create Call, then ask again with its answer; `detail` is the gate's audit, kept on the attempt row.
        case dial(detail: [String: JSONValue])
        /// Write this outcome; the job leaves the worker's hands.
        case record(JobOutcome)
    }

    /// The next step of a claimed job.
    /// - Parameters:
    ///   - decision: the gate's verdict at `now` (re-decided by the worker after a long pacing wait).
    ///   - paced: how long the job waited for a dial slot.
    ///   - stopping: the worker is shutting down (a job not yet dialed is handed back).
    ///   - dial: Twilio's answer; `nil` before the request is sent.
    ///   - policy: the job's campaign policy (its ring time and time limit set the outcome deadline).
    public func next(
        _ job: JobRef, gate decision: GateDecision, at now: Date, paced: Duration, stopping: Bool, dial: DialOutcome?,
        policy: CampaignPolicy = .defaults, using random: inout some RandomNumberGenerator
    ) -> Step {
        var detail = decision.audit
        detail["rule"] = .string(decision.rule)
        switch decision.verdict {
        case .block:
            return .record(.blocked(job, error: decision.error, detail: detail))
        case .deferred(let until):
            detail["next_allowed_at"] = .string(DialGate.iso(until))
            return .record(.deferred(job, delay: gate.delay(until: until, now: now, using: &random), error: decision.error, detail: detail))
        case .allow:
            detail["gate"] = "allow"
            guard let dial else {
                if stopping { return .record(.released(job)) }
                if paced >= maxPacingWait { return .record(.paced(job, retryIn: pacingMaxAhead, waited: paced)) }
                return .dial(detail: detail)
            }
            return .record(afterDial(job, dial, detail: detail, outcomeDeadline: policy.outcomeDeadline(grace: outcomeGrace), using: &random))
        }
    }

    /// Twilio's answer to Create Call, as a transition: awaiting its outcome, in doubt (possibly dialed: reconcile first), retrying or failed.
    func afterDial(_ job: JobRef, _ result: DialOutcome, detail: [String: JSONValue], outcomeDeadline: Duration,
                   using random: inout some RandomNumberGenerator) -> JobOutcome
    {
        var detail = detail
        switch result {
        case .dialed(let sid, let queueTime):
            if let queueTime { detail["queue_time_ms"] = .number(Double(queueTime)) }
            return .dialed(job, callSID: sid, outcomeDeadline: outcomeDeadline, detail: detail)
        case .failed(let failure):
            detail["failure"] = .string(failure.kind.rawValue)
            if failure.possiblyDialed {
                // The call may exist: no re-dial before Twilio is asked (after a delay long enough for the request to land).
                detail["reconcile_in_seconds"] = .number(reconcileDelay.seconds)
                return .inDoubt(job, reconcileIn: reconcileDelay, failure: failure, detail: detail)
            }
            switch retryPolicy.decide(failure, attempt: job.attempt, maxAttempts: job.maxAttempts, using: &random) {
            case .retry(let delay):
                detail["retry_in_seconds"] = .number(Self.milliseconds(delay))
                return .retrying(job, after: delay, failure: failure, detail: detail)
            case .fail(let error):
                return .failed(job, error: error, failure: failure, detail: detail)
            }
        }
    }

    /// What Twilio's answer about an in-doubt job makes of it. A job is re-dialed only on a definite "no such call".
    /// - Parameter lastError: the error of the attempt in doubt (what the job fails with when its attempts are spent).
    /// `sentAgo`: how long before this lookup the attempt's request went out; a "not found" earlier than
    /// ``notFoundAfter`` is not believed yet (the request may still arrive) and the job is asked about again then.
    public func afterLookup(_ job: JobRef, _ lookup: CallLookup, lastError: OpenPhnError?, sentAgo: Duration = .seconds(86_400),
                            using random: inout some RandomNumberGenerator) -> JobOutcome
    {
        if case .notFound = lookup, sentAgo < notFoundAfter {
            return .reconciledUnreachable(job, recheckIn: max(notFoundAfter - sentAgo, .seconds(1)),
                                          reason: "not found yet; a request sent \(Int(sentAgo.seconds)) s ago may still reach Twilio")
        }
        switch lookup {
        case .found(let sid):
            // The call's own policy is not at hand here; the default deadline only sets when the sweeper first looks.
            return .reconciledFound(job, callSID: sid, outcomeDeadline: CampaignPolicy.defaults.outcomeDeadline(grace: outcomeGrace))
        case .unreachable(let reason):
            return .reconciledUnreachable(job, recheckIn: reconcileDelay, reason: reason)
        case .notFound:
            let error = lastError ?? OpenPhnError(.upstreamUnavailable, "Twilio's answer to the call request was lost.")
            let failure = DialFailure(kind: .serverError, error: error, possiblyDialed: false)
            switch retryPolicy.decide(failure, attempt: job.attempt, maxAttempts: job.maxAttempts, using: &random) {
            case .retry(let delay): return .reconciledNotFound(job, retryAfter: delay)
            case .fail(let error): return .reconciledNotFound(job, failed: error)
            }
        }
    }

    /// Seconds rounded to the millisecond, as attempt details show delays.
    static func milliseconds(_ duration: Duration) -> Double { (duration.seconds * 1000).rounded() / 1000 }
}
