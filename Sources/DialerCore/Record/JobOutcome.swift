/// What to write for one leased job: its next state and the `call_attempts` row that explains it.
public struct JobOutcome: Sendable, Hashable {
    /// What kind of event the attempt row records.
    public enum Kind: String, Sendable, Hashable {
        case dial, gate, release, recovery, reconcile, pace
    }

    public var jobID: Int64
    /// The attempt of the claim; the write is fenced on it and on the lease owner.
    public var attempt: Int
    public var state: JobState
    /// New `run_at` = the database's now() + delay; `nil` leaves run_at as it is.
    public var delay: Duration?
    /// Give the claim's attempt back (gate deferral, release before dialing).
    public var refundAttempt: Bool
    public var callSID: String?
    public var error: OpenPhnError?
    public var kind: Kind
    /// `dialed | retryable | terminal` for a dial, `allow | defer | block` for the gate, `released` for a release.
    public var outcome: String
    public var httpStatus: Int?
    public var twilioCode: Int?
    public var possiblyDialed: Bool
    /// Free-form facts for people: the gate's rule, Twilio's queue time, the retry delay.
    public var detail: JSONValue?

    public init(
        jobID: Int64, attempt: Int, state: JobState, delay: Duration? = nil, refundAttempt: Bool = false, callSID: String? = nil,
        error: OpenPhnError? = nil, kind: Kind, outcome: String, httpStatus: Int? = nil, twilioCode: Int? = nil, possiblyDialed: Bool = false,
        detail: JSONValue? = nil
    ) {
        self.jobID = jobID
        self.attempt = attempt
        self.state = state
        self.delay = delay
        self.refundAttempt = refundAttempt
        self.callSID = callSID
        self.error = error
        self.kind = kind
        self.outcome = outcome
        self.httpStatus = httpStatus
        self.twilioCode = twilioCode
        self.possiblyDialed = possiblyDialed
        self.detail = detail
    }
}
