/// What one Create Call request came to.
public enum DialOutcome: Sendable, Hashable {
    /// Twilio answered 201: the call exists. `queueTime` is Twilio's estimate, in milliseconds, of its wait before dialing.
    case dialed(callSID: String, queueTimeMilliseconds: Int?)
    /// Anything else.
    case failed(DialFailure)
}

/// A Create Call request that did not produce a call SID, classified.
public struct DialFailure: Sendable, Hashable, Error {
    /// Why it failed; decides whether a retry may help.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// 429: Twilio did not process the request. Retry after `Retry-After`.
        case rateLimited = "rate_limited"
        /// 5xx: Twilio may or may not have created the call.
        case serverError = "server_error"
        /// The connection failed before the request was sent: nothing reached Twilio.
        case network
        /// No answer in time, or the connection broke after the request was sent.
        case timeout
        /// Any other 4xx: the request is wrong and sending it again gives the same answer.
        case rejected
    }

    public var kind: Kind
    /// The OpenPhn error this failure gives the job if it is final.
    public var error: OpenPhnError
    public var httpStatus: Int?
    public var twilioCode: Int?
    /// From a `Retry-After` header, already turned into a delay from now.
    public var retryAfter: Duration?
    /// The request may have reached Twilio and placed a call (5xx, or a timeout or reset after sending).
    public var possiblyDialed: Bool

    public init(kind: Kind, error: OpenPhnError, httpStatus: Int? = nil, twilioCode: Int? = nil, retryAfter: Duration? = nil, possiblyDialed: Bool = false) {
        self.kind = kind
        self.error = error
        self.httpStatus = httpStatus
        self.twilioCode = twilioCode
        self.retryAfter = retryAfter
        self.possiblyDialed = possiblyDialed
    }

    /// Retryable failures are rescheduled with backoff; the others end the job.
    public var isRetryable: Bool { kind != .rejected }
}
