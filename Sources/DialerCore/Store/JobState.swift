/// The states of `call_jobs.state`, and the one description of the job state machine: what moves a job into each state
/// and out of it. The README, the `call_jobs` table comment and the transition constructors (``JobOutcome``) point here.
///
/// ```
/// queued | deferred | retrying -> active    claimed by a worker (lease taken, attempt counted)
/// active -> awaiting_outcome                Twilio answered 201; twilio_call_sid is stored; run_at = the sweeper's deadline
/// awaiting_outcome -> completed             the call's final status ends the job: answered (a person, or no AMD asked), or
///                                           a machine/outcome the campaign policy does not retry (final)
/// awaiting_outcome -> retrying              busy, no answer, a machine or a transient failure the policy retries, with
///                                           dials left under the caps; run_at = max(policy delay, next legal window)
/// awaiting_outcome -> failed                a bad number (SIP 404/410/484), a declined call (603), or the caps reached
/// awaiting_outcome -> cancelled             Twilio reports the call canceled
/// active -> retrying                        retryable failure (429, 5xx before sending, network) with attempts left
/// active -> failed                          terminal answer, gate block, or attempts spent (final; last_error says why)
/// active -> deferred                        the gate said "not now" (attempt refunded); run_at = next allowed instant
/// active -> queued                          handed back at shutdown or by pacing before dialing (attempt refunded)
/// active -> in_doubt                        the request may have reached Twilio; or the lease expired (worker died)
/// in_doubt -> awaiting_outcome | retrying | failed    reconciled with Twilio: the call exists / does not (retry or spent)
/// queued | deferred | retrying -> paused    the tenant or campaign was paused (paused_from keeps the state)
/// paused -> queued | deferred | retrying    resumed
/// queued | deferred | retrying | paused -> cancelled    by an operator (final)
/// failed -> queued                          retried by an operator (fresh attempt budget; never from completed)
/// ```
///
/// Invariants: only the lease holder (`lease_owner`, same `attempt`) may record an outcome, so a worker that lost its
/// lease changes nothing; a job is never `active` without a lease; `finished_at` is set exactly in the final states; a
/// job that may have been dialed (`in_doubt`) is never dialed again before Twilio says it has no such call; a job whose
/// call exists (`awaiting_outcome`) is dialed again only after that call's final status, and only as the policy says.
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable {
    /// Waiting for `run_at`. In: enqueue; a release at shutdown or by pacing (attempt refunded); an operator's retry of a
    /// failed job; resume of a job paused from here. Out: claimed (`active`), paused, cancelled.
    case queued
    /// The dial-time gate said "not now" (calling hours, a frequency cap, a tenant in review); no attempt spent.
    /// In: a gate deferral. Out: claimed when `run_at` (the next legal instant) comes, paused, cancelled.
    case deferred
    /// A retryable failure's backoff (or `Retry-After`) is running. In: a retryable dial failure with attempts left;
    /// reconciliation that found no call. Out: claimed when the backoff is over, paused, cancelled.
    case retrying
    /// Parked because its tenant or campaign is paused; not claimed until resumed (`paused_from` keeps where it came
    /// from). In: pause of its scope, or a retry into a paused scope. Out: resume (back to `paused_from`), cancelled.
    case paused
    /// Leased by a worker: being gated, paced, dialed and recorded. In: a claim. Out: every dial outcome (dialed,
    /// retrying, failed, deferred, queued, in_doubt), or lease recovery (in_doubt) when the worker died.
    case active
    /// A dial may have reached Twilio and its outcome is unknown (5xx, timeout or reset after sending, or a worker that
    /// died mid-dial). In: such an answer, or lease recovery. Out: reconciliation with Twilio: found (awaiting_outcome),
    /// not found (retrying, or failed when attempts are spent), unreachable (stays, asked again).
    case inDoubt = "in_doubt"
    /// Twilio created the call (`twilio_call_sid`) and its final status has not been applied yet; `run_at` is when the
    /// sweeper looks it up if no final callback came. In: a 201, or reconciliation that found the call. Out: the final
    /// status (a callback, or the sweeper's lookup) through the campaign policy: completed, retrying, failed, cancelled.
    case awaitingOutcome = "awaiting_outcome"
    /// Final: the call's outcome ended the job (answered, or an outcome the policy does not retry); `last_outcome` says
    /// which. In: the final status of the job's call.
    case completed
    /// Final (before migration 0008 only): Twilio created the call, and the dialer did not yet follow calls to their
    /// outcome. No job enters it any more.
    case dialed
    /// Final: a terminal answer, a gate block, attempts spent, expiry, or an outcome that ends the lead (a bad number, a
    /// declined call, the caps reached); `last_error` says why. Out: an operator's retry.
    case failed
    /// Final: an operator cancelled it while it waited.
    case cancelled

    /// Waiting for `run_at`; the claim picks these.
    public var isWaiting: Bool { self == .queued || self == .deferred || self == .retrying }
    /// Final: nothing will happen to the job again (except an operator's retry of a failed one).
    public var isFinal: Bool { self == .completed || self == .dialed || self == .failed || self == .cancelled }
}
