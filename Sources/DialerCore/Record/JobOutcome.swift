/// What to write for one leased job: its next state and the `call_attempts` row that explains it.
///
/// Built only by the constructors below, one per transition (River's `JobSetStateCompleted`,
/// `JobSetStateErrorRetryable`...), so every transition the worker can apply is listed in one place and each sets the
/// state, the attempt row's kind and result, and the refund together. ``DialTransition`` decides which one applies.
public struct JobOutcome: Sendable, Hashable {
    /// What kind of event the attempt row records (`call_attempts.kind`).
    public enum Kind: String, Sendable, Hashable {
        case dial, gate, release, recovery, reconcile, pace
    }

    /// The attempt row's result (`call_attempts.outcome`; the column's comment lists the same values per kind).
    public enum Result: String, Sendable, Hashable, CaseIterable {
        // dial
        case dialed, retryable, terminal
        case inDoubt = "in_doubt"
        // gate
        case allow, `defer`, block
        // release, pace
        case released, paced
        // reconcile
        case found
        case notFound = "not_found"
        case unreachable
    }

    public let jobID: Int64
    /// The attempt of the claim; the write is fenced on it and on the lease owner.
    public let attempt: Int
    public let state: JobState
    /// New `run_at` = the database's now() + delay; `nil` leaves run_at as it is.
    public let delay: Duration?
    /// Give the claim's attempt back (gate deferral, release before dialing).
    public let refundAttempt: Bool
    public let callSID: String?
    public let error: OpenPhnError?
    public let kind: Kind
    public let outcome: Result
    public let httpStatus: Int?
    public let twilioCode: Int?
    public let possiblyDialed: Bool
    /// Why a dial failed (`nil` when it did not fail): the `class` label of retries.
    public let failure: DialFailure.Kind?
    /// Free-form facts for people: the gate's rule, Twilio's queue time, the retry delay.
    public let detail: JSONValue?

    private init(
        _ job: JobRef, state: JobState, kind: Kind, outcome: Result, delay: Duration? = nil, refundAttempt: Bool = false, callSID: String? = nil,
        httpStatus: Int? = nil, error: OpenPhnError? = nil, failure: DialFailure? = nil, possiblyDialed: Bool = false,
        detail: [String: JSONValue]? = nil
    ) {
        self.jobID = job.jobID
        self.attempt = job.attempt
        self.state = state
        self.delay = delay
        self.refundAttempt = refundAttempt
        self.callSID = callSID
        self.error = error
        self.kind = kind
        self.outcome = outcome
        self.httpStatus = httpStatus ?? failure?.httpStatus
        self.twilioCode = failure?.twilioCode
        self.possiblyDialed = possiblyDialed
        self.failure = failure?.kind
        self.detail = detail.map(JSONValue.object)
    }
}

/// The identity an outcome is fenced on: the job and the attempt of its lease.
public struct JobRef: Sendable, Hashable {
    public let jobID: Int64
    public let attempt: Int
    /// The job's attempt budget, for retry decisions.
    public let maxAttempts: Int

    public init(jobID: Int64, attempt: Int, maxAttempts: Int) {
        self.jobID = jobID
        self.attempt = attempt
        self.maxAttempts = maxAttempts
    }
}

extension JobOutcome {
    // MARK: dial

    /// active -> awaiting_outcome: Twilio answered 201 with a call SID; the job waits for the call's final status, and
    /// the sweeper looks the call up after `outcomeDeadline` if no final callback came.
    public static func dialed(_ job: JobRef, callSID: String, outcomeDeadline: Duration, detail: [String: JSONValue]) -> JobOutcome {
        JobOutcome(job, state: .awaitingOutcome, kind: .dial, outcome: .dialed, delay: outcomeDeadline, callSID: callSID, httpStatus: 201,
                   detail: detail)
    }

    /// active -> retrying: a retryable failure with attempts left; dialed again after `delay`.
    public static func retrying(_ job: JobRef, after delay: Duration, failure: DialFailure, detail: [String: JSONValue]) -> JobOutcome {
        JobOutcome(job, state: .retrying, kind: .dial, outcome: .retryable, delay: delay, error: failure.error, failure: failure,
                   possiblyDialed: failure.possiblyDialed, detail: detail)
    }

    /// active -> in_doubt: the request may have reached Twilio; reconciled after `reconcileIn`, never re-dialed before.
    public static func inDoubt(_ job: JobRef, reconcileIn: Duration, failure: DialFailure, detail: [String: JSONValue]) -> JobOutcome {
        JobOutcome(job, state: .inDoubt, kind: .dial, outcome: .inDoubt, delay: reconcileIn, error: failure.error, failure: failure,
                   possiblyDialed: true, detail: detail)
    }

    /// active -> failed: a terminal answer, or a retryable one with the attempts spent (`error` says which).
    public static func failed(_ job: JobRef, error: OpenPhnError, failure: DialFailure, detail: [String: JSONValue]) -> JobOutcome {
        JobOutcome(job, state: .failed, kind: .dial, outcome: failure.isRetryable ? .retryable : .terminal, error: error, failure: failure,
                   possiblyDialed: failure.possiblyDialed, detail: detail)
    }

    // MARK: gate

    /// active -> deferred: the gate said "not now"; the attempt is refunded and the job waits `delay`.
    public static func deferred(_ job: JobRef, delay: Duration, error: OpenPhnError?, detail: [String: JSONValue]) -> JobOutcome {
        JobOutcome(job, state: .deferred, kind: .gate, outcome: .defer, delay: delay, refundAttempt: true, error: error, detail: detail)
    }

    /// active -> failed: the gate said "never" (do-not-call, number plan, expiry, rejected tenant).
    public static func blocked(_ job: JobRef, error: OpenPhnError?, detail: [String: JSONValue]) -> JobOutcome {
        JobOutcome(job, state: .failed, kind: .gate, outcome: .block, error: error, detail: detail)
    }

    // MARK: hand-backs

    /// active -> queued: the worker is stopping before this job was dialed; the attempt is refunded.
    public static func released(_ job: JobRef) -> JobOutcome {
        JobOutcome(job, state: .queued, kind: .release, outcome: .released, refundAttempt: true)
    }

    /// active -> queued: the subaccount had no dial slot for `waited`; handed back for `retryIn`, attempt refunded.
    public static func paced(_ job: JobRef, retryIn: Duration, waited: Duration) -> JobOutcome {
        JobOutcome(job, state: .queued, kind: .pace, outcome: .paced, delay: retryIn, refundAttempt: true,
                   detail: ["waited_seconds": .number(waited.seconds)])
    }

    // MARK: reconcile

    /// in_doubt -> awaiting_outcome: Twilio has the call; its final status settles the job.
    public static func reconciledFound(_ job: JobRef, callSID: String, outcomeDeadline: Duration) -> JobOutcome {
        JobOutcome(job, state: .awaitingOutcome, kind: .reconcile, outcome: .found, delay: outcomeDeadline, callSID: callSID)
    }

    /// in_doubt -> retrying: Twilio has no such call; dialed again after `delay`.
    public static func reconciledNotFound(_ job: JobRef, retryAfter delay: Duration) -> JobOutcome {
        JobOutcome(job, state: .retrying, kind: .reconcile, outcome: .notFound, delay: delay,
                   detail: ["retry_in_seconds": .number(DialTransition.milliseconds(delay))])
    }

    /// in_doubt -> failed: Twilio has no such call and the attempts are spent.
    public static func reconciledNotFound(_ job: JobRef, failed error: OpenPhnError) -> JobOutcome {
        JobOutcome(job, state: .failed, kind: .reconcile, outcome: .notFound, error: error)
    }

    /// in_doubt -> in_doubt: Twilio could not be asked; asked again after `recheckIn`.
    public static func reconciledUnreachable(_ job: JobRef, recheckIn: Duration, reason: String) -> JobOutcome {
        JobOutcome(job, state: .inDoubt, kind: .reconcile, outcome: .unreachable, delay: recheckIn, possiblyDialed: true,
                   detail: ["reason": .string(reason)])
    }

    /// The `class` label of a retry: the dial failure's kind, or `reconcile_not_found`.
    public var retryClass: String {
        kind == .reconcile ? "reconcile_not_found" : failure?.rawValue ?? "unknown"
    }
}
